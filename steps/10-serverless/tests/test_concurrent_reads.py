"""`read_concurrently`: independent reads at the same time, each on a pooled connection of its own.

What `asyncio.gather` does on one connection instead (queues the queries, or breaks the connection)
is a fact about the libraries, shown in notebooks/concurrent-reads-lab.ipynb.

Each slow query reports the backend process that ran it and the server's clock when it started and
ended, so "did they run at the same time, on different connections?" is read off the database itself.
"""

import asyncio
from typing import Any

import pytest
from sqlalchemy import Row, insert, select, text
from sqlalchemy.exc import TimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.db.tables import usage_records
from app.services.concurrent_reads import read_concurrently

from .factories import usage_record

SLOW_QUERY = text(
    "SELECT pg_backend_pid() AS pid, clock_timestamp() AS started, pg_sleep(0.2), clock_timestamp() AS ended"
)


async def slow_read(conn: AsyncConnection) -> Row[Any]:
    return (await conn.execute(SLOW_QUERY)).one()


def overlapped(a: Row[Any], b: Row[Any]) -> bool:
    return bool(a.started < b.ended and b.started < a.ended)


async def test_read_concurrently_runs_each_read_on_its_own_connection_at_the_same_time(
    engine: AsyncEngine,
) -> None:
    first, second, third = await read_concurrently(engine, slow_read, slow_read, slow_read)

    assert len({first.pid, second.pid, third.pid}) == 3
    assert overlapped(first, second) and overlapped(second, third)


async def test_a_failing_read_cancels_the_others_and_the_pool_stays_healthy(engine: AsyncEngine) -> None:
    slow_read_started, cancelled = asyncio.Event(), []

    async def failing_read(conn: AsyncConnection) -> None:
        await slow_read_started.wait()  # fail only once the other read is running its query
        await conn.execute(text("SELECT 1 / 0"))

    async def read_that_notes_its_cancellation(conn: AsyncConnection) -> None:
        try:
            slow_read_started.set()
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
        await writer.execute(insert(usage_records).values(usage_record()))
        [seen_by_another_connection] = await read_concurrently(engine, count_records)
        seen_by_the_writer = await count_records(writer)

    assert (seen_by_the_writer, seen_by_another_connection) == (1, 0)


async def test_each_concurrent_read_holds_a_pool_slot_while_it_runs(settings: Any) -> None:
    engine = create_async_engine(settings.database_url, pool_size=1, max_overflow=0, pool_timeout=0.1)

    with pytest.raises(ExceptionGroup) as raised:
        await read_concurrently(engine, slow_read, slow_read)  # two reads, one slot

    assert isinstance(raised.value.exceptions[0], TimeoutError)
    await engine.dispose()
