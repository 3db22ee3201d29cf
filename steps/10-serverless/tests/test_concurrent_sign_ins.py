"""Fifty first sign-ins of the same new user at once: one user, one organization, one membership, and
fifty sessions. The upserts (`INSERT … ON CONFLICT DO UPDATE`) make it so, not luck."""

import asyncio

import httpx
from sqlalchemy import Connection, text
from workshop.workos_emulator import WorkOSEmulator

from tests.signing_in import ADA

BROWSERS = 50


async def started_sign_in(client: httpx.AsyncClient, workos: WorkOSEmulator) -> tuple[str, str]:
    """One browser's callback URL and sign-in cookie, ready to come back to the app."""
    login = await client.get("/auth/login")
    callback_url = await workos.authorize(login.headers["location"], email=ADA)
    return callback_url, login.cookies["wos_sign_in"]


async def test_fifty_first_sign_ins_at_once_make_one_user_and_fifty_sessions(
    client: httpx.AsyncClient, workos: WorkOSEmulator, db: Connection
) -> None:
    browsers = [await started_sign_in(client, workos) for _ in range(BROWSERS)]
    client.cookies.clear()  # each callback below carries its own browser's cookie, and only it

    callbacks = await asyncio.gather(
        *(client.get(url, headers={"cookie": f"wos_sign_in={cookie}"}) for url, cookie in browsers)
    )

    assert [response.status_code for response in callbacks] == [303] * BROWSERS
    assert db.execute(text("SELECT count(*) FROM users")).scalar() == 1
    assert db.execute(text("SELECT count(*) FROM organizations")).scalar() == 1
    assert db.execute(text("SELECT count(*) FROM memberships")).scalar() == 1
    session_ids = {response.cookies["__Host-session"] for response in callbacks}
    assert len(session_ids) == BROWSERS
    client.cookies.clear()
    listed = await client.get("/v1/sessions", headers={"cookie": f"__Host-session={session_ids.pop()}"})
    assert len(listed.json()) == BROWSERS  # every one of them a live session of Ada's, in Redis
