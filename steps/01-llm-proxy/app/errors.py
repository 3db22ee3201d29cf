"""What can go wrong upstream, and the status our client sees for each."""

from fastapi import Request
from fastapi.responses import JSONResponse


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
