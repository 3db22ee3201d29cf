"""Signing in with AuthKit: the redirect out, the callback, the cookie, and who gets recorded."""

from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import Connection, text
from workshop.workos_emulator import WorkOSEmulator

from tests.signing_in import ADA, COMPILERS, ENGINES, GRACE, sign_in


def set_cookie(response: httpx.Response, name: str) -> dict[str, str | bool]:
    """The attributes the response sets `name` with, as a browser reads them (lowercased names)."""
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie(header)
        if name in cookie:
            morsel = cookie[name]
            return {
                key: morsel[key] for key in ("path", "secure", "httponly", "samesite", "max-age", "domain")
            }
    raise AssertionError(f"no Set-Cookie for {name}")


async def test_login_sends_the_browser_to_authkit_with_pkce_and_state(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    response = await client.get("/auth/login")

    assert response.status_code == 302
    url = urlsplit(response.headers["location"])
    query = parse_qs(url.query)
    assert f"{url.scheme}://{url.netloc}" == workos.base_url
    assert url.path == "/user_management/authorize"
    assert query["redirect_uri"] == ["https://app.test/auth/callback"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43  # base64url of a SHA-256, unpadded
    assert len(query["state"][0]) >= 43
    # The state and the verifier stay with this browser: sealed, for the callback only, for 10 minutes.
    assert set_cookie(response, "wos_sign_in") == {
        "path": "/auth/callback",
        "secure": True,
        "httponly": True,
        "samesite": "lax",
        "max-age": "600",
        "domain": "",
    }
    assert query["state"][0] not in response.headers["set-cookie"]


async def test_signing_in_sets_the_session_cookie_and_goes_home(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    response = await sign_in(client, workos, email=ADA)

    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert set_cookie(response, "__Host-session") == {
        "path": "/",
        "secure": True,
        "httponly": True,
        "samesite": "lax",
        "max-age": "28800",  # the session's absolute timeout: 8 hours
        "domain": "",  # this host only: `__Host-` cookies may not name a domain
    }


async def test_me_shows_the_user_their_organization_and_role(
    client: httpx.AsyncClient, workos: WorkOSEmulator
) -> None:
    await sign_in(client, workos, email=ADA)

    response = await client.get("/v1/me")

    assert response.status_code == 200
    assert response.json() == {
        "user_id": "user_01JDQ4V8K30000000000000ADA",
        "email": ADA,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "organization_id": ENGINES,
        "role": "admin",
        "permissions": ["usage:read", "usage:read-organization"],
    }


async def test_signing_in_records_the_user_organization_and_membership(
    client: httpx.AsyncClient, workos: WorkOSEmulator, db: Connection
) -> None:
    await sign_in(client, workos, email=GRACE, organization_id=COMPILERS)

    assert db.execute(text("SELECT id, email, first_name, last_name FROM users")).all() == [
        ("user_01JDQ4V8K3000000000000GRCE", GRACE, "Grace", "Hopper")
    ]
    assert db.execute(text("SELECT id, name FROM organizations")).all() == [(COMPILERS, "Compilers & Co")]
    assert db.execute(text("SELECT user_id, organization_id, role FROM memberships")).all() == [
        ("user_01JDQ4V8K3000000000000GRCE", COMPILERS, "admin")
    ]


async def test_signing_in_again_updates_rather_than_duplicates(
    client: httpx.AsyncClient, workos: WorkOSEmulator, db: Connection
) -> None:
    await sign_in(client, workos, email=GRACE, organization_id=COMPILERS)
    await sign_in(client, workos, email=GRACE, organization_id=ENGINES)
    await sign_in(client, workos, email=GRACE, organization_id=ENGINES)

    assert db.execute(text("SELECT count(*) FROM users")).scalar() == 1
    assert db.execute(text("SELECT organization_id, role FROM memberships ORDER BY role")).all() == [
        (COMPILERS, "admin"),
        (ENGINES, "member"),
    ]


@pytest.mark.parametrize("path", ["/v1/usage?limit=5", "/v1/me", "/"])
async def test_return_to_a_path_of_this_site_is_honoured(
    client: httpx.AsyncClient, workos: WorkOSEmulator, path: str
) -> None:
    response = await sign_in(client, workos, return_to=path)

    assert response.headers["location"] == path


@pytest.mark.parametrize(
    "elsewhere",
    [
        "https://evil.example/",
        "//evil.example/",  # scheme-relative: another host to a browser
        "/\\evil.example/",  # browsers read a backslash as a slash
        "javascript:alert(1)",
        "evil.example",
        "/home\r\nSet-Cookie: x=1",
    ],
)
async def test_return_to_another_site_is_ignored(
    client: httpx.AsyncClient, workos: WorkOSEmulator, elsewhere: str
) -> None:
    response = await sign_in(client, workos, return_to=elsewhere)

    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_the_home_page_says_who_is_signed_in(client: httpx.AsyncClient, workos: WorkOSEmulator) -> None:
    signed_out = await client.get("/")
    await sign_in(client, workos, email=ADA)
    signed_in = await client.get("/")

    assert "You are signed out" in signed_out.text and 'href="/auth/login"' in signed_out.text
    assert f"Signed in as <strong>{ADA}</strong> (admin in {ENGINES})" in signed_in.text
    assert 'action="/auth/logout"' in signed_in.text
