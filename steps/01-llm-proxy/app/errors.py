"""What can go wrong (bad input, the upstream), and the status our client sees for each."""

import json

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class SafeJSONResponse(JSONResponse):
    """JSON with every non-ASCII character escaped, so any text a client sent can be echoed back."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


async def request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's own 422, made safe for any input. JSON may carry a lone surrogate ("\\udc80"), which no
    UTF-8 can encode: the default handler, echoing it back, would fail with a 500."""
    assert isinstance(exc, RequestValidationError)
    return SafeJSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)


class UpstreamError(Exception):
    """The LLM upstream answered with an error: a bad gateway."""

    status_code = 502

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UpstreamTimeout(UpstreamError):
    status_code = 504


class UpstreamUnavailable(UpstreamError):
    """The upstream could not be reached at all."""

    status_code = 503


async def upstream_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UpstreamError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
