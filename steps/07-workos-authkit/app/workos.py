"""WorkOS, the one module that talks to it: AuthKit's sign-in, the sealed session cookie, sign-out.

Through the official SDK (`workos`, its async client). What the rest of the app sees is `AuthKit`, the
`SignedIn` it hands back, and three errors: `SignInFailed` (WorkOS refused a sign-in: a 400),
`NotSignedIn` (a cookie that belongs to no one, or no more: a 401) and `WorkOSUnavailable` (WorkOS did
not answer, or not in time: a 503).
"""

import asyncio
from dataclasses import dataclass
from typing import Any

from jwt import PyJWKClient, PyJWKClientConnectionError, PyJWKClientError
from workos import AsyncWorkOSClient, AuthenticationError, AuthorizationError, BadRequestError, WorkOSError
from workos.session import AuthenticateWithSessionCookieFailureReason as Reason
from workos.session import (
    AuthenticateWithSessionCookieSuccessResponse,
    seal_session_from_auth_response,
    unseal_data,
)
from workos.user_management.models import AuthenticateResponse

from app.errors import NotSignedIn, SignInFailed, WorkOSUnavailable
from app.settings import Settings

# WorkOS refused what we sent (a code already used, a refresh token of an ended session, a wrong key):
# asking again will not help. Every other `WorkOSError` (5xx, 429, timeouts, refused connections) is
# WorkOS being unavailable.
REFUSALS = (BadRequestError, AuthenticationError, AuthorizationError)


@dataclass(frozen=True, kw_only=True)
class SignInStart:
    url: str  # AuthKit's sign-in page, for the browser
    state: str  # echoed back to the callback: proves the browser that comes back is the one that left
    code_verifier: str  # PKCE: only whoever holds it can exchange the code


@dataclass(frozen=True, kw_only=True)
class SignedIn:
    """Who a valid session cookie belongs to: its verified access token, and the user sealed with it."""

    session_id: str
    user: dict[str, Any]
    organization_id: str | None
    role: str | None
    permissions: list[str]


class AuthKit:
    def __init__(self, settings: Settings) -> None:
        self._client = AsyncWorkOSClient(
            api_key=settings.workos_api_key.get_secret_value(),
            client_id=settings.workos_client_id,
            base_url=settings.workos_base_url,
            request_timeout=settings.workos_timeout_seconds,
            # A person is waiting on each call: fail fast and let them try again, rather than retry for
            # seconds (the SDK's default is 3 retries with backoff). A code cannot be spent twice anyway.
            max_retries=0,
        )
        self._redirect_uri = settings.workos_redirect_uri
        self._cookie_password = settings.session_cookie_password.get_secret_value()
        # The SDK verifies tokens with PyJWT's key client, which waits 30 s on an unresponsive JWKS
        # endpoint: ours gives up when every other call to WorkOS does.
        self._jwks = PyJWKClient(
            self._client.user_management.get_jwks_url(), timeout=settings.workos_timeout_seconds
        )

    # Opened and closed by the lifespan, like the engine: the SDK's client holds a pool of connections.
    async def __aenter__(self) -> "AuthKit":
        return self

    async def __aexit__(self, *exception: object) -> None:
        await self._client.close()

    async def start_sign_in(self) -> SignInStart:
        """AuthKit's sign-in URL, with a fresh PKCE pair and state. Makes no request."""
        started = await self._client.user_management.get_authorization_url_with_pkce(
            redirect_uri=self._redirect_uri, provider="authkit"
        )
        return SignInStart(url=started["url"], state=started["state"], code_verifier=started["code_verifier"])

    async def exchange_code(self, code: str, code_verifier: str) -> AuthenticateResponse:
        """The user, their organization and their tokens, for the code AuthKit sent back."""
        try:
            return await self._client.user_management.authenticate_with_code_pkce(
                code=code, code_verifier=code_verifier
            )
        except REFUSALS as error:
            raise SignInFailed(f"WorkOS refused the sign-in: {error.error_description or error}") from error
        except WorkOSError as error:
            raise WorkOSUnavailable() from error

    async def organization_name(self, organization_id: str) -> str:
        try:
            organization = await self._client.organizations.get_organization(organization_id)
        except WorkOSError as error:  # we were just told it exists: any error is WorkOS', not ours
            raise WorkOSUnavailable() from error
        return organization.name

    def seal(self, auth: AuthenticateResponse) -> str:
        """The session cookie's value: the tokens and the user, encrypted with our cookie password."""
        return seal_session_from_auth_response(
            access_token=auth.access_token,
            refresh_token=auth.refresh_token,
            user=auth.user.to_dict(),
            cookie_password=self._cookie_password,
        )

    async def signed_in(self, cookie: str) -> tuple[SignedIn, str | None]:
        """Who the cookie belongs to, and its new value when it had to be refreshed (None otherwise).

        Raises `NotSignedIn` when it belongs to no one (any more): unreadable, forged, or its session
        ended at WorkOS.
        """
        result = await self._authenticate(cookie)
        if isinstance(result, AuthenticateWithSessionCookieSuccessResponse):
            return _signed_in(result), None
        if result is not Reason.INVALID_JWT:  # not a token that expired: a cookie that is not ours
            raise NotSignedIn("The session cookie is not valid.")
        refreshed = await self._refresh(cookie)  # the access token expired: ask WorkOS for a new one
        result = await self._authenticate(refreshed)
        if not isinstance(result, AuthenticateWithSessionCookieSuccessResponse):
            raise NotSignedIn("WorkOS issued a token that does not verify.")
        return _signed_in(result), refreshed

    def sign_out_url(self, session_id: str, return_to: str) -> str:
        """Where to send the browser to end the session at WorkOS; it then comes back to `return_to`."""
        return self._client.user_management.get_logout_url(session_id=session_id, return_to=return_to)

    async def _authenticate(self, cookie: str) -> AuthenticateWithSessionCookieSuccessResponse | Reason | str:
        session = self._client.user_management.load_sealed_session(
            session_data=cookie, cookie_password=self._cookie_password
        )
        session.jwks = self._jwks
        try:
            # In a thread: `authenticate()` is not async, and when its cached keys are stale it fetches
            # them (urllib, blocking), which would stall every other request on this event loop.
            result = await asyncio.to_thread(session.authenticate)
        except PyJWKClientConnectionError as error:  # the SDK lets it through: no keys, no verdict
            raise WorkOSUnavailable() from error
        except PyJWKClientError as error:  # signed by a key WorkOS does not have: forged, or another's
            raise NotSignedIn("The session cookie is not valid.") from error
        return result if isinstance(result, AuthenticateWithSessionCookieSuccessResponse) else result.reason

    async def _refresh(self, cookie: str) -> str:
        """A new cookie with new tokens. Not the SDK's `Session.refresh()`: it turns every error into a
        string, and a WorkOS that is down (503 for us) would read like a session that ended (401)."""
        sealed = unseal_data(cookie, self._cookie_password)  # it unsealed a moment ago: it will again
        try:
            auth = await self._client.user_management.authenticate_with_refresh_token(
                refresh_token=sealed["refresh_token"]
            )
        except REFUSALS as error:  # refresh tokens are single-use, and die with their session
            raise NotSignedIn("The session has ended.") from error
        except WorkOSError as error:
            raise WorkOSUnavailable() from error
        return self.seal(auth)


def _signed_in(result: AuthenticateWithSessionCookieSuccessResponse) -> SignedIn:
    return SignedIn(
        session_id=result.session_id,
        user=result.user or {},
        organization_id=result.organization_id,
        role=result.role,
        permissions=list(result.permissions or []),
    )
