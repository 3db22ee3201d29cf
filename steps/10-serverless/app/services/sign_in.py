"""Signing in and out: the code AuthKit sent back becomes a session in Redis, and who signed in is
recorded; signing out ends the session here and at WorkOS.

The step 05 pattern: one unit of work over three repositories. The user, their organization and their
membership are written in one transaction, so a failure half-way leaves none of them.
"""

from sqlalchemy.ext.asyncio import AsyncEngine

from app.repositories import memberships, organizations, users
from app.services.sessions import end_session, start_session
from app.session_store import SessionStore
from app.workos import AuthKit, SignInStart


async def start_sign_in(authkit: AuthKit) -> SignInStart:
    return await authkit.start_sign_in()


async def complete_sign_in(
    engine: AsyncEngine,
    authkit: AuthKit,
    store: SessionStore,
    *,
    code: str,
    code_verifier: str,
    user_agent: str,
    previous_session_id: str | None,
) -> str:
    """Exchanges the code, records who signed in, and returns the id of a new session.

    Every call to WorkOS comes first, outside the transaction: a transaction is never held open while
    we wait on another service. The session is always new: an id the browser brought (planted by an
    attacker before sign-in: session fixation) never becomes a signed-in one, and is ended.
    """
    auth = await authkit.exchange_code(code, code_verifier)
    verified = await authkit.verify(auth)
    organization_name = (
        await authkit.organization_name(auth.organization_id) if auth.organization_id else None
    )

    async with engine.connect() as conn, conn.begin():
        user = auth.user
        await users.upsert(
            conn, id=user.id, email=user.email, first_name=user.first_name, last_name=user.last_name
        )
        if auth.organization_id and organization_name is not None:
            await organizations.upsert(conn, id=auth.organization_id, name=organization_name)
            role = verified.signed_in.role or "member"
            await memberships.upsert(conn, user_id=user.id, organization_id=auth.organization_id, role=role)

    if previous_session_id:
        previous = await store.load(previous_session_id)
        if previous is not None:
            await store.delete(previous.handle, user_id=previous.user_id)
    return await start_session(store, verified, user_agent=user_agent)


async def sign_out(store: SessionStore, authkit: AuthKit, session_id: str | None) -> None:
    """Ends the session in Redis, at once (a copy of the cookie is dead from here on), then at WorkOS."""
    if not session_id:
        return
    session = await store.load(session_id)
    if session is None:
        return
    await end_session(store, authkit, session)
