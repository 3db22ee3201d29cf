"""The session in Redis at work: checked with WorkOS once per access token (by one request at a time),
ended at once by logout, moved to another organization under a new id."""

import asyncio

import httpx
import redis
from workos import WorkOSClient
from workshop.testing import TestApp, app_client
from workshop.workos_emulator import WorkOSEmulator

from app.main import create_app
from app.services import sessions
from app.session_store import handle_of
from app.settings import Settings
from tests.signing_in import ADA, COMPILERS, ENGINES, GRACE, signed_in_cookie

REFRESH = ("POST", "/user_management/authenticate")


async def me_with(client: httpx.AsyncClient, session_id: str) -> httpx.Response:
    """`GET /v1/me` with this session id only, as a browser holding a copy of the cookie would send it."""
    client.cookies.clear()
    return await client.get("/v1/me", headers={"cookie": f"__Host-session={session_id}"})


def access_token_expired(redis_db: redis.Redis, session_id: str) -> None:
    """As if the access token had expired: the next request must ask WorkOS about the session."""
    redis_db.hset(f"session:{handle_of(session_id)}", "access_expires_at", 0)


async def test_once_the_access_token_expires_workos_is_asked_again(
    client: httpx.AsyncClient, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    session_id = await signed_in_cookie(client, workos, email=ADA)
    refresh_token = redis_db.hget(f"session:{handle_of(session_id)}", "refresh_token")
    access_token_expired(redis_db, session_id)
    workos.calls.clear()

    response = await me_with(client, session_id)

    assert response.status_code == 200
    assert workos.calls.count(REFRESH) == 1
    stored = redis_db.hgetall(f"session:{handle_of(session_id)}")
    assert stored["refresh_token"] != refresh_token  # spent, and replaced
    assert int(stored["access_expires_at"]) > 0
    assert "set-cookie" not in response.headers  # the id stays: only what Redis holds changed


async def test_a_session_workos_revoked_ends_here_at_the_next_check(
    client: httpx.AsyncClient, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    session_id = await signed_in_cookie(client, workos, email=ADA)
    workos_session_id = redis_db.hget(f"session:{handle_of(session_id)}", "workos_session_id")
    sdk = WorkOSClient(api_key=workos.api_key, client_id=workos.client_id, base_url=workos.base_url)
    sdk.user_management.revoke_session(session_id=str(workos_session_id))  # an admin, at WorkOS
    access_token_expired(redis_db, session_id)

    response = await me_with(client, session_id)

    assert response.status_code == 401
    assert response.json() == {"detail": "The session has ended."}
    assert not redis_db.exists(f"session:{handle_of(session_id)}")


async def test_concurrent_requests_at_expiry_spend_the_refresh_token_once(
    client: httpx.AsyncClient, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    """Refresh tokens are single-use: without the lock, every request but one would be refused by
    WorkOS, and the session would end for the user."""
    session_id = await signed_in_cookie(client, workos, email=ADA)
    access_token_expired(redis_db, session_id)
    workos.behaviour.latency = 0.2  # the first refresh is still under way when the others arrive
    workos.calls.clear()
    client.cookies.clear()

    responses = await asyncio.gather(
        *(client.get("/v1/me", headers={"cookie": f"__Host-session={session_id}"}) for _ in range(10))
    )

    assert [response.status_code for response in responses] == [200] * 10
    assert workos.calls.count(REFRESH) == 1
    assert (await me_with(client, session_id)).status_code == 200


async def test_logout_ends_the_session_at_once_even_for_a_copy_of_the_cookie(
    client: httpx.AsyncClient, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    """Step 07's window, measured again: a copy of the cookie taken before logout is refused by the
    very next request. Zero seconds, whatever the access token's life."""
    copy = await signed_in_cookie(client, workos, email=ADA)
    workos_session_id = str(redis_db.hget(f"session:{handle_of(copy)}", "workos_session_id"))

    logout = await client.post("/auth/logout", headers={"cookie": f"__Host-session={copy}"})
    replayed = await me_with(client, copy)

    assert logout.status_code == 303 and logout.headers["location"] == "/"
    assert '__Host-session=""; expires=' in logout.headers["set-cookie"]
    assert replayed.status_code == 401
    assert not redis_db.exists(f"session:{handle_of(copy)}")
    assert not workos.session_is_active(workos_session_id)  # ended at WorkOS too


async def test_logout_without_a_session_just_goes_home(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/logout", headers={"cookie": "__Host-session=garbage"})

    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_switching_organization_rotates_the_session_id(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    old = await signed_in_cookie(client, workos, email=GRACE, organization_id=ENGINES)
    assert (await me_with(client, old)).json()["role"] == "member"

    switched = await client.post(
        "/auth/organization",
        params={"organization_id": COMPILERS},
        headers={"cookie": f"__Host-session={old}"},
    )

    assert switched.status_code == 204
    new = switched.cookies["__Host-session"]
    assert new != old
    assert (await me_with(client, old)).status_code == 401  # a privilege change: the old id opens nothing
    me = (await me_with(client, new)).json()
    assert (me["organization_id"], me["role"]) == (COMPILERS, "admin")


async def test_switching_to_an_organization_you_are_not_in_is_a_403(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    session_id = await signed_in_cookie(client, workos, email=ADA)
    client.cookies.clear()

    refused = await client.post(
        "/auth/organization",
        params={"organization_id": COMPILERS},
        headers={"cookie": f"__Host-session={session_id}"},
    )

    assert refused.status_code == 403
    assert refused.json() == {"detail": f"You are not a member of organization {COMPILERS}."}
    assert (await me_with(client, session_id)).json()["organization_id"] == ENGINES  # untouched


async def test_every_instance_sees_the_same_sessions(
    client: httpx.AsyncClient, workos: WorkOSEmulator, settings: Settings
) -> None:
    """Why Redis: serverless instances share no memory. Signed in on one instance, signed out on
    another, refused by the first at once: the session lives in none of them."""
    session_id = await signed_in_cookie(client, workos, email=ADA)

    async with app_client(create_app(settings)) as another_instance:
        served_there = await me_with(another_instance, session_id)
        another_instance.cookies.clear()
        await another_instance.post("/auth/logout", headers={"cookie": f"__Host-session={session_id}"})

    assert served_there.json()["email"] == ADA
    assert (await me_with(client, session_id)).status_code == 401


async def test_a_request_that_read_the_session_before_a_refresh_spends_no_old_token(
    test_app: TestApp, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    """Request A reads the session; request B refreshes it (the lock is B's, then free again); A takes
    the lock. A must not spend the refresh token it read: WorkOS took that one from B already."""
    client, store, authkit = test_app.client, test_app.state["sessions"], test_app.state["authkit"]
    session_id = await signed_in_cookie(client, workos, email=ADA)
    access_token_expired(redis_db, session_id)
    read_by_a = await store.load(session_id)
    assert (await me_with(client, session_id)).status_code == 200  # B, refreshing
    workos.calls.clear()

    checked_by_a = await sessions.revalidate(store, authkit, read_by_a)

    assert checked_by_a.refresh_token != read_by_a.refresh_token  # B's, read again under the lock
    assert REFRESH not in workos.calls
    assert (await me_with(client, session_id)).status_code == 200


async def test_switching_organization_keeps_the_sessions_absolute_end(
    client: httpx.AsyncClient, workos: WorkOSEmulator, redis_db: redis.Redis
) -> None:
    old = await signed_in_cookie(client, workos, email=GRACE, organization_id=ENGINES)
    ends_at = int(redis_db.hget(f"session:{handle_of(old)}", "ends_at") or 0) - 3600  # signed in an hour ago
    redis_db.hset(f"session:{handle_of(old)}", "ends_at", ends_at)

    switched = await client.post(
        "/auth/organization",
        params={"organization_id": COMPILERS},
        headers={"cookie": f"__Host-session={old}"},
    )

    new = switched.cookies["__Host-session"]
    assert int(redis_db.hget(f"session:{handle_of(new)}", "ends_at") or 0) == ends_at
