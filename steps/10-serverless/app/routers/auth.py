"""Signing in and out with AuthKit: /auth/login, /auth/callback, /auth/logout.

The OAuth 2.0 authorization-code flow with PKCE. `/auth/login` sends the browser to AuthKit with a
fresh `state` and PKCE challenge, and keeps `state` and the verifier in a sealed cookie of that
browser's; AuthKit sends it back to `/auth/callback` with a code, which only that browser, holding the
cookie, can exchange. A sign-in started elsewhere (login CSRF: an attacker's code, to sign you in as
them) fails the `state` check.
"""

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Cookie, Request
from fastapi.responses import RedirectResponse, Response

from app.cookies import (
    SIGN_IN_COOKIE,
    SignInFlow,
    clear_session_cookie,
    clear_sign_in_cookie,
    read_sign_in_cookie,
    set_session_cookie,
    set_sign_in_cookie,
)
from app.dependencies import AppSettings, CurrentSession, DbEngine, SessionCookie, Sessions, WorkOS
from app.errors import SignInFailed
from app.services import sessions, sign_in

router = APIRouter(prefix="/auth", tags=["auth"])


@router.get("/login")
async def login(authkit: WorkOS, settings: AppSettings, return_to: str = "/") -> RedirectResponse:
    """To AuthKit's sign-in page; back at `return_to` (a path of this site) once signed in."""
    started = await sign_in.start_sign_in(authkit)
    flow = SignInFlow(
        state=started.state, code_verifier=started.code_verifier, return_to=same_site(return_to)
    )
    response = RedirectResponse(started.url, status_code=302)
    set_sign_in_cookie(response, flow, settings.session_cookie_password.get_secret_value())
    return response


@router.get("/callback")
async def callback(
    request: Request,
    authkit: WorkOS,
    engine: DbEngine,
    store: Sessions,
    settings: AppSettings,
    sign_in_cookie: Annotated[str | None, Cookie(alias=SIGN_IN_COOKIE)] = None,
    session_id: SessionCookie = None,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> RedirectResponse:
    """Where AuthKit sends the browser back: `?code=…&state=…`, or `?error=…` when the sign-in failed."""
    if error:
        raise SignInFailed(f"AuthKit could not sign you in: {error_description or error}")
    if not code:
        raise SignInFailed("The callback has no code: start signing in at /auth/login.")
    flow = read_sign_in_cookie(sign_in_cookie, settings.session_cookie_password.get_secret_value())
    if flow is None or state is None or not secrets.compare_digest(state, flow.state):
        raise SignInFailed(
            "This sign-in was not started from this browser, or too long ago (its state does not match):"
            " start again at /auth/login."
        )
    new_session_id = await sign_in.complete_sign_in(
        engine,
        authkit,
        store,
        code=code,
        code_verifier=flow.code_verifier,
        user_agent=request.headers.get("user-agent", ""),
        previous_session_id=session_id,
    )
    response = RedirectResponse(flow.return_to, status_code=303)
    set_session_cookie(response, new_session_id, max_age=store.absolute_seconds)
    clear_sign_in_cookie(response)  # spent: a second callback with it would be a replay
    return response


@router.post("/logout")
async def logout(authkit: WorkOS, store: Sessions, session_id: SessionCookie = None) -> RedirectResponse:
    """Ends the session in Redis (every copy of the cookie is dead at once) and at WorkOS; goes home."""
    await sign_in.sign_out(store, authkit, session_id)
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response)
    return response


@router.post("/organization")
async def switch_organization(
    request: Request, authkit: WorkOS, store: Sessions, session: CurrentSession, organization_id: str
) -> Response:
    """Moves the session to another of the user's organizations, under a new session id (rotation)."""
    new_session_id = await sessions.switch_organization(
        store, authkit, session, organization_id, user_agent=request.headers.get("user-agent", "")
    )
    response = Response(status_code=204)
    set_session_cookie(response, new_session_id, max_age=store.absolute_seconds)
    return response


def same_site(return_to: str) -> str:
    """`return_to` if it is a path on this site, "/" otherwise: never a redirect to another site.

    "//evil.example/" and "/\\evil.example/" are paths to the eye but other sites to a browser.
    """
    parts = urlsplit(return_to)
    if parts.scheme or parts.netloc or not return_to.startswith("/") or return_to.startswith(("//", "/\\")):
        return "/"
    if any(ord(character) < 0x20 for character in return_to):  # CR/LF would split the Location header
        return "/"
    return return_to
