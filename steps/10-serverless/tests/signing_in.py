"""Signing in as a browser does, in three requests: the app, AuthKit's page (the emulator's), the app."""

import httpx
from workshop.workos_emulator import WorkOSEmulator

ADA = "ada@analytical-engines.example"  # admin of Analytical Engines, her one organization
CHARLES = "charles@analytical-engines.example"  # member of Analytical Engines
GRACE = "grace@example.com"  # member of Analytical Engines, admin of Compilers & Co: she picks one
ALAN = "alan@example.com"  # belongs to no organization
ADA_ID = "user_01JDQ4V8K30000000000000ADA"
CHARLES_ID = "user_01JDQ4V8K3000000000000CBAB"
ENGINES = "org_01JDQ4V8K300000000000ENGNS"
COMPILERS = "org_01JDQ4V8K300000000000CMPRS"


async def sign_in(
    client: httpx.AsyncClient,
    workos: WorkOSEmulator,
    *,
    email: str = ADA,
    organization_id: str | None = None,
    return_to: str | None = None,
) -> httpx.Response:
    """The callback's response: its redirect home, with the session cookie (now in `client`'s jar)."""
    login = await client.get("/auth/login", params={"return_to": return_to} if return_to else None)
    assert login.status_code == 302, login.text
    back_to_the_app = await workos.authorize(
        login.headers["location"], email=email, organization_id=organization_id
    )
    return await client.get(back_to_the_app)


async def callback_url(client: httpx.AsyncClient, workos: WorkOSEmulator, *, email: str = ADA) -> str:
    """Halfway: the URL AuthKit sends the browser back to (code and state), the sign-in cookie in
    `client`'s jar. For a test to come back with something else, or not at all."""
    login = await client.get("/auth/login")
    return await workos.authorize(login.headers["location"], email=email)


async def signed_in_cookie(client: httpx.AsyncClient, workos: WorkOSEmulator, **who: str) -> str:
    """A session cookie's value (the session's id), for a test to replay as it likes. Signed in from a
    browser of its own: signing in again in the same browser would end its previous session."""
    client.cookies.clear()
    response = await sign_in(client, workos, **who)
    assert response.status_code == 303, response.text
    return response.cookies["__Host-session"]


def session_of(client: httpx.AsyncClient) -> dict[str, str]:
    """The `Cookie` header of the client's session: for another instance of the app to be called with.
    Every instance reads sessions from the same Redis, so the session works on all of them."""
    return {"cookie": f"__Host-session={client.cookies['__Host-session']}"}
