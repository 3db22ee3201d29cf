"""The LLM upstream, spoken to in the Gemini API's shape. The only module that knows that shape."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
from pydantic import SecretStr

from app.draining import Draining, ServerStopping
from app.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from app.schemas import ChatRequest, ChatResponse, Usage

CUT_OFF = 499  # nginx's "client closed request": what a call cancelled before its end is recorded with
SHUT_DOWN = 503  # what a stream ended early for the server's shutdown is recorded with

OnStreamEnd = Callable[[int, Usage | None], Awaitable[None]]
"""Called once a stream has ended, with the status it ended with and its usage, if any was sent."""


class GeminiClient:
    def __init__(self, http: aiohttp.ClientSession, api_key: SecretStr, draining: Draining) -> None:
        self._http = http  # one session for the app's life: its connection pool is reused
        self._api_key = api_key
        self._draining = draining  # streams end when the server is told to stop

    async def generate(self, chat: ChatRequest) -> ChatResponse:
        with _translated_errors():
            async with self._http.post(
                f"/v1beta/models/{chat.model}:generateContent",
                json=_gemini_body(chat),
                headers=self._headers(),
            ) as response:
                _raise_for_status(response)
                body = await response.json()
        return ChatResponse(model=chat.model, text=_text_of(body), usage=_usage_of(body))

    async def open_stream(self, chat: ChatRequest, on_end: OnStreamEnd) -> AsyncIterator[bytes]:
        """Starts the upstream stream; errors before the first byte raise here, as for `generate`."""
        with _translated_errors():
            response = await self._http.post(
                f"/v1beta/models/{chat.model}:streamGenerateContent",
                params={"alt": "sse"},
                json=_gemini_body(chat),
                headers=self._headers(),
            )
        if not response.ok:
            response.release()
            _raise_for_status(response)
        return _relay(response, on_end, self._draining)

    def _headers(self) -> dict[str, str]:
        # The key travels upstream in a header; it never appears in anything we send back.
        return {"x-goog-api-key": self._api_key.get_secret_value()}


async def _relay(
    response: aiohttp.ClientResponse, on_end: OnStreamEnd, draining: Draining
) -> AsyncIterator[bytes]:
    """Passes the upstream's SSE lines on as they arrive, noting the usage the last event reports.

    Gemini's events report the usage so far, so whenever the stream ends, `usage` is what it cost: all
    of it at the end, what was streamed until then when it is cut off. Cut off means cancelled here: the
    client hung up (Starlette cancels the stream), or the server stopped waiting for it. When the server
    is told to stop, the stream does not wait for that: it ends at once, with an event that says why.
    """
    usage, status_code = None, CUT_OFF  # until the stream reaches its end
    try:
        with draining.ending(response.content):
            async for raw_line in response.content:  # one line at a time, as it arrives
                line = raw_line.decode().rstrip("\r\n")  # Gemini ends its lines with CRLF
                if line.startswith("data:"):
                    usage = _usage_of(json.loads(line.removeprefix("data:")))
                yield f"{line}\n".encode()
        status_code = 200
    except ServerStopping:
        status_code = SHUT_DOWN
        # A blank line first: it ends the event the upstream may have been in the middle of.
        yield b'\nevent: error\ndata: {"detail": "The server is shutting down; ask again."}\n\n'
    except (aiohttp.ClientError, TimeoutError):
        status_code = 502
        yield b'event: error\ndata: {"detail": "The LLM upstream broke off the stream."}\n\n'
    finally:
        response.release()
        await on_end(status_code, usage)


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Turns aiohttp's exceptions into the app's upstream errors."""
    try:
        yield
    except TimeoutError as exc:  # aiohttp's timeouts are TimeoutErrors; test first: some are ClientErrors too
        raise UpstreamTimeout("The LLM upstream did not answer in time.") from exc
    except aiohttp.ClientError as exc:
        raise UpstreamUnavailable("The LLM upstream could not be reached.") from exc


def _raise_for_status(response: aiohttp.ClientResponse) -> None:
    if not response.ok:
        # Name the upstream's status, but pass none of its body on: it is not ours to expose.
        raise UpstreamError(f"The LLM upstream answered {response.status}.")


def _gemini_body(chat: ChatRequest) -> dict[str, Any]:
    roles = {"user": "user", "assistant": "model"}
    return {
        "contents": [{"role": roles[m.role], "parts": [{"text": m.content}]} for m in chat.messages],
        # The answer's length is capped: what the call may cost is known before it starts.
        "generationConfig": {"maxOutputTokens": chat.max_output_tokens},
    }


def _text_of(body: dict[str, Any]) -> str:
    parts = body["candidates"][0]["content"]["parts"]
    return "".join(part.get("text", "") for part in parts)


def _usage_of(body: dict[str, Any]) -> Usage:
    usage = body.get("usageMetadata", {})
    return Usage(
        prompt_tokens=usage.get("promptTokenCount", 0),
        completion_tokens=usage.get("candidatesTokenCount", 0),
        total_tokens=usage.get("totalTokenCount", 0),
    )
