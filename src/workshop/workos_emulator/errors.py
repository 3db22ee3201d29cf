"""The two shapes of WorkOS' errors, and the handlers that answer every error in one of them.

WorkOS answers OAuth's `{"error", "error_description"}` on the login and token endpoints, and
`{"message", "code"}` everywhere else. The SDK maps both to its exceptions by status, so the emulator
must use the right shape on each route, or the SDK raises the wrong exception.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException


class Refused(Exception):
    """Raised anywhere while handling a request, to answer with `response` instead."""

    def __init__(self, response: Response) -> None:
        self.response = response


def oauth_error(status: int, error: str, description: str) -> Refused:
    """OAuth's shape: the login page and `POST /user_management/authenticate`."""
    return Refused(JSONResponse({"error": error, "error_description": description}, status))


def api_error(status: int, code: str, message: str) -> Refused:
    """The rest of the API's shape."""
    return Refused(JSONResponse({"message": message, "code": code}, status))


def error_code_for(status: int) -> str:
    """`service_unavailable` for 503: a status's name, as WorkOS spells error codes."""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def install_error_handlers(app: FastAPI) -> None:
    # The decorator, called: `add_exception_handler` would refuse (mypy) handlers of one exception type.
    app.exception_handler(Refused)(_refused)
    app.exception_handler(HTTPException)(_http_error)
    app.exception_handler(RequestValidationError)(_invalid_request)


async def _refused(request: Request, refusal: Refused) -> Response:
    return refusal.response


async def _http_error(request: Request, error: HTTPException) -> Response:
    """Unknown paths and methods, in WorkOS' shape rather than FastAPI's `{"detail"}`."""
    return api_error(error.status_code, error_code_for(error.status_code), str(error.detail)).response


async def _invalid_request(request: Request, error: RequestValidationError) -> Response:
    body = {"message": "Invalid request parameters.", "code": "invalid_request_parameters"}
    return JSONResponse(body | {"errors": jsonable_encoder(error.errors())}, 422)
