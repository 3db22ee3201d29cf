"""A callback that cannot complete is a 400 with a reason, and writes nothing; a bad cookie is a 401."""

import secrets
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import Connection, text
from workshop.workos_emulator import WorkOSEmulator

from tests.signing_in import ADA, callback_url, signed_in_cookie


def nobody_recorded(db: Connection) -> bool:
    return all(
        db.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
        for table in ("users", "organizations", "memberships")
    )


async def test_a_callback_without_a_code_is_refused(client: httpx.AsyncClient, db: Connection) -> None:
    response = await client.get("/auth/callback", params={"state": "whatever"})

    assert response.status_code == 400
    assert response.json() == {"detail": "The callback has no code: start signing in at /auth/login."}
    assert nobody_recorded(db)


async def test_a_state_that_does_not_match_is_refused(
    client: httpx.AsyncClient, workos: WorkOSEmulator, db: Connection
) -> None:
    url = await callback_url(client, workos)

    response = await client.get(url.replace("state=", "state=x"))

    assert response.status_code == 400
    assert "its state does not match" in response.json()["detail"]
    assert nobody_recorded(db)


async def test_a_callback_in_another_browser_is_refused(
    client: httpx.AsyncClient, workos: WorkOSEmulator, db: Connection
) -> None:
    """Login CSRF: an attacker starts a sign-in, and sends its callback URL to a victim. The victim's
    browser has no sign-in cookie of that sign-in, so the state cannot match."""
    url = await callback_url(client, workos)
    client.cookies.clear()  # the victim's browser

    response = await client.get(url)

    assert response.status_code == 400
    assert "not started from this browser" in response.json()["detail"]
    assert nobody_recorded(db)


async def test_an_unknown_code_is_refused(
    client: httpx.AsyncClient, workos: WorkOSEmulator, db: Connection
) -> None:
    url = await callback_url(client, workos)
    code = url.split("code=")[1].split("&")[0]

    response = await client.get(url.replace(code, "01JDQZZZZZZZZZZZZZZZZZZZZZ"))

    assert response.status_code == 400
    assert response.json()["detail"].startswith("WorkOS refused the sign-in:")
    assert nobody_recorded(db)


async def test_a_code_used_twice_is_refused_the_second_time(
    client: httpx.AsyncClient, workos: WorkOSEmulator, db: Connection
) -> None:
    url = await callback_url(client, workos)
    sign_in_cookie = client.cookies["wos_sign_in"]
    first = await client.get(url)
    client.cookies.clear()
    client.cookies.set("wos_sign_in", sign_in_cookie, domain="app.test", path="/auth/callback")  # a replay

    second = await client.get(url)

    assert first.status_code == 303
    assert second.status_code == 400
    assert "WorkOS refused the sign-in" in second.json()["detail"]
    assert db.execute(text("SELECT count(*) FROM users")).scalar() == 1  # the first sign-in's, alone


async def test_authkit_reporting_an_error_is_a_400_with_its_reason(
    client: httpx.AsyncClient, db: Connection
) -> None:
    response = await client.get(
        "/auth/callback", params={"error": "access_denied", "error_description": "The user cancelled."}
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "AuthKit could not sign you in: The user cancelled."}
    assert nobody_recorded(db)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda session_id: "garbage",
        lambda session_id: session_id[: len(session_id) // 2],  # truncated
        lambda session_id: session_id[:-1] + ("A" if not session_id.endswith("A") else "B"),  # one change
        lambda session_id: secrets.token_urlsafe(32),  # well-formed, but never issued
        lambda session_id: "",
    ],
    ids=["garbage", "truncated", "tampered", "never-issued", "empty"],
)
async def test_a_bad_session_cookie_is_a_401_and_is_cleared(
    client: httpx.AsyncClient, workos: WorkOSEmulator, spoil: Callable[[str], str]
) -> None:
    session_id = await signed_in_cookie(client, workos, email=ADA)
    client.cookies.clear()
    spoiled = spoil(session_id)

    response = await client.get("/v1/me", headers={"cookie": f"__Host-session={spoiled}"})

    assert response.status_code == 401
    assert response.json() == {"detail": "Not signed in."}
    if spoiled:
        assert '__Host-session=""; expires=' in response.headers["set-cookie"]  # cleared


async def test_no_cookie_at_all_is_a_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/me")

    assert response.status_code == 401
    assert response.json() == {"detail": "Not signed in."}
    assert "set-cookie" not in response.headers
