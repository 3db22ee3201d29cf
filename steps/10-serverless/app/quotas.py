"""Quotas in Redis: each organization's daily token budget, and each user's rate of requests.

Both are counted in Redis because every instance of the app must see the same counts: a serverless
deployment runs as many instances as the load asks for, and they share no memory.

**Token budget.** A call reserves, before it starts, the most it can cost (its prompt's bound and the
answer's maximum), settles after with what it really cost, and gives back the rest. Reserving is a Lua
script, so the check and the hold are one atomic step: concurrent calls on any number of instances can
never hold more than the budget. The day's counters of an organization are a hash, `budget:{org:day}`
(`spent`, `held`, and `hold:<call id>` for each reservation); its sorted set `budget-holds:{org:day}`
says when each hold lapses, so the tokens of a call whose instance died come back. Counters are a
cache of the ledger (PostgreSQL's daily totals): when they are missing (a new day, or Redis lost
them) the service rebuilds them from the ledger, never from zero.

**Request rate.** The `limits` library's moving window, on the same Redis connections.
"""

import math
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import redis.asyncio as redis
from limits import RateLimitItemPerMinute
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from app.over_limit import Refusal, RequestRate
from app.redis_connection import call

# KEYS: the day's counters, its holds. ARGV: call id, tokens, budget, now, hold seconds, keys' lifetime.
# Returns {1, left} when the hold is taken; {0, left, unspent} when it would overspend (`unspent` leaves out
# the holds: if the call fits in it, it will fit once calls in flight settle); {-1} when the counters are
# missing: the caller rebuilds them from the ledger and asks again.
RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
local now = tonumber(ARGV[4])
for _, lapsed in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  local tokens = redis.call('HGET', KEYS[1], 'hold:' .. lapsed)
  if tokens then
    redis.call('HINCRBY', KEYS[1], 'held', -tonumber(tokens))
    redis.call('HDEL', KEYS[1], 'hold:' .. lapsed)
  end
  redis.call('ZREM', KEYS[2], lapsed)
end
local unspent = tonumber(ARGV[3]) - tonumber(redis.call('HGET', KEYS[1], 'spent'))
local left = unspent - tonumber(redis.call('HGET', KEYS[1], 'held'))
local tokens = tonumber(ARGV[2])
if tokens > left then return {0, left, unspent} end
redis.call('HINCRBY', KEYS[1], 'held', tokens)
redis.call('HSET', KEYS[1], 'hold:' .. ARGV[1], tokens)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[5]), ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[6])
return {1, left - tokens}
"""

# KEYS: the day's counters, its holds. ARGV: call id, tokens spent. The hold goes, the spend is counted.
# Counters that vanished since the reservation are left missing: the next reservation rebuilds them
# from the ledger, which will hold this call too. Counting it here would start them from this call alone.
SETTLE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local held = redis.call('HGET', KEYS[1], 'hold:' .. ARGV[1])
if held then
  redis.call('HINCRBY', KEYS[1], 'held', -tonumber(held))
  redis.call('HDEL', KEYS[1], 'hold:' .. ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
redis.call('HINCRBY', KEYS[1], 'spent', ARGV[2])
return 1
"""

# KEYS: the day's counters. ARGV: what the ledger says was spent, keys' lifetime. Only if still missing:
# two instances may rebuild at once, and the second must not overwrite spends counted since the first.
REBUILD = """
if redis.call('HSETNX', KEYS[1], 'spent', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'held', 0)
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
"""


RETRY_WHILE_HELD = 5  # seconds: about an LLM call's length, when calls in flight hold the budget


@dataclass(frozen=True)
class Hold:
    """Tokens reserved for one call, on one organization's budget of one day (UTC)."""

    call_id: UUID
    organization_id: str
    day: date
    tokens: int


class MissingCounters(Exception):
    """An organization's counters for the day are not in Redis: rebuild them from the ledger."""


class Quotas:
    def __init__(
        self, client: redis.Redis, *, daily_token_budget: int, requests_per_minute: int, hold_seconds: int
    ) -> None:
        self._redis = client
        self._reserve = client.register_script(RESERVE)
        self._settle = client.register_script(SETTLE)
        self._rebuild = client.register_script(REBUILD)
        self.daily_token_budget = daily_token_budget
        self._hold_seconds = hold_seconds
        # limits' async Redis storage on our client's pool: redis-py underneath, as the rest of the app.
        # The URL only names the kind of storage; the connections are the pool's.
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            connection_pool=client.connection_pool,  # type: ignore[arg-type]  # typed too narrowly
        )
        self._rate_limiter = MovingWindowRateLimiter(storage)
        self._rate = RateLimitItemPerMinute(requests_per_minute)

    async def count_request(self, user_id: str) -> RequestRate | Refusal:
        """Counts one request of the user in the moving minute; a refusal if the minute is full."""
        allowed = await call(self._rate_limiter.hit(self._rate, "user", user_id))
        reset_at, remaining = await call(self._rate_limiter.get_window_stats(self._rate, "user", user_id))
        reset_after = max(1, math.ceil(reset_at - time.time()))
        quota, window = self._rate.amount, self._rate.get_expiry()
        if not allowed:
            return Refusal("requests_per_minute", quota, 0, reset_after, window)
        return RequestRate(quota, remaining, reset_after, window)

    async def reserve(self, hold: Hold) -> Refusal | None:
        """Holds the call's tokens on its organization's budget for the day; a refusal if they don't fit.

        Raises `MissingCounters` when Redis has no counters for that organization and day."""
        now = time.time()
        taken, *left = await call(
            self._reserve(
                keys=_keys(hold.organization_id, hold.day),
                args=[str(hold.call_id), hold.tokens, self.daily_token_budget, now, self._hold_seconds,
                      _lifetime(hold.day)],
            )
        )  # fmt: skip
        if taken == -1:
            raise MissingCounters()
        if taken == 1:
            return None
        remaining, unspent = left
        # Calls in flight may give back what they hold in a moment; what is spent is back at midnight.
        retry_after = RETRY_WHILE_HELD if hold.tokens <= unspent else _seconds_to_midnight()
        return Refusal("daily_tokens", self.daily_token_budget, max(0, remaining), retry_after, 86_400)

    async def settle(self, hold: Hold, *, spent: int) -> None:
        """The call is over: its hold goes, and what it really spent counts."""
        keys = _keys(hold.organization_id, hold.day)
        await call(self._settle(keys=keys, args=[str(hold.call_id), spent]))

    async def rebuild(self, organization_id: str, day: date, *, spent: int) -> None:
        """Counters for the day from the ledger's total, unless another instance just rebuilt them."""
        await call(self._rebuild(keys=_keys(organization_id, day)[:1], args=[spent, _lifetime(day)]))

    async def counters(self, organization_id: str, day: date) -> dict[str, int]:
        """`spent` and `held` of an organization's day, as Redis has them (for reports and tests)."""
        fields = await call(self._redis.hmget(_keys(organization_id, day)[0], ["spent", "held"]))
        return {"spent": int(fields[0] or 0), "held": int(fields[1] or 0)}


def today() -> date:
    return datetime.now(UTC).date()


def _keys(organization_id: str, day: date) -> list[str]:
    # The braces make both keys hash to the same slot, so a Redis Cluster can run one script on both.
    tag = f"{{{organization_id}:{day.isoformat()}}}"
    return [f"budget:{tag}", f"budget-holds:{tag}"]


def _lifetime(day: date) -> int:
    """Seconds the day's keys live: to its end, and an hour more for calls that settle after midnight."""
    end = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1, hours=1)
    return max(1, math.ceil((end - datetime.now(UTC)).total_seconds()))


def _seconds_to_midnight() -> int:
    """When the day's budget starts again (UTC)."""
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return max(1, math.ceil((midnight - now).total_seconds()))
