"""A fake Gemini-style LLM upstream: deterministic, able to stream, to be slow and to fail on demand.

It speaks the two calls the proxy uses, in the shape of the Gemini API:

    POST /v1beta/models/{model}:generateContent
    POST /v1beta/models/{model}:streamGenerateContent?alt=sse

The reply to a prompt is always `You said: <the last user text>`, cut at the request's
`generationConfig.maxOutputTokens` if it sets one, and token counts are word counts, so tests can
predict every number. A stream's chunks report the usage so far, as Gemini's do: the last one, the
call's. `FakeLLM.behaviour` sets latency and failures; out of process, the
same settings are read and written at `GET/PUT /_fake/behaviour`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

API_KEY = "fake-llm-key"
"""The only key the fake accepts; tests check that the proxy sends it and never returns it."""


class Behaviour(BaseModel):
    """How the fake answers the next calls. Every field's default means: normally."""

    latency: float = 0.0
    """Seconds to wait before answering (before the first chunk, when streaming)."""
    chunk_delay: float = 0.0
    """Seconds between streamed chunks."""
    fail_status: int | None = None
    """Answer every call with this HTTP status and a Gemini-style error body."""
    hang: bool = False
    """Never answer, so the caller's timeout fires."""
    drop_stream_after: int | None = None
    """Cut the connection after sending this many chunks of a stream."""


@dataclass(kw_only=True)
class RecordedCall:
    model: str
    stream: bool
    api_key: str | None
    body: dict[str, Any]


@dataclass(kw_only=True)
class FakeLLM:
    behaviour: Behaviour = field(default_factory=Behaviour)
    calls: list[RecordedCall] = field(default_factory=list)
    base_url: str = ""

    def reset(self) -> None:
        self.behaviour = Behaviour()
        self.calls.clear()

    def app(self) -> FastAPI:
        return _build_app(self)


def reply_for(prompt: str, *, max_output_tokens: int | None = None) -> str:
    words = f"You said: {prompt}".split(" ")
    return " ".join(words[:max_output_tokens])  # one token per word: at most that many words


def count_tokens(text: str) -> int:
    return len(text.split())


def _build_app(fake: FakeLLM) -> FastAPI:
    app = FastAPI(title="Fake Gemini-style LLM")

    @app.get("/_fake/behaviour")
    async def get_behaviour() -> Behaviour:
        return fake.behaviour

    @app.put("/_fake/behaviour")
    async def set_behaviour(behaviour: Behaviour) -> Behaviour:
        fake.behaviour = behaviour
        return behaviour

    # One route for both verbs: Gemini puts the method after a colon in the last path segment.
    @app.post("/v1beta/models/{model_and_method}")
    async def models(
        model_and_method: str,
        request: Request,
        x_goog_api_key: str | None = Header(default=None),
    ) -> Any:
        model, _, method = model_and_method.partition(":")
        if method not in ("generateContent", "streamGenerateContent"):
            return _error(404, "NOT_FOUND", f"unknown method {method!r}")
        stream = method == "streamGenerateContent"
        body = await request.json()
        fake.calls.append(RecordedCall(model=model, stream=stream, api_key=x_goog_api_key, body=body))

        behaviour = fake.behaviour
        if behaviour.hang:
            while not await request.is_disconnected():  # noqa: ASYNC110 - poll until the client gives up
                await asyncio.sleep(0.05)
            return _error(504, "DEADLINE_EXCEEDED", "the fake was told to hang")
        if x_goog_api_key != API_KEY:
            return _error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
        prompt = _last_user_text(body)
        if prompt is None:
            return _error(400, "INVALID_ARGUMENT", "contents must hold at least one user text part")
        await asyncio.sleep(behaviour.latency)
        if behaviour.fail_status is not None:
            return _error(behaviour.fail_status, "UNAVAILABLE", "the fake was told to fail")

        reply = reply_for(prompt, max_output_tokens=_max_output_tokens(body))
        usage = {
            "promptTokenCount": count_tokens(_all_text(body)),
            "candidatesTokenCount": count_tokens(reply),
        }
        usage["totalTokenCount"] = usage["promptTokenCount"] + usage["candidatesTokenCount"]
        if not stream:
            return _response(model, reply, usage, finished=True)
        return StreamingResponse(_chunks(model, reply, usage, behaviour), media_type="text/event-stream")

    return app


async def _chunks(model: str, reply: str, usage: dict[str, int], behaviour: Behaviour) -> AsyncIterator[str]:
    words = reply.split(" ")
    pieces = [" ".join(words[i : i + 2]) + " " for i in range(0, len(words), 2)]
    pieces[-1] = pieces[-1].rstrip()
    sent = 0  # words of the reply streamed so far
    for number, piece in enumerate(pieces):
        if behaviour.drop_stream_after is not None and number >= behaviour.drop_stream_after:
            raise ConnectionAbortedError("the fake was told to drop the stream")
        if number:
            await asyncio.sleep(behaviour.chunk_delay)
        last = number == len(pieces) - 1
        sent += count_tokens(piece)
        so_far = usage | {
            "candidatesTokenCount": sent,
            "totalTokenCount": usage["promptTokenCount"] + sent,
        }
        chunk = _response(model, piece, so_far, finished=last)
        yield f"data: {json.dumps(chunk)}\r\n\r\n"  # Gemini frames SSE events with CRLF


def _response(model: str, text: str, usage: dict[str, int], *, finished: bool) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finished:
        candidate["finishReason"] = "STOP"
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model}


def _error(status: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": status, "message": message, "status": reason}}, status)


def _last_user_text(body: dict[str, Any]) -> str | None:
    user_turns = [c for c in body.get("contents", []) if c.get("role", "user") == "user"]
    if not user_turns:
        return None
    texts = [p["text"] for p in user_turns[-1].get("parts", []) if "text" in p]
    return " ".join(texts) if texts else None


def _max_output_tokens(body: dict[str, Any]) -> int | None:
    value = body.get("generationConfig", {}).get("maxOutputTokens")
    return value if isinstance(value, int) and value > 0 else None


def _all_text(body: dict[str, Any]) -> str:
    return " ".join(part.get("text", "") for content in body.get("contents", []) for part in content["parts"])
