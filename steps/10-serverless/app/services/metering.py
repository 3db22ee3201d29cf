"""Recording a proxied call: once, whatever way it ends, and never silently lost.

A call ends in one of a few ways: answered, refused or failed upstream, timed out, cut off by a client
that hung up mid-stream, or by a server shutting down. Each ends in `UsageMeter.record`, once. Then:

1. The record is written to PostgreSQL, the ledger, in one transaction with its day's totals. Its
   `call_id` is unique, so writing it twice counts it once.
2. If PostgreSQL is unavailable, the record goes to the outbox in Redis (`app/usage_outbox.py`), and
   the next call that records normally moves it to PostgreSQL. If Redis is gone too, the record is
   logged as an error, in full: the last place it can be kept, for an operator to replay. The client
   still gets the answer it was charged for.
3. The call's hold on its organization's budget is settled with what it really cost.

A request that is being cancelled (the client hung up: Starlette cancels the stream; or the server's
shutdown ran out of patience) would cancel an `await` in it, the INSERT included. So the recording runs
as a task of its own, which the request awaits shielded: cancelling the request leaves the task
running, and the lifespan waits for every such task before it closes the engine.
"""

import asyncio
import json
import logging
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.errors import DatabaseUnavailable, RedisUnavailable
from app.quotas import Hold, Quotas
from app.repositories import daily_usage, usage_records
from app.schemas import Usage
from app.usage_outbox import UsageOutbox

logger = logging.getLogger(__name__)

NO_USAGE = Usage(prompt_tokens=0, completion_tokens=0, total_tokens=0)
# The longest the shutdown waits for the records of calls it cut off. Cloud Run kills an instance 10 s
# after its SIGTERM: uvicorn's graceful wait (7 s, in the Dockerfile) and this one must fit in them.
SHUTDOWN_WAIT_SECONDS = 2.0
OUTBOX_BATCH = 100  # records moved from the outbox after one call: bounded, so no call waits long


@dataclass(frozen=True, kw_only=True)
class Call:
    call_id: uuid.UUID
    user_id: str
    organization_id: str
    model: str
    streamed: bool
    status_code: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    latency_ms: int
    # When it ended, for a record written later (from the outbox): it counts into that day, not the day
    # it is written. None for a record written as the call ends: the database's clock stamps it then.
    ended_at: datetime | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Call":
        fields = json.loads(text)
        fields["call_id"] = uuid.UUID(fields["call_id"])
        fields["ended_at"] = datetime.fromisoformat(fields["ended_at"])  # set for every record kept for later
        return cls(**fields)


async def record_call(engine: AsyncEngine, call: Call) -> bool:
    """The call's record and its day's totals, in a transaction of its own: both are written, or
    neither. False if the call was recorded already: then nothing changes."""
    async with engine.connect() as conn, conn.begin():
        return await record_call_in_open_transaction(conn, call)


async def record_call_in_open_transaction(conn: AsyncConnection, call: Call) -> bool:
    """The same two writes, joining the transaction the caller has open on `conn`.

    For a service that must record a call together with writes of its own, all or nothing: it opens
    the transaction and calls this. Transactions do not nest, so the outermost service owns `begin()`.
    """
    stamped = {"created_at": call.ended_at} if call.ended_at else {}  # else the column's default, now()
    inserted = await usage_records.insert_usage_once(
        conn,
        call_id=call.call_id,
        user_id=call.user_id,
        organization_id=call.organization_id,
        model=call.model,
        streamed=call.streamed,
        status_code=call.status_code,
        prompt_tokens=call.prompt_tokens,
        completion_tokens=call.completion_tokens,
        total_tokens=call.total_tokens,
        latency_ms=call.latency_ms,
        **stamped,
    )
    if inserted:  # a call already recorded is already in its day's totals
        await daily_usage.add_to_day(
            conn,
            day=call.ended_at.date() if call.ended_at else None,
            organization_id=call.organization_id,
            user_id=call.user_id,
            model=call.model,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=call.completion_tokens,
            total_tokens=call.total_tokens,
        )
    return inserted


class Metering:
    """What recording needs for the app's life, and the calls not recorded yet (`wait_for_all`)."""

    def __init__(self, engine: AsyncEngine, quotas: Quotas, outbox: UsageOutbox) -> None:
        self._engine = engine
        self._quotas = quotas
        self._outbox = outbox
        self._running: set[asyncio.Task[None]] = set()
        self._unrecorded = 0  # calls started and not recorded yet
        self._all_recorded = asyncio.Event()
        self._all_recorded.set()

    def meter(self, hold: Hold, *, user_id: str, model: str, streamed: bool) -> "UsageMeter":
        """A meter for a call that starts now: from here on, the shutdown waits for its record."""
        self._unrecorded += 1
        self._all_recorded.clear()
        return UsageMeter(self, hold, user_id=user_id, model=model, streamed=streamed)

    async def record(self, call: Call, hold: Hold) -> None:
        """Records the call in a task of its own, and waits for it, unless this request is cancelled."""
        task = asyncio.create_task(self._record(call, hold))
        self._running.add(task)  # a strong reference: the event loop keeps only weak ones
        task.add_done_callback(self._running.discard)
        await asyncio.shield(task)

    async def wait_for_all(self) -> None:
        """At shutdown: calls cut off on the way out are recorded before the engine closes.

        The server cancels the requests it stopped waiting for just before the app's shutdown runs, so
        their records may not have started yet: this waits for every call metered, not only the
        recordings running now; for a while, should a call never end."""
        try:
            await asyncio.wait_for(self._all_recorded.wait(), SHUTDOWN_WAIT_SECONDS)
        except TimeoutError:
            logger.error("Shutting down with %d calls not recorded", self._unrecorded)

    async def _record(self, call: Call, hold: Hold) -> None:
        try:
            try:
                await record_call(self._engine, call)
                recorded = True
            except DatabaseUnavailable:
                recorded = False
                await self._keep_for_later(call)
            try:
                await self._quotas.settle(hold, spent=call.total_tokens)
                if recorded and await self._outbox.size():
                    await self._move_outbox_to_ledger()
            except RedisUnavailable:
                # The hold lapses on its own; until the counters are rebuilt, they miss this call's spend.
                logger.warning("Redis is unavailable: call %s was not settled on its budget", call.call_id)
        finally:
            self._unrecorded -= 1
            if not self._unrecorded:
                self._all_recorded.set()

    async def _keep_for_later(self, call: Call) -> None:
        late = Call(**asdict(call) | {"ended_at": datetime.now(UTC)})
        try:
            await self._outbox.put(late.to_json())
            logger.warning("PostgreSQL is unavailable: call %s waits in the outbox", call.call_id)
        except RedisUnavailable:
            logger.error("PostgreSQL and Redis are unavailable; usage record not kept: %s", late.to_json())

    async def _move_outbox_to_ledger(self) -> None:
        try:
            for entry in await self._outbox.waiting(OUTBOX_BATCH):
                await record_call(self._engine, Call.from_json(entry))  # a no-op if it is there already
                await self._outbox.remove(entry)
        except DatabaseUnavailable:
            pass  # gone again: what is left waits for the next call


class UsageMeter:
    """One call's meter: starts timing when made; `record()` records the call once it has ended."""

    def __init__(self, metering: Metering, hold: Hold, *, user_id: str, model: str, streamed: bool) -> None:
        self._metering = metering
        self._hold = hold
        self._user_id = user_id
        self._model = model
        self._streamed = streamed
        self._started = time.perf_counter()

    async def record(self, status_code: int, usage: Usage | None = None) -> None:
        usage = usage or NO_USAGE
        call = Call(
            call_id=self._hold.call_id,
            user_id=self._user_id,
            organization_id=self._hold.organization_id,
            model=self._model,
            streamed=self._streamed,
            status_code=status_code,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            latency_ms=round((time.perf_counter() - self._started) * 1000),
        )
        # The connection is taken only now, once the upstream has answered. Awaiting the upstream while
        # holding one would park a pool slot for the whole call (a second or more of an LLM thinking)
        # doing nothing, and a handful of slow calls would starve every other request.
        await self._metering.record(call, self._hold)
