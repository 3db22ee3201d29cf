"""Proxying a chat to the LLM, metered: the use case behind both chat endpoints.

Every call is recorded, whatever its outcome: with the usage the upstream reported, or with the
status our client got when the upstream failed.
"""

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import UpstreamError
from app.llm import GeminiClient
from app.schemas import ChatRequest, ChatResponse
from app.services.metering import UsageMeter


async def answer(chat: ChatRequest, *, llm: GeminiClient, engine: AsyncEngine) -> ChatResponse:
    """One whole answer; the call is recorded (and committed) before it is returned."""
    meter = UsageMeter(engine, chat.model, streamed=False)
    try:
        response = await llm.generate(chat)
    except UpstreamError as error:
        await meter.record(error.status_code)
        raise
    await meter.record(200, response.usage)
    return response


async def stream(chat: ChatRequest, *, llm: GeminiClient, engine: AsyncEngine) -> AsyncIterator[bytes]:
    """The answer as server-sent events. Errors before the first byte raise here, recorded; once the
    stream runs, the relay records the call when it ends, after the last byte has been sent."""
    meter = UsageMeter(engine, chat.model, streamed=True)
    try:
        return await llm.open_stream(chat, on_end=meter.record)
    except UpstreamError as error:
        await meter.record(error.status_code)
        raise
