"""Your sessions: every browser you are signed in on, and ending one of them, or all, at once."""

from fastapi import APIRouter, Response

from app.cookies import clear_session_cookie
from app.dependencies import CurrentSession, Sessions, WorkOS
from app.errors import NotFound
from app.schemas import Ended, SessionInfo
from app.services import sessions

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


@router.get("")
async def list_sessions(session: CurrentSession, store: Sessions) -> list[SessionInfo]:
    mine = await sessions.sessions_of(store, session.user_id)
    return [SessionInfo.from_session(each, current=each.handle == session.handle) for each in mine]


@router.delete("/{handle}")
async def end_one(handle: str, session: CurrentSession, store: Sessions, authkit: WorkOS) -> Ended:
    """Ends one of your sessions, by the `handle` the list shows; on every instance, at once."""
    ended = await sessions.end_sessions(store, authkit, session.user_id, handle)
    if not ended:
        raise NotFound("You have no session with that handle.")
    return Ended(ended=ended)


@router.delete("")
async def end_all(session: CurrentSession, store: Sessions, authkit: WorkOS, response: Response) -> Ended:
    """Ends every one of your sessions, this one included: "sign out everywhere"."""
    ended = await sessions.end_sessions(store, authkit, session.user_id)
    clear_session_cookie(response)  # this browser's session is among them
    return Ended(ended=ended)
