"""Sessions: started at sign-in, checked on every request (and with WorkOS once per access token),
moved to another organization, listed, and ended at once."""

import logging
import time
from dataclasses import replace
from typing import TypedDict

from app.errors import NotSignedIn, WorkOSUnavailable
from app.session_store import SessionStore, StoredSession
from app.workos import AuthKit, Verified

logger = logging.getLogger(__name__)

REVALIDATION_LOCK_SECONDS = 30  # longer than a refresh at WorkOS takes (the settings' timeout)


async def start_session(
    store: SessionStore, verified: Verified, *, user_agent: str, ends_at: int | None = None
) -> str:
    """A new session for whom WorkOS vouched; returns its id, for the cookie."""
    user = verified.signed_in.user
    return await store.create(
        ends_at=ends_at,
        user_id=user["id"],
        email=user["email"],
        first_name=user.get("first_name") or "",
        last_name=user.get("last_name") or "",
        user_agent=user_agent[:200],
        workos_session_id=verified.signed_in.session_id,
        **_token_fields(verified),
    )


async def current_session(store: SessionStore, authkit: AuthKit, session_id: str | None) -> StoredSession:
    """The session the cookie opens: one Redis round trip, and WorkOS once per access-token lifetime."""
    if not session_id:
        raise NotSignedIn()
    session = await store.load(session_id)
    if session is None:  # never issued, expired, signed out, revoked: Redis has it no more
        raise NotSignedIn()
    if time.time() < session.access_expires_at:
        return session
    return await revalidate(store, authkit, session)


async def revalidate(store: SessionStore, authkit: AuthKit, session: StoredSession) -> StoredSession:
    """Asks WorkOS whether the session still stands (revoked there? removed from the organization?).

    One request asks: a refresh token can be spent once, and a second request spending it too would be
    refused and end the session. The others, finding the lock taken, go on with the session as it is
    for the moment the first one takes.
    """
    lock = f"revalidate:{session.handle}"
    if not await store.lock(lock, REVALIDATION_LOCK_SECONDS):
        return session
    try:
        # Read again under the lock: a request that held the lock a moment ago may have refreshed it,
        # and the refresh token read before the lock would be one WorkOS already took.
        current = await store.get(session.handle)
        if current is None:
            raise NotSignedIn()
        if time.time() < current.access_expires_at:
            return current
        try:
            verified = await authkit.verify(await authkit.refresh(current.refresh_token))
        except NotSignedIn:  # WorkOS says no: the session ends here too
            await store.delete(current.handle, user_id=current.user_id)
            raise
        fields = _token_fields(verified)
        if not await store.update(current.handle, **fields):
            raise NotSignedIn("The session has ended.")  # signed out while WorkOS was asked
        return replace(current, **fields)
    finally:
        await store.unlock(lock)


async def switch_organization(
    store: SessionStore, authkit: AuthKit, session: StoredSession, organization_id: str, *, user_agent: str
) -> str:
    """Moves the session to another of the user's organizations; returns the id of the new session.

    WorkOS checks the membership and issues tokens with the new role. A change of privilege, so the
    session gets a new id and the old one ends: an id that leaked before the switch opens nothing after.
    """
    verified = await authkit.verify(
        await authkit.refresh(session.refresh_token, organization_id=organization_id)
    )
    # The new session ends when the old one would have: switching cannot stretch a session past 8 hours.
    new_session_id = await start_session(store, verified, user_agent=user_agent, ends_at=session.ends_at)
    await store.delete(session.handle, user_id=session.user_id)
    return new_session_id


async def sessions_of(store: SessionStore, user_id: str) -> list[StoredSession]:
    return await store.sessions_of(user_id)


async def end_sessions(store: SessionStore, authkit: AuthKit, user_id: str, handle: str | None = None) -> int:
    """Ends one of the user's sessions (by its handle), or all of them; returns how many ended."""
    ended = [s for s in await store.sessions_of(user_id) if handle is None or s.handle == handle]
    for session in ended:
        await end_session(store, authkit, session)
    return len(ended)


async def end_session(store: SessionStore, authkit: AuthKit, session: StoredSession) -> None:
    """Deleted from Redis first: from then on, every instance refuses the id. Then ended at WorkOS."""
    await store.delete(session.handle, user_id=session.user_id)
    try:
        await authkit.revoke(session.workos_session_id)
    except WorkOSUnavailable:
        # Ended for this app already, and the refresh token that could revive it at WorkOS was only
        # ever in the session just deleted. WorkOS ends it on its own when it expires.
        logger.warning("WorkOS is unavailable: session %s not revoked there", session.workos_session_id)


class TokenFields(TypedDict):
    organization_id: str
    role: str
    permissions: str
    refresh_token: str
    access_expires_at: int


def _token_fields(verified: Verified) -> TokenFields:
    """What changes each time WorkOS issues tokens: the tokens, and the claims they carry."""
    signed_in = verified.signed_in
    return TokenFields(
        organization_id=signed_in.organization_id or "",
        role=signed_in.role or "",
        permissions=" ".join(signed_in.permissions),
        refresh_token=verified.refresh_token,
        access_expires_at=verified.access_expires_at,
    )
