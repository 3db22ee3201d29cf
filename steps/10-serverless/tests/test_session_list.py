"""Your sessions, listed, and ended one at a time or all at once: at once, everywhere."""

import httpx
from workshop.workos_emulator import WorkOSEmulator

from app.session_store import handle_of
from tests.signing_in import ADA, GRACE, signed_in_cookie


async def as_browser(client: httpx.AsyncClient, method: str, url: str, session_id: str) -> httpx.Response:
    client.cookies.clear()
    return await client.request(method, url, headers={"cookie": f"__Host-session={session_id}"})


async def test_you_see_each_of_your_sessions_and_which_one_is_this(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    laptop = await signed_in_cookie(client, workos, email=ADA)
    phone = await signed_in_cookie(client, workos, email=ADA)
    await signed_in_cookie(client, workos, email=GRACE)  # someone else's: not listed

    listed = (await as_browser(client, "GET", "/v1/sessions", laptop)).json()

    assert {s["handle"]: s["current"] for s in listed} == {handle_of(laptop): True, handle_of(phone): False}
    assert all(s["user_agent"].startswith("python-httpx/") for s in listed)
    assert all(s["created_at"] <= s["last_seen_at"] for s in listed)
    assert laptop not in str(listed) and phone not in str(listed)  # handles, never ids


async def test_ending_one_session_signs_out_that_browser_only(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    laptop = await signed_in_cookie(client, workos, email=ADA)
    stolen = await signed_in_cookie(client, workos, email=ADA)

    ended = await as_browser(client, "DELETE", f"/v1/sessions/{handle_of(stolen)}", laptop)

    assert ended.json() == {"ended": 1}
    assert (await as_browser(client, "GET", "/v1/me", stolen)).status_code == 401
    assert (await as_browser(client, "GET", "/v1/me", laptop)).status_code == 200


async def test_ending_all_sessions_signs_out_everywhere(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    laptop = await signed_in_cookie(client, workos, email=ADA)
    phone = await signed_in_cookie(client, workos, email=ADA)
    graces = await signed_in_cookie(client, workos, email=GRACE)

    ended = await as_browser(client, "DELETE", "/v1/sessions", laptop)

    assert ended.json() == {"ended": 2}
    assert '__Host-session=""; expires=' in ended.headers["set-cookie"]  # this browser's, cleared
    assert (await as_browser(client, "GET", "/v1/me", laptop)).status_code == 401
    assert (await as_browser(client, "GET", "/v1/me", phone)).status_code == 401
    assert (await as_browser(client, "GET", "/v1/me", graces)).status_code == 200


async def test_nobody_ends_another_users_session(client: httpx.AsyncClient, workos: WorkOSEmulator) -> None:
    adas = await signed_in_cookie(client, workos, email=ADA)
    graces = await signed_in_cookie(client, workos, email=GRACE)

    refused = await as_browser(client, "DELETE", f"/v1/sessions/{handle_of(adas)}", graces)

    assert refused.status_code == 404
    assert refused.json() == {"detail": "You have no session with that handle."}
    assert (await as_browser(client, "GET", "/v1/me", adas)).status_code == 200
