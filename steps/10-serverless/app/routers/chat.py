"""The proxy's endpoints: one answer at once, or the same answer streamed as server-sent events.

They are `async def` again: the database driver (asyncpg) and the upstream client (an aiohttp `ClientSession`)
both await, so while one request waits on either, the event loop serves the other requests. A router
does HTTP only: the call, admitted and metered, is the `proxy` service's job.

Both need a session (a 401 without) whose organization pays for the call (a 403 without).
"""

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import StreamingResponse

from app.dependencies import CurrentSession, LLMProxy, app_state
from app.over_limit import ratelimit_headers
from app.schemas import ChatRequest, ChatResponse
from app.services import proxy

router = APIRouter(prefix="/v1/chat", tags=["chat"])


async def allowed_chat(chat: ChatRequest, request: Request) -> ChatRequest:
    """The request body, once its model is one this deployment allows (a paid API: we choose)."""
    settings = app_state(request)["settings"]
    if chat.model not in settings.allowed_models:
        allowed = ", ".join(settings.allowed_models)
        raise HTTPException(400, f"Model {chat.model!r} is not allowed. Allowed models: {allowed}.")
    return chat


AllowedChat = Annotated[ChatRequest, Depends(allowed_chat)]


@router.post("")
async def chat(
    chat: AllowedChat, session: CurrentSession, resources: LLMProxy, response: Response
) -> ChatResponse:
    answer, rate = await proxy.answer(chat, session, resources)
    response.headers.update(ratelimit_headers(rate))
    return answer


@router.post("/stream", response_class=StreamingResponse)
async def chat_stream(chat: AllowedChat, session: CurrentSession, resources: LLMProxy) -> StreamingResponse:
    # Refusals and upstream errors raise before any byte is sent: they get a status of their own.
    events, rate = await proxy.stream(chat, session, resources)
    return StreamingResponse(events, media_type="text/event-stream", headers=ratelimit_headers(rate))
