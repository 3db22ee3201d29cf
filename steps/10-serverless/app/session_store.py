"""Sessions in Redis: where they live, shared by every instance of the app.

The browser holds a session's id: 256 random bits, and nothing else. Redis holds the session, under
the SHA-256 of that id (its `handle`), so a dump of Redis, or `MONITOR`, shows no id a browser could
send back. Each session is a hash, `session:<handle>`, which expires when it has been idle too long
or has lived too long; `user-sessions:<user id>` lists a user's handles, to show and end them all.

Only Redis ≥ 6.2 commands (Valkey has them all), and Lua through `EVALSHA` for what must be atomic.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as redis

from app.redis_connection import call, unavailable_if_down

# One round trip on every authenticated request: read the session, stamp it, and renew its idle time,
# never past its absolute end. Atomic: a session cannot expire between the read and the renewal.
LOAD_AND_TOUCH = """
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return nil end
local now = tonumber(ARGV[1])
local left = math.min(tonumber(ARGV[2]), tonumber(redis.call('HGET', KEYS[1], 'ends_at')) - now)
if left <= 0 then
  redis.call('DEL', KEYS[1])
  return nil
end
redis.call('HSET', KEYS[1], 'last_seen_at', ARGV[1])
redis.call('EXPIRE', KEYS[1], left)
return fields
"""

# New tokens for a session, if it is still there: HSET alone would bring an ended session back to life.
UPDATE_IF_LIVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


@dataclass(frozen=True, kw_only=True)
class StoredSession:
    handle: str  # SHA-256 of the id: names the session in Redis and in the API, useless as a cookie
    user_id: str
    email: str
    first_name: str
    last_name: str
    organization_id: str  # "" when the user signed in to no organization
    role: str
    permissions: str  # space-separated
    workos_session_id: str
    refresh_token: str
    access_expires_at: int  # when WorkOS' access token expires: the session is checked with WorkOS then
    created_at: int
    last_seen_at: int
    ends_at: int  # the absolute timeout
    user_agent: str


def handle_of(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(self, client: redis.Redis, *, idle_seconds: int, absolute_seconds: int) -> None:
        self._redis = client  # the app's one Redis client (app/redis_connection.py), shared
        self._load_and_touch = self._redis.register_script(LOAD_AND_TOUCH)
        self._update_if_live = self._redis.register_script(UPDATE_IF_LIVE)
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds

    async def create(self, *, ends_at: int | None = None, **fields: Any) -> str:
        """A new session with these fields; returns its id, for the cookie. Never stored as such.

        It ends `absolute_seconds` from now, or at `ends_at`: a session that replaces another (a new id
        after a change of organization) keeps the end of the one it replaces.
        """
        session_id = secrets.token_urlsafe(32)  # 256 bits from the OS' CSPRNG
        now = int(time.time())
        handle = handle_of(session_id)
        session: dict[str, str | int] = {
            **fields,
            "created_at": now,
            "last_seen_at": now,
            "ends_at": ends_at or now + self.absolute_seconds,
        }
        async with unavailable_if_down(), self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(f"session:{handle}", mapping=session)  # type: ignore[arg-type]  # str keys are fine
            pipe.expire(f"session:{handle}", self.idle_seconds)
            pipe.sadd(f"user-sessions:{fields['user_id']}", handle)
            pipe.expire(f"user-sessions:{fields['user_id']}", self.absolute_seconds)
            await pipe.execute()
        return session_id

    async def load(self, session_id: str) -> StoredSession | None:
        """The session this id opens, renewed for another idle period; None if there is none (any more)."""
        handle = handle_of(session_id)
        now = int(time.time())
        fields = await call(self._load_and_touch(keys=[f"session:{handle}"], args=[now, self.idle_seconds]))
        return _session(handle, _pairs(fields)) if fields else None

    async def get(self, handle: str) -> StoredSession | None:
        """The session as it is now, without touching it."""
        fields = await call(self._redis.hgetall(f"session:{handle}"))
        return _session(handle, {str(name): str(value) for name, value in fields.items()}) if fields else None

    async def update(self, handle: str, **fields: Any) -> bool:
        """New tokens or claims for a session (WorkOS refreshed it); False if it ended meanwhile."""
        pairs = [str(item) for name, value in fields.items() for item in (name, value)]
        return bool(await call(self._update_if_live(keys=[f"session:{handle}"], args=pairs)))

    async def delete(self, handle: str, *, user_id: str) -> None:
        async with unavailable_if_down(), self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(f"session:{handle}")
            pipe.srem(f"user-sessions:{user_id}", handle)
            await pipe.execute()

    async def sessions_of(self, user_id: str) -> list[StoredSession]:
        """Every live session of the user, oldest first. Handles of expired ones are cleaned up."""
        handles = sorted(
            str(handle) for handle in await call(self._redis.smembers(f"user-sessions:{user_id}"))
        )
        async with unavailable_if_down(), self._redis.pipeline(transaction=False) as pipe:
            for handle in handles:
                pipe.hgetall(f"session:{handle}")
            found = await pipe.execute()
        gone = [handle for handle, fields in zip(handles, found, strict=True) if not fields]
        if gone:
            await call(self._redis.srem(f"user-sessions:{user_id}", *gone))
        live = [_session(handle, fields) for handle, fields in zip(handles, found, strict=True) if fields]
        return sorted(live, key=lambda session: session.created_at)

    async def lock(self, name: str, seconds: int) -> bool:
        """True for the one caller that takes the lock (`SET NX EX`) until it expires; False for the rest."""
        return bool(await call(self._redis.set(f"lock:{name}", "1", nx=True, ex=seconds)))

    async def unlock(self, name: str) -> None:
        await call(self._redis.delete(f"lock:{name}"))


def _session(handle: str, fields: dict[str, str]) -> StoredSession:
    return StoredSession(
        handle=handle,
        user_id=fields["user_id"],
        email=fields["email"],
        first_name=fields["first_name"],
        last_name=fields["last_name"],
        organization_id=fields["organization_id"],
        role=fields["role"],
        permissions=fields["permissions"],
        workos_session_id=fields["workos_session_id"],
        refresh_token=fields["refresh_token"],
        access_expires_at=int(fields["access_expires_at"]),
        created_at=int(fields["created_at"]),
        last_seen_at=int(fields["last_seen_at"]),
        ends_at=int(fields["ends_at"]),
        user_agent=fields["user_agent"],
    )


def _pairs(flat: list[str]) -> dict[str, str]:
    """HGETALL's reply as Lua returns it, a flat list of field, value, field, value…, as a dict."""
    return dict(zip(flat[::2], flat[1::2], strict=True))
