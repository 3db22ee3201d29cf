"""What a browser opens: the login page (`GET`, then `POST` of its form) and logout.

No API key, and never slowed or failed by `Behaviour`, which is about the calls the SDK makes. The
login page's errors have OAuth's shape. Every URL the emulator sends the browser to (`redirect_uri`,
`return_to`) must be on an allowed host: a bad one gets a 400, never a redirect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ..dependencies import Emulator
from ..errors import api_error, oauth_error
from ..login_page import render_login_page

if TYPE_CHECKING:
    from ..emulator import WorkOSEmulator

router = APIRouter(tags=["browser"])


@dataclass(frozen=True, kw_only=True)
class _AuthorizationRequest:
    """What the app asked for, carried through the login form in hidden fields."""

    client_id: str
    redirect_uri: str
    state: str
    code_challenge: str
    code_challenge_method: str


def _authorization_request(emulator: WorkOSEmulator, fields: Mapping[str, str]) -> _AuthorizationRequest:
    """Checked before any page is shown: a bad `redirect_uri` gets a 400, never a redirect."""
    if fields.get("client_id") != emulator.client_id:
        raise oauth_error(400, "invalid_request", f"Unknown client_id {fields.get('client_id')!r}.")
    redirect_uri = fields.get("redirect_uri", "")
    _check_redirect(emulator, redirect_uri, "redirect_uri")
    challenge, method = fields.get("code_challenge", ""), fields.get("code_challenge_method", "")
    if challenge and method != "S256":
        raise oauth_error(400, "invalid_request", "code_challenge_method must be S256.")
    return _AuthorizationRequest(
        client_id=emulator.client_id,
        redirect_uri=redirect_uri,
        state=fields.get("state", ""),
        code_challenge=challenge,
        code_challenge_method=method,
    )


def _check_redirect(emulator: WorkOSEmulator, url: str, name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in emulator.allowed_redirect_hosts:
        hosts = ", ".join(sorted(emulator.allowed_redirect_hosts))
        raise oauth_error(
            400,
            "invalid_request",
            f"{name} {url!r} is not allowed: its host must be one of {hosts} "
            "(WorkOSEmulator.allowed_redirect_hosts).",
        )


@router.get("/user_management/authorize", response_class=HTMLResponse)
async def login_page(request: Request, emulator: Emulator) -> Response:
    """The login form; with `auto=1` and a `login_hint`, signs that user in without showing it."""
    query = request.query_params
    if query.get("response_type") != "code":
        raise oauth_error(400, "invalid_request", "response_type must be code.")
    authorization = _authorization_request(emulator, query)
    hinted = emulator.seeds.user_by_email(query.get("login_hint", ""))
    organization_id = query.get("organization_id") or None
    if query.get("auto") == "1":
        if hinted is None:
            raise oauth_error(400, "invalid_request", "auto=1 needs a seeded user's email as login_hint.")
        return _sign_in(emulator, authorization, hinted.id, organization_id)
    page = render_login_page(
        hidden=asdict(authorization),
        seeds=emulator.seeds,
        user_id=hinted.id if hinted else None,
        organization_id=organization_id,
    )
    return HTMLResponse(page)


@router.post("/user_management/authorize")
async def submit_login(request: Request, emulator: Emulator) -> Response:
    # Parsed by hand: Starlette's `request.form()` needs python-multipart, which nothing else here needs.
    fields = dict(parse_qsl((await request.body()).decode()))
    authorization = _authorization_request(emulator, fields)
    return _sign_in(emulator, authorization, fields.get("user_id", ""), fields.get("organization_id") or None)


def _sign_in(
    emulator: WorkOSEmulator, authorization: _AuthorizationRequest, user_id: str, organization_id: str | None
) -> Response:
    """Issues a code and sends the browser back to the app, or shows the form again with what is wrong."""
    seeds = emulator.seeds
    user = seeds.user(user_id)
    if user is None:
        return _login_page_again(emulator, authorization, f"There is no user {user_id!r}: pick one.")
    if organization_id is None:
        memberships = seeds.active_memberships(user.id)
        organization_id = memberships[0].organization_id if len(memberships) == 1 else None
    elif seeds.active_membership(user.id, organization_id) is None:
        return _login_page_again(
            emulator, authorization, f"{user.email} is not an active member of {organization_id}."
        )
    code = emulator.store.issue_code(
        user_id=user.id,
        organization_id=organization_id,
        client_id=authorization.client_id,
        code_challenge=authorization.code_challenge or None,
    )
    back = _with_query(authorization.redirect_uri, code=code, state=authorization.state or None)
    return RedirectResponse(back, status_code=302)


def _login_page_again(emulator: WorkOSEmulator, authorization: _AuthorizationRequest, error: str) -> Response:
    page = render_login_page(
        hidden=asdict(authorization), seeds=emulator.seeds, user_id=None, organization_id=None, error=error
    )
    return HTMLResponse(page, status_code=400)


def _with_query(url: str, **params: str | None) -> str:
    """`url` with `params` added to the query it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


@router.get("/user_management/sessions/logout")
async def log_out(
    emulator: Emulator, session_id: str | None = None, return_to: str | None = None
) -> Response:
    """Ends the session (its refresh tokens stop working), then sends the browser to `return_to`."""
    if not session_id:
        raise api_error(422, "invalid_request", "session_id is required")
    if return_to:
        _check_redirect(emulator, return_to, "return_to")
    emulator.store.end_session(session_id)
    return RedirectResponse(return_to, status_code=302) if return_to else JSONResponse({})
