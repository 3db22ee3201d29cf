"""Signing in: the code AuthKit sent back becomes a session, and who signed in is recorded.

The step 05 pattern earning its keep: one unit of work over three repositories. The user, their
organization and their membership are written in one transaction, so a failure half-way (the
database gone after the user's row) leaves none of them: never a membership without its user, never
a user in no organization they belong to.
"""

from sqlalchemy.ext.asyncio import AsyncEngine

from app.errors import NotSignedIn
from app.repositories import memberships, organizations, users
from app.workos import AuthKit, SignInStart


async def start_sign_in(authkit: AuthKit) -> SignInStart:
    return await authkit.start_sign_in()


async def complete_sign_in(engine: AsyncEngine, authkit: AuthKit, *, code: str, code_verifier: str) -> str:
    """Exchanges the code, records the user, organization and membership, and returns the sealed session.

    Every call to WorkOS comes first, outside the transaction: a transaction is never held open while
    we wait on another service.
    """
    auth = await authkit.exchange_code(code, code_verifier)
    sealed_session = authkit.seal(auth)
    signed_in, _ = await authkit.signed_in(sealed_session)  # the role, from the verified access token
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
            await memberships.upsert(
                conn, user_id=user.id, organization_id=auth.organization_id, role=signed_in.role or "member"
            )
    return sealed_session


async def sign_out_url(authkit: AuthKit, sealed_session: str | None, *, return_to: str) -> str:
    """Where to send the browser: WorkOS' sign-out, which ends the session there and sends the browser
    on to `return_to`; `return_to` itself when the cookie holds no session to end."""
    if not sealed_session:
        return return_to
    try:
        signed_in, _ = await authkit.signed_in(sealed_session)
    except NotSignedIn:
        return return_to
    return authkit.sign_out_url(signed_in.session_id, return_to=return_to)
