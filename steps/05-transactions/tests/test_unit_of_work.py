"""Recording a call is one unit of work: its usage record and its day's totals, both or neither."""

import asyncio
from datetime import UTC

import httpx
import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine
from workshop.fake_llm import FakeLLM

from app.db.tables import daily_usage, usage_records
from app.repositories import daily_usage as daily_usage_repository
from app.schemas import Usage
from app.services.metering import Call, record_call, write_call

HELLO = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello there"}]}
CALL = Call("gemini-2.5-flash", False, 200, Usage(prompt_tokens=2, completion_tokens=4, total_tokens=6), 10)


def days(db: Connection) -> list[dict]:
    db.rollback()  # a fresh snapshot: see what has been committed since
    return [dict(row) for row in db.execute(select(daily_usage).order_by(daily_usage.c.model)).mappings()]


def record_count(db: Connection) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(usage_records)) or 0


async def test_a_call_adds_its_record_and_counts_into_its_day(
    client: httpx.AsyncClient, db: Connection
) -> None:
    await client.post("/v1/chat", json=HELLO)

    [day] = days(db)
    recorded_at = db.scalar(select(usage_records.c.created_at))
    assert day["day"] == recorded_at.astimezone(UTC).date()  # the database's clock, in UTC
    assert (day["model"], day["calls"], day["total_tokens"]) == ("gemini-2.5-flash", 1, 6)
    assert record_count(db) == 1


async def test_concurrent_calls_all_count(client: httpx.AsyncClient, db: Connection) -> None:
    # Twenty calls at once race to upsert the same day's row; ON CONFLICT DO UPDATE loses none.
    lite = HELLO | {"model": "gemini-2.5-flash-lite"}
    await asyncio.gather(*(client.post("/v1/chat", json=HELLO if n % 4 else lite) for n in range(20)))

    assert [(d["model"], d["calls"], d["total_tokens"]) for d in days(db)] == [
        ("gemini-2.5-flash", 15, 90),
        ("gemini-2.5-flash-lite", 5, 30),
    ]
    assert record_count(db) == 20


async def test_a_failed_call_counts_in_its_day_with_zero_tokens(
    client: httpx.AsyncClient, db: Connection, fake_llm: FakeLLM
) -> None:
    fake_llm.behaviour.fail_status = 503

    response = await client.post("/v1/chat", json=HELLO)

    assert response.status_code == 502
    assert [(d["model"], d["calls"], d["total_tokens"]) for d in days(db)] == [("gemini-2.5-flash", 1, 0)]
    assert record_count(db) == 1


async def test_a_failure_between_the_two_writes_leaves_no_partial_row(
    client: httpx.AsyncClient, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the second write failed")

    monkeypatch.setattr(daily_usage_repository, "add_call", fail)  # after the record is inserted

    with pytest.raises(RuntimeError, match="the second write failed"):  # in-process, a 500 re-raises
        await client.post("/v1/chat", json=HELLO)

    assert record_count(db) == 0  # the first write was rolled back with the transaction
    assert days(db) == []


async def test_a_caller_can_own_one_transaction_around_several_calls(
    engine: AsyncEngine, db: Connection
) -> None:
    async with engine.connect() as conn:
        with pytest.raises(RuntimeError):
            async with conn.begin():  # the outer service owns the transaction...
                await write_call(conn, CALL)  # ...and the inner writes join it
                await write_call(conn, CALL)
                raise RuntimeError("anything that fails before the end undoes both calls")

    assert record_count(db) == 0


async def test_a_service_that_begins_cannot_be_nested_in_a_callers_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as conn, conn.begin():
        with pytest.raises(InvalidRequestError, match="already initialized a SQLAlchemy Transaction"):
            await record_call(conn, CALL)  # it owns its own begin(): call write_call instead
