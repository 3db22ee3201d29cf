"""WorkOS down, slow, failing or refusing: a clear 503 (or 400) in bounded time, never a 500, nothing
half-written, and back to normal without a restart."""

import asyncio
import socket
import time
from collections.abc import Awaitable

import httpx
from sqlalchemy import Connection, text
from workshop.testing import app_client
from workshop.workos_emulator import WorkOSEmulator

from app.main import create_app
from app.settings import Settings
from tests.signing_in import ADA, callback_url, sign_in

UNAVAILABLE = {"detail": "WorkOS is unavailable; try again in a moment."}


def closed_port() -> int:
    """A port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_workos_failing_at_the_callback_is_a_503_and_writes_nothing(
    client: httpx.AsyncClient, workos: WorkOSEmulator, db: Connection
) -> None:
    url = await callback_url(client, workos)
    workos.behaviour.fail_status = 503

    response = await client.get(url)

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert db.execute(text("SELECT count(*) FROM users")).scalar() == 0


async def test_workos_hanging_at_the_callback_is_a_503_after_the_timeout(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    url = await callback_url(client, workos)
    workos.behaviour.hang = True

    started = time.monotonic()
    response = await client.get(url)
    waited = time.monotonic() - started

    assert response.status_code == 503
    assert 1 <= waited < 3  # the setting says 1 s; the SDK's default would be 60 s, times 4 tries


async def test_workos_unreachable_at_the_callback_is_a_503(
    client: httpx.AsyncClient, workos: WorkOSEmulator, settings: Settings
) -> None:
    url = await callback_url(client, workos)
    unreachable = settings.model_copy(update={"workos_base_url": f"http://127.0.0.1:{closed_port()}"})

    async with app_client(create_app(unreachable)) as other_instance:
        other_instance.cookies = (
            client.cookies
        )  # the same browser, served by an instance that cannot reach WorkOS
        response = await other_instance.get(url)

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE


async def test_workos_refusing_the_grant_is_a_400(client: httpx.AsyncClient, workos: WorkOSEmulator) -> None:
    url = await callback_url(client, workos)
    workos.behaviour.invalid_grant = True

    response = await client.get(url)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("WorkOS refused the sign-in:")


async def test_signing_in_works_again_once_workos_is_back(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    workos.behaviour.fail_status = 503
    assert (await sign_in(client, workos, email=ADA)).status_code == 503

    workos.behaviour.fail_status = None
    response = await sign_in(client, workos, email=ADA)

    assert response.status_code == 303
    assert (await client.get("/v1/me")).json()["email"] == ADA


async def test_signing_keys_unreachable_is_a_503_until_they_are_back(
    client: httpx.AsyncClient, workos: WorkOSEmulator, settings: Settings
) -> None:
    """The SDK lets PyJWT's `PyJWKClientConnectionError` through: the adapter makes it a 503.

    A fresh instance (another app on the same settings) has no keys cached yet."""
    async with app_client(create_app(settings)) as fresh_instance:
        url = await callback_url(client, workos)
        fresh_instance.cookies = client.cookies  # the same browser, served by another instance
        workos.behaviour.jwks_fail_status = 503
        down = await fresh_instance.get(url)

        workos.behaviour.jwks_fail_status = None
        url = await callback_url(client, workos)  # signing in again: the first code is spent
        fresh_instance.cookies = client.cookies
        back = await fresh_instance.get(url)

    assert down.status_code == 503
    assert down.json() == UNAVAILABLE
    assert back.status_code == 303


async def test_fetching_the_signing_keys_does_not_stall_other_requests(
    client: httpx.AsyncClient, workos: WorkOSEmulator, settings: Settings
) -> None:
    """The SDK's `authenticate()` is synchronous and, with no keys cached, fetches them (blocking I/O).
    The adapter runs it in a thread, so a request that needs no WorkOS is served meanwhile."""
    url = await callback_url(client, workos)
    workos.behaviour.latency = 0.5  # every answer from WorkOS, the keys included, takes half a second

    async with app_client(create_app(settings)) as fresh_instance:
        fresh_instance.cookies = client.cookies
        started = time.monotonic()

        async def seconds_until_answered(request: Awaitable[httpx.Response]) -> float:
            await request
            return time.monotonic() - started

        waited_for_workos, waited_meanwhile = await asyncio.gather(
            seconds_until_answered(fresh_instance.get(url)),  # the code, the keys, the organization
            seconds_until_answered(fresh_instance.get("/v1/usage?limit=1")),  # needs no WorkOS
        )

    assert waited_for_workos >= 1.5
    assert waited_meanwhile < 0.25
