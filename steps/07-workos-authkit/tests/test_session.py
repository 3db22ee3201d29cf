"""The sealed session cookie at work: checked on every request, refreshed when its token expires, ended
by logout — and what it cannot do: a copy of it outlives the logout."""

import asyncio
import time
from urllib.parse import parse_qs, urlsplit

import httpx
from workshop.workos_emulator import WorkOSEmulator

from tests.signing_in import ADA, sign_in, signed_in_cookie


async def me_with(client: httpx.AsyncClient, cookie: str) -> httpx.Response:
    """`GET /v1/me` with this cookie only, as a browser holding a copy of it would send it."""
    client.cookies.clear()
    return await client.get("/v1/me", headers={"cookie": f"wos_session={cookie}"})


async def test_an_expired_access_token_is_refreshed_and_the_cookie_replaced(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    workos.behaviour.access_token_ttl = 1
    cookie = await signed_in_cookie(client, workos, email=ADA)
    session_id = (await me_with(client, cookie)).json()["session_id"]
    await asyncio.sleep(1.05)  # past the token's `exp`

    response = await me_with(client, cookie)

    assert response.status_code == 200
    assert response.json()["session_id"] == session_id  # the same session, with a new access token
    refreshed = response.cookies["wos_session"]
    assert refreshed != cookie
    assert (await me_with(client, refreshed)).status_code == 200


async def test_a_refresh_token_is_spent_once(client: httpx.AsyncClient, workos: WorkOSEmulator) -> None:
    """The cookie from before a refresh holds a refresh token WorkOS already took: it is dead."""
    workos.behaviour.access_token_ttl = 1
    cookie = await signed_in_cookie(client, workos, email=ADA)
    await asyncio.sleep(1.05)
    assert (await me_with(client, cookie)).status_code == 200  # refreshed

    replayed = await me_with(client, cookie)

    assert replayed.status_code == 401
    assert replayed.json() == {"detail": "The session has ended."}


async def test_logout_clears_the_cookie_and_ends_the_session_at_workos(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    await sign_in(client, workos, email=ADA)
    session_id = (await client.get("/v1/me")).json()["session_id"]

    response = await client.post("/auth/logout")

    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert (
        f"{location.scheme}://{location.netloc}{location.path}"
        == f"{workos.base_url}/user_management/sessions/logout"
    )
    assert parse_qs(location.query) == {"session_id": [session_id], "return_to": ["https://app.test/"]}
    assert 'wos_session=""; expires=' in response.headers["set-cookie"]
    assert (await client.get("/v1/me")).status_code == 401  # the browser's cookie is gone

    async with httpx.AsyncClient() as browser:  # follows the redirect to WorkOS, as a browser does
        at_workos = await browser.get(response.headers["location"])
    assert at_workos.status_code == 302 and at_workos.headers["location"] == "https://app.test/"
    assert not workos.session_is_active(session_id)


async def test_logout_without_a_session_just_goes_home(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/logout", headers={"cookie": "wos_session=garbage"})

    assert response.status_code == 303
    assert response.headers["location"] == "https://app.test/"


async def test_a_copy_of_the_cookie_outlives_logout_until_its_access_token_expires(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    """What a sealed cookie cannot do. Nothing on our side remembers the session, so a copy taken before
    logout (by malware, from a shared computer, from a log) still authenticates: its access token
    verifies on its own. Only when the token expires does the app ask WorkOS, which says no.

    The window is the access token's remaining life: 5 minutes by default at WorkOS; 2 s here. Step 08
    closes it."""
    workos.behaviour.access_token_ttl = 2
    copy = await signed_in_cookie(client, workos, email=ADA)
    logout = await client.post("/auth/logout", headers={"cookie": f"wos_session={copy}"})
    async with httpx.AsyncClient() as browser:
        await browser.get(logout.headers["location"])  # the session is over at WorkOS
    logged_out_at = time.monotonic()

    replays = [await me_with(client, copy)]
    while replays[-1].status_code == 200:
        await asyncio.sleep(0.05)
        replays.append(await me_with(client, copy))
    window = time.monotonic() - logged_out_at

    print(f"a copied cookie still worked for {window:.2f} s after logout (access tokens live 2 s here)")
    assert replays[0].status_code == 200  # right after logout, the copy still works…
    assert replays[-1].status_code == 401  # …until its token expires and the refresh is refused
    assert replays[-1].json() == {"detail": "The session has ended."}
    assert 0.5 < window < 2.5
