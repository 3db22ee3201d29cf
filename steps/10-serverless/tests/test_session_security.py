"""The OWASP session checklist's items about the id and its life: entropy, what Redis keeps, fixation,
idle and absolute timeouts, and one Redis round trip per request."""

import asyncio
import time
from collections import Counter

import httpx
import redis
from workshop.testing import app_client
from workshop.workos_emulator import WorkOSEmulator

from app.main import create_app
from app.session_store import handle_of
from app.settings import Settings
from tests.signing_in import ADA, GRACE, sign_in, signed_in_cookie


async def me_with(client: httpx.AsyncClient, session_id: str) -> httpx.Response:
    client.cookies.clear()
    return await client.get("/v1/me", headers={"cookie": f"__Host-session={session_id}"})


async def test_the_id_is_256_random_bits_and_new_at_every_sign_in(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    ids = [await signed_in_cookie(client, workos, email=ADA) for _ in range(3)]

    assert len(set(ids)) == 3
    assert all(len(session_id) == 43 for session_id in ids)  # 32 bytes of `secrets`, base64url


async def test_redis_holds_the_session_under_a_hash_of_the_id_never_the_id(
    client: httpx.AsyncClient, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    """A dump of Redis (or MONITOR) yields no cookie anyone could send."""
    session_id = await signed_in_cookie(client, workos, email=ADA)

    everything = [
        f"{key} {redis_db.hgetall(key) if redis_db.type(key) == 'hash' else redis_db.smembers(key)}"
        for key in redis_db.keys("*")
    ]

    assert f"session:{handle_of(session_id)}" in redis_db.keys("*")
    assert not any(session_id in entry for entry in everything)


async def test_the_cookie_holds_the_id_and_nothing_else(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    response = await sign_in(client, workos, email=ADA)

    cookie = response.cookies["__Host-session"]
    assert "ada" not in cookie.lower() and "." not in cookie  # no email, no JWT, no sealed blob
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith("__Host-session=")]
    assert len(header) < 120  # with its flags; step 07's: 1,980 B (notebooks/sessions-vs-tokens.ipynb)


async def test_an_id_planted_before_sign_in_is_never_signed_in(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    """Session fixation: an attacker puts an id of theirs in the victim's browser (a sibling subdomain,
    a shared computer), waits for the victim to sign in, and uses the id. Here it opens nothing: signing
    in always makes a new id, and ends the one the browser brought."""
    attackers = await signed_in_cookie(client, workos, email=GRACE)  # a real session of the attacker's
    client.cookies.clear()
    client.cookies.set("__Host-session", attackers, domain="app.test")  # planted in the victim's browser

    victims = (await sign_in(client, workos, email=ADA)).cookies["__Host-session"]

    assert victims != attackers
    assert (await me_with(client, attackers)).status_code == 401
    assert (await me_with(client, victims)).json()["email"] == ADA


async def test_a_session_unused_for_its_idle_time_ends(
    workos: WorkOSEmulator, settings: Settings, redis_db: redis.Redis
) -> None:
    async with app_client(create_app(settings.model_copy(update={"session_idle_seconds": 1}))) as browser:
        session_id = await signed_in_cookie(browser, workos, email=ADA)
        await asyncio.sleep(1.1)  # Redis' clock expires it

        response = await me_with(browser, session_id)

    assert response.status_code == 401
    assert not redis_db.exists(f"session:{handle_of(session_id)}")


async def test_every_request_renews_the_idle_time(
    client: httpx.AsyncClient, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    session_id = await signed_in_cookie(client, workos, email=ADA)
    key = f"session:{handle_of(session_id)}"
    redis_db.expire(key, 5)  # as if it had sat unused for all but 5 s of its 30 minutes

    await me_with(client, session_id)

    assert redis_db.ttl(key) > 30 * 60 - 5  # renewed: sliding expiry
    assert int(redis_db.hget(key, "last_seen_at") or 0) >= int(time.time()) - 1


async def test_no_request_renews_a_session_past_its_absolute_end(
    client: httpx.AsyncClient, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    session_id = await signed_in_cookie(client, workos, email=ADA)
    key = f"session:{handle_of(session_id)}"
    redis_db.hset(key, "ends_at", int(time.time()) + 3)  # as if signed in 8 hours ago, less 3 s

    await me_with(client, session_id)
    assert redis_db.ttl(key) <= 3  # the renewal stops at the absolute end

    redis_db.hset(key, "ends_at", int(time.time()) - 1)  # and once it has passed
    assert (await me_with(client, session_id)).status_code == 401
    assert not redis_db.exists(key)


async def test_an_authenticated_request_costs_one_redis_round_trip(
    client: httpx.AsyncClient, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    session_id = await signed_in_cookie(client, workos, email=ADA)
    await me_with(client, session_id)  # an instance's first check also loads the Lua script

    before = commands_run(redis_db)
    response = await me_with(client, session_id)
    after = commands_run(redis_db)

    assert response.status_code == 200
    # One command from the app, EVALSHA: one round trip. `commandstats` also counts what the script ran
    # inside Redis: read the session, its absolute end, stamp it, renew its expiry.
    assert after - before == {"evalsha": 1, "hgetall": 1, "hget": 1, "hset": 1, "expire": 1}


def commands_run(redis_db: redis.Redis) -> Counter[str]:
    """How many times Redis ran each command so far (`INFO commandstats`), the INFO calls left out."""
    stats = redis_db.info("commandstats")
    counts = Counter({name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()})
    del counts["info"]
    return counts
