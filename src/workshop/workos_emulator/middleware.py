"""What happens around every request: the call is recorded, and the answer gets an `x-request-id`.

`RecordedCall` is what a test finds in `emulator.calls`; the SDK puts the request id on the
exceptions it raises, as it does with WorkOS' own.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from .emulator import WorkOSEmulator


class RecordedCall(NamedTuple):
    """A request the emulator received. A tuple, so `("GET", "/health") in emulator.calls` works."""

    method: str
    path: str
    """Without the query string, and without a trailing slash."""


class RequestIdsAndCalls:
    """Around every request: accepts a trailing slash, records the call, adds an `x-request-id`
    (the SDK puts it on its exceptions). Plain ASGI, so a hanging call still sees its client leave."""

    def __init__(self, app: ASGIApp, emulator: WorkOSEmulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"].rstrip("/") or "/"
        self.emulator.calls.append(RecordedCall(scope["method"], path))
        request_id = str(uuid.uuid4()).encode()

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id)]}
            await send(message)

        await self.app({**scope, "path": path}, receive, send_with_request_id)
