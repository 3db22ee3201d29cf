"""The WorkOS emulator's contract: the real `workos` SDK, pointed at it, gets what WorkOS would give it.

Everything goes through the SDK (`WorkOSClient` and `AsyncWorkOSClient`, no retries), and what a browser
does goes through plain httpx. The tests that take `target` run against the real WorkOS too, when
WORKOS_API_KEY and WORKOS_CLIENT_ID are set (and WORKOS_REDIRECT_URI, if the environment's redirect URI
is not `http://localhost:3000/callback`): that is how we know the emulator answers as WorkOS does.

One emulator serves the whole run (the kit's `workos` fixture, reset for each test): the SDK keeps
the key set it fetched for each URL for the whole process, so a second emulator on the same URL with
another key would fail every token check.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import stat
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.fernet import Fernet
from workos import (
    AsyncWorkOSClient,
    AuthenticationError,
    AuthorizationError,
    BadRequestError,
    NotFoundError,
    ServerError,
    WorkOSClient,
    create_public_client,
)
from workos._errors import WorkOSTimeoutError  # the package does not export it (workos 10.8)
from workos.session import (
    AuthenticateWithSessionCookieFailureReason,
    AuthenticateWithSessionCookieSuccessResponse,
    RefreshWithSessionCookieSuccessResponse,
    Session,
    _get_jwks_client,
    seal_session_from_auth_response,
)
from workos.user_management.models import AuthenticateResponse
from workshop.server import serve_in_thread
from workshop.workos_emulator import EXAMPLE_SEEDS, WorkOSEmulator, load_seeds

ADA = "user_01JC0000000000000000000ADA"  # admin of Analytical Engines, her only organization
GRACE = "user_01JC00000000000000000GRACE"  # admin of the Harvard lab, member of Analytical Engines
ENGINES = "org_01JC000000000000000ENG1NES"
HARVARD = "org_01JC000000000000000HARVARD"
NOBODY = "user_01JC0000000000000NEVERMADE"  # well-formed, but nobody has it
REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"
COOKIE_PASSWORD = Fernet.generate_key().decode()  # the SDK seals cookies with Fernet: it must be a Fernet key


# ---- against the emulator, or the real WorkOS ------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    api_key: str
    client_id: str
    base_url: str | None  # None: the SDK's default, the real WorkOS
    redirect_uri: str


@pytest.fixture(params=["emulator", "workos"])
def target(request: pytest.FixtureRequest) -> Target:
    if request.param == "emulator":
        emulator: WorkOSEmulator = request.getfixturevalue("workos")
        return Target(emulator.api_key, emulator.client_id, emulator.base_url, REDIRECT_URI)
    api_key, client_id = os.environ.get("WORKOS_API_KEY"), os.environ.get("WORKOS_CLIENT_ID")
    if not (api_key and client_id):
        pytest.skip("set WORKOS_API_KEY and WORKOS_CLIENT_ID to run the contract against the real WorkOS")
    redirect_uri = os.environ.get("WORKOS_REDIRECT_URI", "http://localhost:3000/callback")
    return Target(api_key, client_id, os.environ.get("WORKOS_BASE_URL"), redirect_uri)


@pytest.fixture
def sdk(target: Target) -> Iterator[WorkOSClient]:
    with WorkOSClient(
        api_key=target.api_key, client_id=target.client_id, base_url=target.base_url, max_retries=0
    ) as client:
        yield client


# ---- against the emulator ------------------------------------------------------------------------------


@pytest.fixture
def client(workos: WorkOSEmulator) -> Iterator[WorkOSClient]:
    with WorkOSClient(
        api_key=workos.api_key, client_id=workos.client_id, base_url=workos.base_url, max_retries=0
    ) as client:
        yield client


@pytest.fixture
async def async_client(workos: WorkOSEmulator) -> AsyncIterator[AsyncWorkOSClient]:
    async with AsyncWorkOSClient(
        api_key=workos.api_key, client_id=workos.client_id, base_url=workos.base_url, max_retries=0
    ) as client:
        yield client


async def sign_in(
    workos: WorkOSEmulator, client: WorkOSClient, email: str, organization_id: str | None = None
) -> AuthenticateResponse:
    """What an app's login and callback do: PKCE URL, the login page, then the code exchange."""
    pkce = client.user_management.get_authorization_url_with_pkce(
        redirect_uri=REDIRECT_URI, provider="authkit"
    )
    location = await workos.authorize(pkce["url"], email=email, organization_id=organization_id)
    return client.user_management.authenticate_with_code_pkce(
        code=code_in(location), code_verifier=pkce["code_verifier"]
    )


def code_in(location: str) -> str:
    [code] = parse_qs(urlsplit(location).query)["code"]
    return code


def sealed_session(client: WorkOSClient, auth: AuthenticateResponse) -> Session:
    """The app's session cookie, sealed and loaded again, as the app does on its next request."""
    cookie = seal_session_from_auth_response(
        access_token=auth.access_token,
        refresh_token=auth.refresh_token,
        user=auth.user.to_dict(),
        cookie_password=COOKIE_PASSWORD,
    )
    return client.user_management.load_sealed_session(session_data=cookie, cookie_password=COOKIE_PASSWORD)


def session_id_of(auth: AuthenticateResponse) -> str:
    sid: str = jwt.decode(auth.access_token, options={"verify_signature": False})["sid"]
    return sid


# ---- the login page ------------------------------------------------------------------------------------


async def test_the_login_page_is_a_form_that_sends_the_browser_back_with_a_code(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    pkce = client.user_management.get_authorization_url_with_pkce(
        redirect_uri=f"{REDIRECT_URI}?next=/usage", provider="authkit"
    )

    async with httpx.AsyncClient() as browser:
        page = await browser.get(pkce["url"])
        hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page.text))
        back = await browser.post(
            f"{workos.base_url}/user_management/authorize",
            data=hidden | {"user_id": ADA, "organization_id": ""},
        )

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert hidden["state"] == pkce["state"]  # carried through the form
    assert back.status_code == 302
    location = urlsplit(back.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["next"] == ["/usage"]  # the redirect URI's own query is kept
    assert query["state"] == [pkce["state"]]
    assert query["code"][0]


async def test_auto_with_a_login_hint_signs_in_without_the_form(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    url = client.user_management.get_authorization_url(
        redirect_uri=REDIRECT_URI, login_hint="ada@example.com", state="s1"
    )

    async with httpx.AsyncClient() as browser:
        back = await browser.get(f"{url}&auto=1")

    assert back.status_code == 302
    auth = client.user_management.authenticate_with_code(code=code_in(back.headers["location"]))
    assert auth.user.id == ADA


@pytest.mark.parametrize("redirect_uri", ["https://evil.example/callback", "javascript:alert(1)"])
async def test_a_redirect_uri_the_emulator_does_not_allow_gets_a_400_and_no_redirect(
    client: WorkOSClient, redirect_uri: str
) -> None:
    url = client.user_management.get_authorization_url(redirect_uri=redirect_uri, provider="authkit")

    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert "location" not in answer.headers


async def test_a_host_a_test_allows_is_redirected_to(workos: WorkOSEmulator, client: WorkOSClient) -> None:
    workos.allowed_redirect_hosts.add("app.test")  # the host of an app called in-process
    try:
        url = client.user_management.get_authorization_url_with_pkce(
            redirect_uri="https://app.test/auth/callback"
        )
        location = await workos.authorize(url["url"], email="ada@example.com")
    finally:
        workos.allowed_redirect_hosts.discard("app.test")

    assert location.startswith("https://app.test/auth/callback?code=")


async def test_the_authorization_url_opens_the_login(target: Target, sdk: WorkOSClient) -> None:
    pkce = sdk.user_management.get_authorization_url_with_pkce(
        redirect_uri=target.redirect_uri, provider="authkit"
    )

    async with httpx.AsyncClient() as browser:
        answer = await browser.get(pkce["url"])

    url = urlsplit(pkce["url"])
    query = parse_qs(url.query)
    assert url.path == "/user_management/authorize"
    assert query["response_type"] == ["code"] and query["client_id"] == [target.client_id]
    assert query["code_challenge_method"] == ["S256"] and query["redirect_uri"] == [target.redirect_uri]
    assert answer.status_code in (200, 302), answer.text  # the form here; a redirect to AuthKit there


# ---- exchanging a code -----------------------------------------------------------------------------------


async def test_a_pkce_sign_in_gives_a_session_with_the_organization_role_and_permissions(
    workos: WorkOSEmulator, async_client: AsyncWorkOSClient
) -> None:
    pkce = await async_client.user_management.get_authorization_url_with_pkce(
        redirect_uri=REDIRECT_URI, provider="authkit"
    )
    location = await workos.authorize(pkce["url"], email="ada@example.com")
    auth = await async_client.user_management.authenticate_with_code_pkce(
        code=code_in(location), code_verifier=pkce["code_verifier"]
    )
    cookie = seal_session_from_auth_response(
        access_token=auth.access_token,
        refresh_token=auth.refresh_token,
        user=auth.user.to_dict(),
        cookie_password=COOKIE_PASSWORD,
    )

    session = async_client.user_management.load_sealed_session(
        session_data=cookie, cookie_password=COOKIE_PASSWORD
    )
    result = session.authenticate()

    assert auth.user.id == ADA and auth.organization_id == ENGINES  # her only organization, chosen for her
    assert isinstance(result, AuthenticateWithSessionCookieSuccessResponse)
    assert result.organization_id == ENGINES
    assert result.role == "admin" and result.roles == ["admin"]
    assert result.permissions == ["usage:read-all", "usage:read-own"]
    assert result.user is not None and result.user["email"] == "ada@example.com"
    assert workos.session_is_active(result.session_id)
    assert ("POST", "/user_management/authenticate") in workos.calls


async def test_a_public_client_signs_in_with_the_pkce_verifier_alone(workos: WorkOSEmulator) -> None:
    public = create_public_client(client_id=workos.client_id, base_url=workos.base_url)
    pkce = public.user_management.get_authorization_url_with_pkce(redirect_uri=REDIRECT_URI)
    location = await workos.authorize(pkce["url"], email="charles@example.com")

    auth = public.user_management.authenticate_with_code_pkce(
        code=code_in(location), code_verifier=pkce["code_verifier"]
    )

    assert auth.user.email == "charles@example.com"


async def test_a_wrong_pkce_verifier_is_an_invalid_grant(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    pkce = client.user_management.get_authorization_url_with_pkce(redirect_uri=REDIRECT_URI)
    location = await workos.authorize(pkce["url"], email="ada@example.com")

    with pytest.raises(BadRequestError) as refused:
        client.user_management.authenticate_with_code_pkce(code=code_in(location), code_verifier="x" * 43)

    assert refused.value.error == "invalid_grant"


async def test_a_code_exchanged_with_the_client_secret_signs_in_to_the_organization_chosen(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    url = client.user_management.get_authorization_url(
        redirect_uri=REDIRECT_URI, state="xyz", login_hint="grace@example.com", organization_id=HARVARD
    )
    location = await workos.authorize(url, email="grace@example.com", organization_id=HARVARD)

    auth = client.user_management.authenticate_with_code(code=code_in(location))
    result = sealed_session(client, auth).authenticate()

    assert parse_qs(urlsplit(location).query)["state"] == ["xyz"]
    assert auth.organization_id == HARVARD
    assert isinstance(result, AuthenticateWithSessionCookieSuccessResponse)
    assert (result.organization_id, result.role) == (HARVARD, "admin")


async def test_a_user_of_several_organizations_who_picks_none_signs_in_to_none(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    auth = await sign_in(workos, client, "grace@example.com")

    result = sealed_session(client, auth).authenticate()

    assert auth.organization_id is None
    assert isinstance(result, AuthenticateWithSessionCookieSuccessResponse)
    assert (result.organization_id, result.role, result.permissions) == (None, None, None)


async def test_a_code_works_once(workos: WorkOSEmulator, client: WorkOSClient) -> None:
    pkce = client.user_management.get_authorization_url_with_pkce(redirect_uri=REDIRECT_URI)
    code = code_in(await workos.authorize(pkce["url"], email="ada@example.com"))
    client.user_management.authenticate_with_code_pkce(code=code, code_verifier=pkce["code_verifier"])

    with pytest.raises(BadRequestError) as refused:
        client.user_management.authenticate_with_code_pkce(code=code, code_verifier=pkce["code_verifier"])

    assert refused.value.error == "invalid_grant"


def test_an_unknown_code_is_an_invalid_grant(sdk: WorkOSClient) -> None:
    with pytest.raises(BadRequestError) as refused:
        sdk.user_management.authenticate_with_code(code="01JC00000000000000000000XX")

    assert refused.value.error == "invalid_grant"
    assert refused.value.request_id  # from the x-request-id header


def test_a_wrong_api_key_is_an_authentication_error(target: Target) -> None:
    with (
        WorkOSClient(
            api_key="sk_test_wrong", client_id=target.client_id, base_url=target.base_url, max_retries=0
        ) as wrong,
        pytest.raises(AuthenticationError),
    ):
        wrong.user_management.get_user(ADA)


# ---- refreshing, switching, expiring --------------------------------------------------------------------


async def test_a_refresh_token_works_once_and_keeps_the_session(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    auth = await sign_in(workos, client, "ada@example.com")

    refreshed = client.user_management.authenticate_with_refresh_token(refresh_token=auth.refresh_token)
    with pytest.raises(BadRequestError) as reused:
        client.user_management.authenticate_with_refresh_token(refresh_token=auth.refresh_token)

    assert session_id_of(refreshed) == session_id_of(auth)
    assert refreshed.refresh_token != auth.refresh_token
    assert reused.value.error == "invalid_grant"


async def test_a_refresh_switches_to_another_organization_of_the_user(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    session = sealed_session(client, await sign_in(workos, client, "grace@example.com", HARVARD))

    switched = session.refresh(organization_id=ENGINES)

    assert isinstance(switched, RefreshWithSessionCookieSuccessResponse)
    assert (switched.organization_id, switched.role, switched.permissions) == (
        ENGINES,
        "member",
        ["usage:read-own"],
    )
    after = session.authenticate()  # `refresh` re-sealed the session it holds
    assert isinstance(after, AuthenticateWithSessionCookieSuccessResponse)
    assert after.organization_id == ENGINES and after.session_id == switched.session_id


async def test_a_refresh_into_an_organization_of_others_is_forbidden(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    auth = await sign_in(workos, client, "ada@example.com")

    with pytest.raises(AuthorizationError) as refused:
        client.user_management.authenticate_with_refresh_token(
            refresh_token=auth.refresh_token, organization_id=HARVARD
        )

    assert refused.value.status_code == 403
    assert refused.value.code == "organization_not_authorized"


async def test_an_expired_access_token_is_an_invalid_jwt_and_a_refresh_renews_it(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    workos.behaviour.access_token_ttl = 0  # born expired: no need to wait
    session = sealed_session(client, await sign_in(workos, client, "ada@example.com"))

    expired = session.authenticate()
    workos.behaviour.access_token_ttl = 300
    refreshed = session.refresh()
    renewed = session.authenticate()

    assert not expired.authenticated
    assert getattr(expired, "reason", None) == AuthenticateWithSessionCookieFailureReason.INVALID_JWT
    assert isinstance(refreshed, RefreshWithSessionCookieSuccessResponse)
    assert isinstance(renewed, AuthenticateWithSessionCookieSuccessResponse)
    assert renewed.session_id == refreshed.session_id


async def test_tokens_carry_the_issuer_the_emulator_is_given(workos: WorkOSEmulator) -> None:
    def client_expecting(issuer: str) -> WorkOSClient:
        return WorkOSClient(
            api_key=workos.api_key, client_id=workos.client_id, base_url=workos.base_url, jwt_issuer=issuer
        )

    workos.issuer = "https://api.workos.com"
    try:
        with (
            client_expecting("https://api.workos.com") as checking,
            client_expecting("https://else.example") as other,
        ):
            auth = await sign_in(workos, checking, "ada@example.com")
            accepted = sealed_session(checking, auth).authenticate()
            refused = sealed_session(other, auth).authenticate()
    finally:
        workos.issuer = None  # not undone by `reset()`: it is configuration, like the seeds

    assert accepted.authenticated
    assert getattr(refused, "reason", None) == AuthenticateWithSessionCookieFailureReason.INVALID_JWT


# ---- ending a session ------------------------------------------------------------------------------------


async def test_the_logout_url_ends_the_session_and_returns_the_browser(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    auth = await sign_in(workos, client, "ada@example.com")
    logout_url = sealed_session(client, auth).get_logout_url(return_to="http://127.0.0.1:8000/signed-out")

    async with httpx.AsyncClient() as browser:
        answer = await browser.get(logout_url)

    assert answer.status_code == 302
    assert answer.headers["location"] == "http://127.0.0.1:8000/signed-out"
    assert not workos.session_is_active(session_id_of(auth))
    with pytest.raises(BadRequestError) as refused:
        client.user_management.authenticate_with_refresh_token(refresh_token=auth.refresh_token)
    assert refused.value.error == "invalid_grant"


async def test_a_logout_returning_to_a_foreign_host_is_refused(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    auth = await sign_in(workos, client, "ada@example.com")
    url = client.user_management.get_logout_url(
        session_id=session_id_of(auth), return_to="https://evil.example/"
    )

    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)

    assert answer.status_code == 400 and "location" not in answer.headers


async def test_a_revoked_session_cannot_be_refreshed(workos: WorkOSEmulator, client: WorkOSClient) -> None:
    auth = await sign_in(workos, client, "ada@example.com")

    client.user_management.revoke_session(session_id=session_id_of(auth))

    assert not workos.session_is_active(session_id_of(auth))
    with pytest.raises(BadRequestError) as refused:
        client.user_management.authenticate_with_refresh_token(refresh_token=auth.refresh_token)
    assert refused.value.error == "invalid_grant"


# ---- users, memberships, organizations ------------------------------------------------------------------


async def test_a_user_is_as_seeded_and_remembers_the_last_sign_in(
    workos: WorkOSEmulator, client: WorkOSClient, async_client: AsyncWorkOSClient
) -> None:
    before = await async_client.user_management.get_user(ADA)
    await sign_in(workos, client, "ada@example.com")
    after = await async_client.user_management.get_user(ADA)

    assert (before.email, before.first_name, before.last_name, before.name) == (
        "ada@example.com",
        "Ada",
        "Lovelace",
        "Ada Lovelace",
    )
    assert before.email_verified and before.last_sign_in_at is None
    assert after.last_sign_in_at is not None


def test_an_unknown_user_is_not_found(sdk: WorkOSClient) -> None:
    with pytest.raises(NotFoundError) as missing:
        sdk.user_management.get_user(NOBODY)

    assert missing.value.status_code == 404


async def test_memberships_are_listed_page_by_page_and_fetched_by_id(
    client: WorkOSClient, async_client: AsyncWorkOSClient
) -> None:
    page = client.organization_membership.list_organization_memberships(organization_id=ENGINES, limit=1)
    in_engines = list(page.auto_paging_iter())  # one request per membership: limit=1
    graces_page = await async_client.organization_membership.list_organization_memberships(user_id=GRACE)
    graces = [m async for m in graces_page.auto_paging_iter()]
    fetched = client.organization_membership.get_organization_membership(in_engines[0].id)

    roles = sorted((m.user.email, m.role.slug) for m in in_engines)
    assert roles == [
        ("ada@example.com", "admin"),
        ("charles@example.com", "member"),
        ("grace@example.com", "member"),
    ]
    assert {m.organization_id: m.role.slug for m in graces} == {HARVARD: "admin", ENGINES: "member"}
    assert fetched == in_engines[0]


def test_organizations_are_listed(target: Target, sdk: WorkOSClient) -> None:
    organizations = list(
        itertools.islice(sdk.organizations.list_organizations(limit=1).auto_paging_iter(), 3)
    )

    if target.base_url and target.base_url.startswith("http://127.0.0.1"):
        assert [org.name for org in organizations] == [
            "Harvard Computation Lab",
            "Analytical Engines",
        ]  # newest first
    assert all(org.id.startswith("org_") for org in organizations)


def test_an_organization_is_fetched_by_id(client: WorkOSClient) -> None:
    organization = client.organizations.get_organization(ENGINES)

    assert (organization.id, organization.name, organization.domains) == (ENGINES, "Analytical Engines", [])
    with pytest.raises(NotFoundError):
        client.organizations.get_organization("org_01JC000000000000000000NONE")


# ---- the signing key -------------------------------------------------------------------------------------


def test_the_key_set_parses_into_rsa_signing_keys(target: Target, sdk: WorkOSClient) -> None:
    key_set = sdk.user_management.get_jwks(target.client_id)

    assert key_set.keys
    for key in key_set.keys:
        assert (key.kty, key.alg, key.use) == ("RSA", "RS256", "sig")
        assert key.kid and key.x_5_c and key.x_5_t_s_256
        assert jwt.PyJWK({"kty": key.kty, "n": key.n, "e": key.e, "kid": key.kid}).key_id == key.kid


def test_the_signing_key_and_its_kid_survive_a_restart(tmp_path: Path) -> None:
    key_path = tmp_path / "key.pem"

    def published_key() -> tuple[str, str]:
        emulator = WorkOSEmulator(seeds=load_seeds(EXAMPLE_SEEDS), key_path=key_path)
        with (
            serve_in_thread(emulator.app()) as base_url,
            WorkOSClient(api_key=emulator.api_key, client_id=emulator.client_id, base_url=base_url) as client,
        ):
            [key] = client.user_management.get_jwks(emulator.client_id).keys
            return key.kid, key.n

    assert published_key() == published_key()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600  # a private key: readable by its owner only


# ---- behaviour on demand ---------------------------------------------------------------------------------


def test_a_failing_api_raises_server_error(workos: WorkOSEmulator, client: WorkOSClient) -> None:
    workos.behaviour.fail_status = 503

    with pytest.raises(ServerError) as failed:
        client.user_management.get_user(ADA)

    assert failed.value.status_code == 503


def test_a_hanging_api_times_out(workos: WorkOSEmulator) -> None:
    workos.behaviour.hang = True

    with (
        WorkOSClient(
            api_key=workos.api_key,
            client_id=workos.client_id,
            base_url=workos.base_url,
            request_timeout=1,
            max_retries=0,
        ) as impatient,
        pytest.raises(WorkOSTimeoutError),
    ):
        impatient.user_management.get_user(ADA)


def test_latency_delays_api_calls(workos: WorkOSEmulator, client: WorkOSClient) -> None:
    workos.behaviour.latency = 0.2
    started = time.monotonic()

    client.user_management.get_user(ADA)

    assert time.monotonic() - started >= 0.2


@pytest.fixture
def fresh_key_sets() -> Iterator[None]:
    """Forget the key sets the SDK fetched, as a new process would have none."""
    _get_jwks_client.cache_clear()
    yield
    _get_jwks_client.cache_clear()


@pytest.mark.usefixtures("fresh_key_sets")
async def test_an_unreachable_key_set_makes_authenticate_raise(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    auth = await sign_in(workos, client, "ada@example.com")
    workos.behaviour.jwks_fail_status = 503

    with pytest.raises(jwt.PyJWKClientConnectionError):  # the SDK lets this one through
        sealed_session(client, auth).authenticate()


async def test_invalid_grant_refuses_even_a_good_code(workos: WorkOSEmulator, client: WorkOSClient) -> None:
    pkce = client.user_management.get_authorization_url_with_pkce(redirect_uri=REDIRECT_URI)
    location = await workos.authorize(pkce["url"], email="ada@example.com")
    workos.behaviour.invalid_grant = True

    with pytest.raises(BadRequestError) as refused:
        client.user_management.authenticate_with_code_pkce(
            code=code_in(location), code_verifier=pkce["code_verifier"]
        )

    assert refused.value.error == "invalid_grant"


async def test_behaviour_is_set_over_http_too(workos: WorkOSEmulator) -> None:
    async with httpx.AsyncClient(base_url=workos.base_url) as http:
        put = await http.put("/_emulator/behaviour", json={"fail_status": 503, "latency": 0.01})
        got = await http.get("/_emulator/behaviour")

    assert put.status_code == 200
    assert workos.behaviour.fail_status == 503 and got.json()["latency"] == 0.01


async def test_reset_forgets_sessions_calls_and_behaviour(
    workos: WorkOSEmulator, client: WorkOSClient
) -> None:
    auth = await sign_in(workos, client, "ada@example.com")
    workos.behaviour.hang = True

    workos.reset()

    assert workos.calls == [] and not workos.behaviour.hang
    assert not workos.session_is_active(session_id_of(auth))
    with pytest.raises(BadRequestError):
        client.user_management.authenticate_with_refresh_token(refresh_token=auth.refresh_token)


# ---- HTTP details ----------------------------------------------------------------------------------------


async def test_a_trailing_slash_is_accepted_and_every_answer_has_a_request_id(workos: WorkOSEmulator) -> None:
    async with httpx.AsyncClient(base_url=workos.base_url) as http:
        answers = await asyncio.gather(
            http.get(f"/sso/jwks/{workos.client_id}/"),
            http.get("/health"),
            http.get("/no/such/path"),
        )

    assert [a.status_code for a in answers] == [200, 200, 404]
    assert all(a.headers["x-request-id"] for a in answers)
    assert answers[2].json()["code"] == "not_found"  # WorkOS' error shape, not FastAPI's
    assert ("GET", f"/sso/jwks/{workos.client_id}") in workos.calls


# ---- seeds -----------------------------------------------------------------------------------------------


def test_the_example_seeds_have_ids_shaped_like_workos_ids() -> None:
    seeds = load_seeds(EXAMPLE_SEEDS)
    ulid = "[0-7][0-9A-HJKMNP-TV-Z]{25}"  # Crockford base 32: no I, L, O, U

    ids = (
        [u.id for u in seeds.users] + [o.id for o in seeds.organizations] + [m.id for m in seeds.memberships]
    )

    assert all(re.fullmatch(f"(user|org|om)_{ulid}", i) for i in ids), ids
    assert re.fullmatch(f"user_{ulid}", NOBODY)


@pytest.mark.parametrize(
    ("toml", "complaint"),
    [
        ('[[users]]\nid = "user_1"\nemial = "a@example.com"\n', "users[0]: unknown key(s) ['emial']"),
        (
            '[[users]]\nid = "user_1"\nemail = "a@example.com"\n'
            '[[memberships]]\nuser_id = "user_1"\norganization_id = "org_1"\n',
            "there is no such organization",
        ),
        (
            '[[users]]\nid = "user_1"\nemail = "a@example.com"\n[[organizations]]\nid = "org_1"\nname = "O"\n'
            '[[memberships]]\nuser_id = "user_1"\norganization_id = "org_1"\nrole = "admn"\n',
            "role 'admn' is not in [roles]",
        ),
    ],
)
def test_a_seed_file_with_a_mistake_is_refused_with_its_name_and_the_place(
    tmp_path: Path, toml: str, complaint: str
) -> None:
    path = tmp_path / "workos-seed.toml"
    path.write_text(toml)

    with pytest.raises(ValueError, match=re.escape(complaint)) as refused:
        load_seeds(path)

    assert str(path) in str(refused.value)
