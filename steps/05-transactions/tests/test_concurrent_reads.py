"""Concurrent reads: what `asyncio.gather` on one connection really does, and the pattern that works.

Each slow query reports the backend process that ran it and the server's clock when it started and
ended, so "did they run at the same time, on different connections?" is read off the database itself.
"""

import asyncio
from typing import Any

import pytest
from sqlalchemy import Row, select, text
from sqlalchemy.exc import InterfaceError, TimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.db.tables import usage_records
from app.services.concurrent_reads import read_concurrently

SLOW_QUERY = text(
    "SELECT pg_backend_pid() AS pid, clock_timestamp() AS started, pg_sleep(0.2), clock_timestamp() AS ended"
)


async def slow_read(conn: AsyncConnection) -> Row[Any]:
    return (await conn.execute(SLOW_QUERY)).one()


def overlapped(a: Row[Any], b: Row[Any]) -> bool:
    return bool(a.started < b.ended and b.started < a.ended)


async def test_gather_on_one_connection_quietly_runs_the_queries_one_after_the_other(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        first, second = await asyncio.gather(slow_read(conn), slow_read(conn))

    assert first.pid == second.pid
    assert not overlapped(first, second)  # no error, and no speed-up either


async def test_overlapping_a_commit_with_a_query_on_one_connection_fails(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(select(1))
        outcomes = await asyncio.gather(slow_read(conn), conn.commit(), return_exceptions=True)

    [error] = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert isinstance(error, InterfaceError)
    assert "another operation is in progress" in str(error)


async def test_and_it_can_leave_a_broken_connection_in_the_pool(settings: Any) -> None:
    engine = create_async_engine(settings.database_url, pool_size=1, max_overflow=0, pool_pre_ping=False)
    async with engine.connect() as conn:
        await conn.execute(select(1))
        await asyncio.gather(slow_read(conn), conn.commit(), return_exceptions=True)

    async with engine.connect() as conn:  # the next request to borrow that connection
        with pytest.raises(InterfaceError, match="manually started transaction"):
            await conn.execute(select(1))
    await engine.dispose()


async def test_read_concurrently_runs_each_read_on_its_own_connection_at_the_same_time(
    engine: AsyncEngine,
) -> None:
    first, second, third = await read_concurrently(engine, slow_read, slow_read, slow_read)

    assert len({first.pid, second.pid, third.pid}) == 3
    assert overlapped(first, second) and overlapped(second, third)


async def test_a_failing_read_cancels_the_others_and_the_pool_stays_healthy(engine: AsyncEngine) -> None:
    cancelled = []

    async def failing_read(conn: AsyncConnection) -> None:
        await conn.execute(text("SELECT 1 / 0"))

    async def read_that_notes_its_cancellation(conn: AsyncConnection) -> None:
        try:
            await conn.execute(text("SELECT pg_sleep(5)"))
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    with pytest.raises(ExceptionGroup) as raised:
        await read_concurrently(engine, read_that_notes_its_cancellation, failing_read)

    assert "division by zero" in str(raised.value.exceptions[0])
    assert cancelled == [True]  # the slow read did not run its 5 s: the TaskGroup cancelled it
    async with engine.connect() as conn:  # every connection came back usable
        assert await conn.scalar(select(1)) == 1


async def test_concurrent_readers_do_not_see_a_transactions_uncommitted_writes(
    engine: AsyncEngine,
) -> None:
    async def count_records(conn: AsyncConnection) -> int:
        return len((await conn.execute(select(usage_records.c.id))).all())

    async with engine.connect() as writer, writer.begin():
        await writer.execute(
            usage_records.insert().values(
                model="m",
                streamed=False,
                status_code=200,
                prompt_tokens=1,
                completion_tokens=1,
                total_tokens=2,
                latency_ms=1,
            )
        )
        [seen_by_another_connection] = await read_concurrently(engine, count_records)
        seen_by_the_writer = await count_records(writer)

    assert (seen_by_the_writer, seen_by_another_connection) == (1, 0)


async def test_each_concurrent_read_holds_a_pool_slot_while_it_runs(settings: Any) -> None:
    engine = create_async_engine(settings.database_url, pool_size=1, max_overflow=0, pool_timeout=0.1)

    with pytest.raises(ExceptionGroup) as raised:
        await read_concurrently(engine, slow_read, slow_read)  # two reads, one slot

    assert isinstance(raised.value.exceptions[0], TimeoutError)
    await engine.dispose()
