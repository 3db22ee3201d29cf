"""Recording a proxied call: one unit of work, two writes.

A service owns its transactions: it is handed a connection (from `engine.connect()`, with no
transaction open) and decides where a unit of work begins and ends with `async with conn.begin()`.
The transaction commits before the service returns, so before any response is sent.
"""

import time
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.repositories import daily_usage, usage_records
from app.schemas import Usage

NO_USAGE = Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)


@dataclass(frozen=True)
class Call:
    model: str
    streamed: bool
    status_code: int
    usage: Usage
    latency_ms: int


async def record_call(conn: AsyncConnection, call: Call) -> None:
    """The call's record and its day's totals: both are written, or neither is."""
    async with conn.begin():
        await write_call(conn, call)


async def write_call(conn: AsyncConnection, call: Call) -> None:
    """The writes of one call, in a transaction the caller owns.

    `record_call` is this plus its own transaction. A service that must record a call together with
    other writes, all or nothing, opens the transaction itself and calls this: transactions do not
    nest, so the outermost service is the one that owns `begin()`.
    """
    created_at = await usage_records.add(
        conn,
        model=call.model,
        streamed=call.streamed,
        status_code=call.status_code,
        usage=call.usage,
        latency_ms=call.latency_ms,
    )
    day = created_at.astimezone(UTC).date()
    await daily_usage.add_call(conn, day=day, model=call.model, usage=call.usage)


class UsageMeter:
    """Starts timing when made; `record()` records the call once it has ended."""

    def __init__(self, engine: AsyncEngine, model: str, *, streamed: bool) -> None:
        self._engine = engine
        self._model = model
        self._streamed = streamed
        self._started = time.perf_counter()

    async def record(self, status_code: int, usage: Usage | None = None) -> None:
        latency_ms = round((time.perf_counter() - self._started) * 1000)
        call = Call(self._model, self._streamed, status_code, usage or NO_USAGE, latency_ms)
        # A connection only now, once the upstream has answered: awaiting the upstream while holding
        # one would park a pool slot for the whole call (a second or more of an LLM thinking).
        async with self._engine.connect() as conn:
            await record_call(conn, call)
