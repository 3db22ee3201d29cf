"""Quotas: a request rate per user and a daily token budget per organization, both in Redis, both
checked before the upstream is called; PostgreSQL's daily totals are the ledger the budget rebuilds from."""

import asyncio
import re
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
import redis
import redis.asyncio
from sqlalchemy import Connection, func, select
from workshop.fake_llm import FakeLLM
from workshop.testing import app_client

from app.db.tables import daily_usage, usage_records
from app.main import create_app
from app.quotas import Hold, Quotas
from app.schemas import ChatRequest
from app.services.admission import most_tokens
from app.settings import Settings

from .signing_in import ENGINES, session_of

CHAT = {
    "model": "gemini-2.5-flash",
    "messages": [{"role": "user", "content": "Hello"}],
    "max_output_tokens": 20,
}
MOST = most_tokens(ChatRequest.model_validate(CHAT))  # 5 bytes of prompt + 20 tokens of answer: 25


def counters(redis_db: redis.Redis) -> dict[str, int]:
    """The organization's counters for today, as Redis has them."""
    key = f"budget:{{{ENGINES}:{datetime.now(UTC).date().isoformat()}}}"
    spent, held = redis_db.hmget(key, ["spent", "held"])
    return {"spent": int(spent or 0), "held": int(held or 0)}


def ledger(db: Connection) -> dict[str, int]:
    """What PostgreSQL says the organization spent: its daily totals, and the records they sum."""
    db.rollback()  # a fresh snapshot
    days = db.scalar(select(func.coalesce(func.sum(daily_usage.c.total_tokens), 0))) or 0
    records = db.scalar(select(func.coalesce(func.sum(usage_records.c.total_tokens), 0))) or 0
    return {"daily_usage": int(days), "usage_records": int(records)}


def instance(settings: Settings, **changes: object) -> object:
    """Another instance of the app, with other limits; it shares Redis and PostgreSQL with the rest."""
    return app_client(create_app(settings.model_copy(update=changes)))


async def test_calls_over_the_request_rate_are_a_429_naming_the_limit(
    settings: Settings, ada: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    async with instance(settings, requests_per_minute=2) as app:  # type: ignore[attr-defined]
        answers = [await app.post("/v1/chat", json=CHAT, headers=session_of(ada)) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert [answer.headers["RateLimit"].split(";")[1] for answer in answers] == ["r=1", "r=0", "r=0"]
    refused = answers[2]
    body = refused.json()
    assert body["limit"] == "requests_per_minute"
    assert (body["quota"], body["remaining"]) == (2, 0)
    assert 1 <= body["retry_after"] <= 60
    assert refused.headers["Retry-After"] == str(body["retry_after"])
    assert refused.headers["RateLimit-Policy"] == '"requests";q=2;w=60'
    assert re.fullmatch(r'"requests";r=0;t=\d+', refused.headers["RateLimit"])
    assert len(fake_llm.calls) == 2  # the refused call never went upstream


async def test_a_call_the_budget_cannot_cover_is_a_429_before_the_upstream(
    settings: Settings, ada: httpx.AsyncClient, fake_llm: FakeLLM, db: Connection
) -> None:
    async with instance(settings, daily_token_budget=MOST - 1) as app:  # type: ignore[attr-defined]
        refused = await app.post("/v1/chat", json=CHAT, headers=session_of(ada))

    assert refused.status_code == 429
    body = refused.json()
    assert (body["limit"], body["quota"], body["remaining"]) == ("daily_tokens", MOST - 1, MOST - 1)
    assert "token budget for today" in body["detail"]
    seconds_to_midnight = 86_400 - (time.time() % 86_400)
    assert abs(int(refused.headers["Retry-After"]) - seconds_to_midnight) < 5  # the budget renews then
    assert fake_llm.calls == []
    assert ledger(db) == {"daily_usage": 0, "usage_records": 0}  # nothing happened, nothing recorded


async def test_a_call_holds_the_most_it_can_cost_then_settles_what_it_spent(
    ada: httpx.AsyncClient, fake_llm: FakeLLM, redis_db: redis.Redis, db: Connection
) -> None:
    fake_llm.behaviour.latency = 0.5
    call = asyncio.create_task(ada.post("/v1/chat", json=CHAT))
    while not fake_llm.calls:  # noqa: ASYNC110 - the fake notes a call as it comes in
        await asyncio.sleep(0.01)
    the_call_runs = counters(redis_db)
    response = await call

    assert the_call_runs == {"spent": 0, "held": MOST}
    spent = response.json()["usage"]["total_tokens"]  # "Hello" (1) + "You said: Hello" (3)
    assert spent == 4
    assert counters(redis_db) == {"spent": spent, "held": 0}
    assert ledger(db) == {"daily_usage": spent, "usage_records": spent}


async def test_a_failed_call_gives_its_hold_back(
    ada: httpx.AsyncClient, fake_llm: FakeLLM, redis_db: redis.Redis
) -> None:
    fake_llm.behaviour.fail_status = 503

    response = await ada.post("/v1/chat", json=CHAT)

    assert response.status_code == 502
    assert counters(redis_db) == {"spent": 0, "held": 0}


async def test_counters_lost_from_redis_are_rebuilt_from_the_ledger_never_from_zero(
    settings: Settings, ada: httpx.AsyncClient, fake_llm: FakeLLM, redis_db: redis.Redis, db: Connection
) -> None:
    first = (await ada.post("/v1/chat", json=CHAT)).json()["usage"]["total_tokens"]
    for key in redis_db.scan_iter("budget*"):  # as a restart without persistence would
        redis_db.delete(key)

    # What is left by the ledger does not cover another call; counted from zero, the budget would.
    async with instance(settings, daily_token_budget=first + MOST - 1) as app:  # type: ignore[attr-defined]
        second = await app.post("/v1/chat", json=CHAT, headers=session_of(ada))

    assert second.status_code == 429
    assert second.json()["remaining"] == MOST - 1
    assert counters(redis_db) == {"spent": first, "held": 0}
    assert ledger(db) == {"daily_usage": first, "usage_records": first}
    assert len(fake_llm.calls) == 1


async def test_a_hold_whose_call_never_settles_lapses(redis_url: str) -> None:
    # An instance that dies mid-call never settles: after `hold_seconds` its tokens come back.
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    quotas = Quotas(client, daily_token_budget=100, requests_per_minute=10, hold_seconds=1)
    today = datetime.now(UTC).date()
    await quotas.rebuild(ENGINES, today, spent=0)

    def hold() -> Hold:
        return Hold(uuid.uuid4(), ENGINES, today, 60)

    assert await quotas.reserve(hold()) is None  # taken, and never settled
    refused = await quotas.reserve(hold())
    await asyncio.sleep(1.1)
    after_the_lapse = await quotas.reserve(hold())
    await client.aclose()

    assert refused is not None
    assert (refused.limit, refused.remaining) == ("daily_tokens", 40)
    assert after_the_lapse is None


async def test_concurrent_calls_on_two_instances_never_overspend(
    settings: Settings, ada: httpx.AsyncClient, fake_llm: FakeLLM, redis_db: redis.Redis, db: Connection
) -> None:
    allowed = 7
    budget = allowed * MOST
    fake_llm.behaviour.latency = (
        2.0  # every call is still in flight when the last one asks, even on a busy machine
    )
    # 100 connections to Redis open at once on each instance: give them time on a busy machine.
    limits = {
        "daily_token_budget": budget,
        "requests_per_minute": 1000,
        "redis_timeout_seconds": 5,
        "llm_timeout_seconds": 10,  # above the fake's 2 s
    }
    async with instance(settings, **limits) as one, instance(settings, **limits) as two:  # type: ignore[attr-defined]
        answers = await asyncio.gather(
            *(
                (one if n % 2 else two).post("/v1/chat", json=CHAT, headers=session_of(ada))
                for n in range(100)
            )
        )

    statuses = [answer.status_code for answer in answers]
    assert statuses.count(200) == allowed
    assert statuses.count(429) == 100 - allowed
    assert len(fake_llm.calls) == allowed
    spent = sum(answer.json()["usage"]["total_tokens"] for answer in answers if answer.status_code == 200)
    assert counters(redis_db) == {"spent": spent, "held": 0}  # overspend: none; holds: all given back
    assert ledger(db) == {"daily_usage": spent, "usage_records": spent}  # the ledger agrees with Redis
    assert spent <= budget


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
async def test_with_redis_down_a_call_is_a_503_not_an_unmetered_200(
    settings: Settings, ada: httpx.AsyncClient, fake_llm: FakeLLM, path: str, tmp_path: object
) -> None:
    async with instance(settings, redis_url=f"unix://{tmp_path}/nothing-listens-here.sock") as app:  # type: ignore[attr-defined]
        response = await app.post(path, json=CHAT, headers=session_of(ada))

    assert response.status_code == 503
    assert response.json() == {
        "detail": "Redis, where sessions and quotas are kept, is unavailable; try again in a moment."
    }
    assert fake_llm.calls == []
