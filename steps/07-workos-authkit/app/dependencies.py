"""What the endpoints are handed: the resources the lifespan opened, one `Annotated` alias each.

The lifespan (in `app/main.py`) yields an `AppState`; Starlette hands a copy of it to every request
as its state. Reading it through the TypedDict keeps the types: an endpoint asking for `DbEngine` gets
an `AsyncEngine`, checked by mypy, with no `app.state` attribute of type `Any` in between.
"""

from typing import Annotated, TypedDict, cast

from fastapi import Cookie, Depends, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cookies import SESSION_COOKIE, set_session_cookie
from app.errors import NotSignedIn
from app.llm import GeminiClient
from app.settings import Settings
from app.workos import AuthKit, SignedIn


class AppState(TypedDict):
    settings: Settings
    llm: GeminiClient
    engine: AsyncEngine
    authkit: AuthKit


def app_state(request: Request) -> AppState:
    return cast(AppState, request.scope["state"])  # what the lifespan yielded, as it yielded it


# `async def`, though they never await: FastAPI runs a plain `def` dependency in its threadpool, a thread
# hop on every request for nothing.
async def get_llm(request: Request) -> GeminiClient:
    return app_state(request)["llm"]


async def get_engine(request: Request) -> AsyncEngine:
    return app_state(request)["engine"]


LLM = Annotated[GeminiClient, Depends(get_llm)]
DbEngine = Annotated[AsyncEngine, Depends(get_engine)]


async def get_settings(request: Request) -> Settings:
    return app_state(request)["settings"]


async def get_authkit(request: Request) -> AuthKit:
    return app_state(request)["authkit"]


AppSettings = Annotated[Settings, Depends(get_settings)]
WorkOS = Annotated[AuthKit, Depends(get_authkit)]
SessionCookie = Annotated[str | None, Cookie(alias=SESSION_COOKIE)]


async def get_signed_in(authkit: WorkOS, response: Response, cookie: SessionCookie = None) -> SignedIn:
    """Who sent the request, from their session cookie; a 401 when no one did.

    When the access token inside has expired, `AuthKit` refreshes it at WorkOS, and the new cookie goes
    out with this response (FastAPI adds the headers set on `response` to whatever the endpoint returns).
    """
    if not cookie:
        raise NotSignedIn()
    signed_in, refreshed = await authkit.signed_in(cookie)
    if refreshed:
        set_session_cookie(response, refreshed)
    return signed_in


async def get_signed_in_or_none(
    authkit: WorkOS, response: Response, cookie: SessionCookie = None
) -> SignedIn | None:
    """Who sent the request, or None: for a page that shows something to everyone."""
    try:
        return await get_signed_in(authkit, response, cookie)
    except NotSignedIn:
        return None


CurrentUser = Annotated[SignedIn, Depends(get_signed_in)]
CurrentUserOrNone = Annotated[SignedIn | None, Depends(get_signed_in_or_none)]
