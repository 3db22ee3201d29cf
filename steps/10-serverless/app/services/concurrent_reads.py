"""Independent reads run at the same time, each on a pooled connection of its own.

One `AsyncConnection` runs one statement at a time: `asyncio.gather` over a single connection only
queues the queries behind each other, and overlapping a commit or a stream with a query breaks the
connection ("another operation is in progress"). Concurrent reads need one connection each.

What that costs: each read sees its own snapshot of the database (no consistency across them), none
of them sees a transaction's uncommitted writes, and each holds a pool slot while it runs.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

Read = Callable[[AsyncConnection], Awaitable[Any]]


async def read_concurrently(engine: AsyncEngine, *reads: Read) -> list[Any]:
    """Runs the reads at once; returns their results in order. If one fails, the TaskGroup cancels
    the others before their connections go back to the pool, and raises an ExceptionGroup."""
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(_on_a_connection_of_its_own(engine, read)) for read in reads]
    return [task.result() for task in tasks]


async def _on_a_connection_of_its_own(engine: AsyncEngine, read: Read) -> Any:
    async with engine.connect() as conn:
        return await read(conn)
