"""What the endpoints are handed: the resources the lifespan opened, one `Annotated` alias each.

The lifespan (in `app/main.py`) yields an `AppState`; Starlette hands a copy of it to every request
as its state. Reading it through the TypedDict keeps the types: an endpoint asking for `DbEngine` gets
an `AsyncEngine`, checked by mypy, with no `app.state` attribute of type `Any` in between.
"""

from typing import Annotated, TypedDict, cast

import redis.asyncio as redis
from fastapi import Cookie, Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cookies import SESSION_COOKIE
from app.errors import NotSignedIn
from app.services.proxy import Proxy
from app.services.sessions import current_session
from app.session_store import SessionStore, StoredSession
from app.settings import Settings
from app.workos import AuthKit


class AppState(TypedDict):
    settings: Settings
    engine: AsyncEngine
    authkit: AuthKit
    sessions: SessionStore
    proxy: Proxy  # what a proxied call needs: the LLM, the quotas, the engine, the metering
    redis: redis.Redis  # the one client the stores above share; readiness pings it


def app_state(request: Request) -> AppState:
    return cast(AppState, request.scope["state"])  # what the lifespan yielded, as it yielded it


# `async def`, though they never await: FastAPI runs a plain `def` dependency in its threadpool, a thread
# hop on every request for nothing.
async def get_engine(request: Request) -> AsyncEngine:
    return app_state(request)["engine"]


async def get_proxy(request: Request) -> Proxy:
    return app_state(request)["proxy"]


DbEngine = Annotated[AsyncEngine, Depends(get_engine)]
LLMProxy = Annotated[Proxy, Depends(get_proxy)]


async def get_settings(request: Request) -> Settings:
    return app_state(request)["settings"]


async def get_authkit(request: Request) -> AuthKit:
    return app_state(request)["authkit"]


AppSettings = Annotated[Settings, Depends(get_settings)]
WorkOS = Annotated[AuthKit, Depends(get_authkit)]
SessionCookie = Annotated[str | None, Cookie(alias=SESSION_COOKIE)]


async def get_session_store(request: Request) -> SessionStore:
    return app_state(request)["sessions"]


Sessions = Annotated[SessionStore, Depends(get_session_store)]


async def get_current_session(request: Request, session_id: SessionCookie = None) -> StoredSession:
    """The caller's session, from the id in their cookie; a 401 when there is none (any more).

    It reads the store and AuthKit from the app's state itself, not through two more dependencies:
    every authenticated request runs it, and each dependency costs FastAPI a call and its bookkeeping."""
    state = app_state(request)
    return await current_session(state["sessions"], state["authkit"], session_id)


async def get_current_session_or_none(
    authkit: WorkOS, store: Sessions, session_id: SessionCookie = None
) -> StoredSession | None:
    """The caller's session, or None: for a page that shows something to everyone."""
    try:
        return await current_session(store, authkit, session_id)
    except NotSignedIn:
        return None


CurrentSession = Annotated[StoredSession, Depends(get_current_session)]
CurrentSessionOrNone = Annotated[StoredSession | None, Depends(get_current_session_or_none)]
