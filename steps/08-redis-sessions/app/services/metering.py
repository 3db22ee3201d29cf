"""Recording a proxied call: one unit of work, two writes (its record, and its day's totals).

A service owns its transactions. It is handed the engine, opens a connection (`engine.connect()`, no
transaction yet) and decides where the unit of work begins and ends (`conn.begin()`). `record_call`
commits before it returns: for `POST /v1/chat` that is before the response is sent; for a stream it
is after the last byte, when the relay calls `record` on its way out.
"""

import time
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.repositories import daily_usage, usage_records
from app.schemas import Usage

NO_USAGE = Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)


@dataclass(frozen=True, kw_only=True)
class Call:
    model: str
    streamed: bool
    status_code: int
    usage: Usage
    latency_ms: int


async def record_call(engine: AsyncEngine, call: Call) -> None:
    """The call's record and its day's totals, in a transaction of its own: both are written, or neither."""
    async with engine.connect() as conn, conn.begin():
        await record_call_in_open_transaction(conn, call)


async def record_call_in_open_transaction(conn: AsyncConnection, call: Call) -> None:
    """The same two writes, joining the transaction the caller has open on `conn`.

    For a service that must record a call together with writes of its own, all or nothing: it opens
    the transaction and calls this. Transactions do not nest, so the outermost service owns `begin()`.
    """
    usage = call.usage
    await usage_records.insert_usage(
        conn,
        model=call.model,
        streamed=call.streamed,
        status_code=call.status_code,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        latency_ms=call.latency_ms,
    )
    await daily_usage.add_to_today(
        conn,
        model=call.model,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )


class UsageMeter:
    """Starts timing when made; `record()` records the call once it has ended."""

    def __init__(self, engine: AsyncEngine, model: str, *, streamed: bool) -> None:
        self._engine = engine
        self._model = model
        self._streamed = streamed
        self._started = time.perf_counter()

    async def record(self, status_code: int, usage: Usage | None = None) -> None:
        latency_ms = round((time.perf_counter() - self._started) * 1000)
        call = Call(
            model=self._model,
            streamed=self._streamed,
            status_code=status_code,
            usage=usage or NO_USAGE,
            latency_ms=latency_ms,
        )
        # The connection is taken only now, once the upstream has answered. Awaiting the upstream while
        # holding one would park a pool slot for the whole call (a second or more of an LLM thinking)
        # doing nothing, and a handful of slow calls would starve every other request.
        await record_call(self._engine, call)
