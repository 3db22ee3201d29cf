"""Recording a call is one unit of work: its usage record and its day's totals, both or neither."""

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Connection, func, make_url, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from workshop.fake_llm import FakeLLM

from app.db.tables import daily_usage, usage_records
from app.repositories import daily_usage as daily_usage_repository
from app.services.metering import Call, record_call, record_call_in_open_transaction

from .signing_in import ADA_ID, ENGINES

HELLO = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello there"}]}
CALL = Call(
    call_id=uuid.uuid4(),
    user_id=ADA_ID,
    organization_id=ENGINES,
    model="gemini-2.5-flash",
    streamed=False,
    status_code=200,
    prompt_tokens=2,
    completion_tokens=4,
    total_tokens=6,
    latency_ms=10,
)
ANOTHER_CALL = replace(CALL, call_id=uuid.uuid4())


def days(db: Connection) -> list[dict]:
    db.rollback()  # a fresh snapshot: see what has been committed since
    return [dict(row) for row in db.execute(select(daily_usage).order_by(daily_usage.c.model)).mappings()]


def record_count(db: Connection) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(usage_records)) or 0


async def test_a_call_adds_its_record_and_counts_into_its_day(ada: httpx.AsyncClient, db: Connection) -> None:
    await ada.post("/v1/chat", json=HELLO)

    [day] = days(db)
    assert (day["model"], day["calls"], day["total_tokens"]) == ("gemini-2.5-flash", 1, 6)
    assert record_count(db) == 1


async def test_the_day_is_the_utc_date_of_the_records_timestamp(
    database_url: str, engine: AsyncEngine, db: Connection
) -> None:
    # The app's sessions in a timezone whose date, right now, is not UTC's: a day taken from the
    # session's local date (`current_date`) would then be another day than the record's, in UTC.
    timezone = "Pacific/Kiritimati" if datetime.now(UTC).hour >= 10 else "Pacific/Pago_Pago"  # +14, -11
    db.execute(text(f"ALTER DATABASE \"{make_url(database_url).database}\" SET timezone = '{timezone}'"))
    db.commit()

    await record_call(engine, CALL)  # the engine's first connection opens now, in that timezone

    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT current_date")) != datetime.now(UTC).date()
    recorded_at = db.scalar(select(usage_records.c.created_at))
    [day] = days(db)
    assert day["day"] == recorded_at.astimezone(UTC).date()


async def test_concurrent_calls_all_count(ada: httpx.AsyncClient, db: Connection) -> None:
    # Twenty calls at once race to upsert the same day's row; ON CONFLICT DO UPDATE loses none.
    lite = HELLO | {"model": "gemini-2.5-flash-lite"}
    await asyncio.gather(*(ada.post("/v1/chat", json=HELLO if n % 4 else lite) for n in range(20)))

    assert [(d["model"], d["calls"], d["total_tokens"]) for d in days(db)] == [
        ("gemini-2.5-flash", 15, 90),
        ("gemini-2.5-flash-lite", 5, 30),
    ]
    assert record_count(db) == 20


async def test_a_failed_call_counts_in_its_day_with_zero_tokens(
    ada: httpx.AsyncClient, db: Connection, fake_llm: FakeLLM
) -> None:
    fake_llm.behaviour.fail_status = 503

    response = await ada.post("/v1/chat", json=HELLO)

    assert response.status_code == 502
    assert [(d["model"], d["calls"], d["total_tokens"]) for d in days(db)] == [("gemini-2.5-flash", 1, 0)]
    assert record_count(db) == 1


async def test_a_failure_between_the_two_writes_leaves_no_partial_row(
    ada: httpx.AsyncClient, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the second write failed")

    monkeypatch.setattr(daily_usage_repository, "add_to_day", fail)  # after the record is inserted

    with pytest.raises(RuntimeError, match="the second write failed"):  # in-process, a 500 re-raises
        await ada.post("/v1/chat", json=HELLO)

    assert record_count(db) == 0  # the first write was rolled back with the transaction
    assert days(db) == []


async def test_a_caller_can_own_one_transaction_around_several_calls(
    engine: AsyncEngine, db: Connection
) -> None:
    async with engine.connect() as conn:
        with pytest.raises(RuntimeError):
            async with conn.begin():  # the outer service owns the transaction...
                await record_call_in_open_transaction(conn, CALL)  # ...and the writes join it
                await record_call_in_open_transaction(conn, ANOTHER_CALL)
                written_inside = await conn.scalar(select(func.count()).select_from(usage_records))
                raise RuntimeError("anything that fails before the end undoes both calls")

    assert written_inside == 2  # both calls were written, inside the transaction...
    assert record_count(db) == 0  # ...and both were undone with it
    assert days(db) == []


async def test_a_service_that_owns_its_transaction_commits_whatever_its_caller_does(
    engine: AsyncEngine, db: Connection
) -> None:
    # Why the names say who owns the transaction: record_call opens a connection and a transaction of
    # its own, so inside a caller's transaction it is not part of it.
    async with engine.connect() as conn:
        with pytest.raises(RuntimeError):
            async with conn.begin():
                await record_call(engine, CALL)
                raise RuntimeError("the caller's transaction rolls back...")

    assert record_count(db) == 1  # ...and the call stays recorded: it had committed on its own


async def test_a_call_recorded_twice_counts_once(engine: AsyncEngine, db: Connection) -> None:
    # A record written again (the outbox moved twice, a retry) finds its call_id taken: nothing changes.
    assert await record_call(engine, CALL) is True
    assert await record_call(engine, CALL) is False

    assert record_count(db) == 1
    [day] = days(db)
    assert (day["calls"], day["total_tokens"]) == (1, 6)
