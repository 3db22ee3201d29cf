"""Cross-site request forgery: a request that changes something, sent by another site's page with the
browser's session cookie, is refused; the same request from this site goes through."""

import httpx
import pytest
from workshop.workos_emulator import WorkOSEmulator

from tests.signing_in import ADA, signed_in_cookie


@pytest.mark.parametrize(
    "where_from",
    [{"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"}, {"origin": "https://evil.example"}],
    ids=["cross-site", "a-sibling-subdomain", "origin-only"],
)
async def test_a_cross_site_post_with_the_session_cookie_is_refused(
    client: httpx.AsyncClient, workos: WorkOSEmulator, where_from: dict[str, str]
) -> None:
    session_id = await signed_in_cookie(client, workos, email=ADA)
    client.cookies.clear()
    cookie = {"cookie": f"__Host-session={session_id}"}

    refused = await client.post("/auth/logout", headers=cookie | where_from)

    assert refused.status_code == 403
    assert refused.json() == {"detail": "A request from another site may not change anything here."}
    assert (await client.get("/v1/me", headers=cookie)).status_code == 200  # still signed in


@pytest.mark.parametrize(
    "where_from",
    [{"sec-fetch-site": "same-origin"}, {"origin": "https://app.test"}, {}],
    ids=["same-origin", "own-origin", "no-browser"],
)
async def test_the_same_post_from_this_site_goes_through(
    client: httpx.AsyncClient, workos: WorkOSEmulator, where_from: dict[str, str]
) -> None:
    session_id = await signed_in_cookie(client, workos, email=ADA)
    client.cookies.clear()

    response = await client.post(
        "/auth/logout", headers={"cookie": f"__Host-session={session_id}"} | where_from
    )

    assert response.status_code == 303


async def test_without_a_session_cookie_there_is_nothing_to_forge(client: httpx.AsyncClient) -> None:
    chat = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello"}]}

    response = await client.post("/v1/chat", json=chat, headers={"sec-fetch-site": "cross-site"})

    # No cookie, no ambient authority to forge: the request passes the check, and is refused as anyone's
    # without a session would be.
    assert response.status_code == 401
