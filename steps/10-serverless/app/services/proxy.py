"""Proxying a chat to the LLM, paid for and metered: the use case behind both chat endpoints.

A call is admitted first (app/services/admission.py: an organization to pay, a rate and a budget that
leave room), and recorded once whatever its outcome (app/services/metering.py): with the usage the
upstream reported, or what was streamed so far, or the status our client got when it failed.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import UpstreamError
from app.llm import CUT_OFF, GeminiClient
from app.over_limit import RequestRate
from app.quotas import Quotas
from app.schemas import ChatRequest, ChatResponse
from app.services.admission import admit
from app.services.metering import Metering
from app.session_store import StoredSession


@dataclass(frozen=True, kw_only=True)
class Proxy:
    """What a proxied call needs, as the lifespan opened it."""

    llm: GeminiClient
    quotas: Quotas
    engine: AsyncEngine
    metering: Metering


async def answer(chat: ChatRequest, session: StoredSession, proxy: Proxy) -> tuple[ChatResponse, RequestRate]:
    """One whole answer; the call is recorded (and committed) before it is returned."""
    admission = await admit(chat, session, quotas=proxy.quotas, engine=proxy.engine)
    meter = proxy.metering.meter(admission.hold, user_id=session.user_id, model=chat.model, streamed=False)
    try:
        response = await proxy.llm.generate(chat)
    except BaseException as error:  # every ending is recorded, a cancellation or a bug's too
        await meter.record(status_of(error))
        raise
    await meter.record(200, response.usage)
    return response, admission.rate


async def stream(
    chat: ChatRequest, session: StoredSession, proxy: Proxy
) -> tuple[AsyncIterator[bytes], RequestRate]:
    """The answer as server-sent events. Errors before the first byte raise here, recorded; once the
    stream runs, the relay records the call when it ends: after the last byte, or when it is cut off."""
    admission = await admit(chat, session, quotas=proxy.quotas, engine=proxy.engine)
    meter = proxy.metering.meter(admission.hold, user_id=session.user_id, model=chat.model, streamed=True)
    try:
        events = await proxy.llm.open_stream(chat, on_end=meter.record)
    except BaseException as error:
        await meter.record(status_of(error))
        raise
    return events, admission.rate


def status_of(error: BaseException) -> int:
    """The status a call that raised is recorded with."""
    if isinstance(error, UpstreamError):
        return error.status_code  # what our client gets: 502, 503 or 504
    if isinstance(error, asyncio.CancelledError):
        return CUT_OFF  # the server shutting down did not wait for the upstream
    return 500  # a bug: the client gets a 500
