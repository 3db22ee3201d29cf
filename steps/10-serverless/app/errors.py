"""What can go wrong with what we depend on, and the status our client sees for each.

One exception per outside system, raised by that system's adapter (`app/llm.py` for the LLM,
`app/db/engine.py` for the database, `app/workos.py` for WorkOS, `app/redis_connection.py` for Redis),
and one handler each: a failure is never blamed on the wrong one. And what can go wrong in signing
in: a sign-in that fails, a request from someone not signed in.
"""

import json

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app.cookies import SESSION_COOKIE, clear_session_cookie


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


class DatabaseUnavailable(Exception):
    """The database is down, unreachable or gone: not the client's fault, and worth a retry later."""


class DatabaseBusy(DatabaseUnavailable):
    """Every connection of this instance's pool stayed busy for `pool_timeout`: there, but overloaded."""


async def database_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, DatabaseBusy):
        # Retry-After: a second is long enough for the calls in flight to give their connections back.
        detail = "The database is busy; try again in a moment."
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "1"})
    return JSONResponse({"detail": "The database is unavailable."}, status_code=503)


class SignInFailed(Exception):
    """A sign-in that cannot complete: a callback without a code, with the wrong state, or a code WorkOS
    refused (unknown, expired or already used). The browser's fault, or an attacker's: a 400."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def sign_in_failed_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SignInFailed)
    return JSONResponse({"detail": exc.detail}, status_code=400)


class NotSignedIn(Exception):
    """No session cookie, or one that belongs to no one (any more): a 401, and the cookie is cleared."""

    def __init__(self, detail: str = "Not signed in.") -> None:
        super().__init__(detail)
        self.detail = detail


async def not_signed_in_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotSignedIn)
    response = JSONResponse({"detail": exc.detail}, status_code=401)
    if SESSION_COOKIE in request.cookies:
        clear_session_cookie(response)  # a cookie that will never work again is only noise on every request
    return response


class Forbidden(Exception):
    """Signed in, but not allowed this: a 403."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def forbidden_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Forbidden)
    return JSONResponse({"detail": exc.detail}, status_code=403)


class NotFound(Exception):
    """Nothing of yours by that name: a 404."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def not_found_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFound)
    return JSONResponse({"detail": exc.detail}, status_code=404)


class WorkOSUnavailable(Exception):
    """WorkOS (its API, or its signing keys) did not answer, or not in time: try again later."""


async def workos_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "WorkOS is unavailable; try again in a moment."}, status_code=503)


class RedisUnavailable(Exception):
    """Redis, where sessions and quotas live, cannot be reached or does not answer in time: nobody can be
    told apart and no call can be counted, so no request that needs either can be served. Never a 401:
    the caller did nothing wrong; never an uncounted 200."""


async def redis_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "Redis, where sessions and quotas are kept, is unavailable; try again in a moment."},
        status_code=503,
    )
