"""WorkOS, the one module that talks to it: AuthKit's sign-in, checking a session again, ending it.

Through the official SDK (`workos`, its async client). What the rest of the app sees is `AuthKit`, the
`Verified` and `SignedIn` it hands back, and three errors: `SignInFailed` (WorkOS refused a sign-in:
a 400), `NotSignedIn` (WorkOS says the session no longer stands: a 401) and `WorkOSUnavailable`
(WorkOS did not answer, or not in time: a 503).
"""

import asyncio
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import jwt
from jwt import PyJWKClient, PyJWKClientConnectionError, PyJWKClientError

from app.errors import Forbidden, NotSignedIn, SignInFailed, WorkOSUnavailable
from app.settings import Settings

# The SDK is imported at the first call to WorkOS, not at startup (`AuthKit._client` says why): here,
# for the type checker only. Hence the quoted annotations, and the imports inside the methods, each
# after `await self._client()`, which has imported the SDK by then (in a thread).
if TYPE_CHECKING:
    from workos import AsyncWorkOSClient, AuthenticationError, AuthorizationError, BadRequestError
    from workos.session import AuthenticateWithSessionCookieFailureReason as Reason
    from workos.session import AuthenticateWithSessionCookieSuccessResponse
    from workos.user_management.models import AuthenticateResponse


def refusals() -> "tuple[type[BadRequestError], type[AuthenticationError], type[AuthorizationError]]":
    """WorkOS refused what we sent (a code already used, a refresh token of an ended session, a wrong
    key): asking again will not help. Every other `WorkOSError` (5xx, 429, timeouts, refused
    connections) is WorkOS being unavailable."""
    from workos import AuthenticationError, AuthorizationError, BadRequestError

    return (BadRequestError, AuthenticationError, AuthorizationError)


@dataclass(frozen=True, kw_only=True)
class SignInStart:
    url: str  # AuthKit's sign-in page, for the browser
    state: str  # echoed back to the callback: proves the browser that comes back is the one that left
    code_verifier: str  # PKCE: only whoever holds it can exchange the code


@dataclass(frozen=True, kw_only=True)
class SignedIn:
    """Who signed in: the user, and the organization, role and permissions of their access token."""

    session_id: str
    user: dict[str, Any]
    organization_id: str | None
    role: str | None
    permissions: list[str]


@dataclass(frozen=True, kw_only=True)
class Verified:
    """What WorkOS vouched for: who signed in, and what to keep to ask WorkOS about them again."""

    signed_in: SignedIn
    refresh_token: str
    access_expires_at: int  # the access token's `exp`: until then, WorkOS need not be asked again


class AuthKit:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._redirect_uri = settings.workos_redirect_uri
        self._cookie_password = settings.session_cookie_password.get_secret_value()
        self._sdk_client: AsyncWorkOSClient | None = None
        self._making = asyncio.Lock()

    async def _client(self) -> "AsyncWorkOSClient":
        """The SDK's client, made at the first call to WorkOS rather than at startup: importing the SDK
        (a thousand modules of generated models) and making its client take over a second, which every
        cold start would wait for, while most requests (those of a session WorkOS vouched for minutes
        ago) never call WorkOS. The first one that does pays it, no more than the start used to; in a
        thread, so that the other requests in flight meanwhile go on (an import holds the event loop)."""
        async with self._making:  # calls that come together wait for the one client
            if self._sdk_client is None:
                self._sdk_client = await asyncio.to_thread(self._make_client)
        return self._sdk_client

    def _make_client(self) -> "AsyncWorkOSClient":
        from workos import AsyncWorkOSClient

        settings = self._settings
        return AsyncWorkOSClient(
            api_key=settings.workos_api_key.get_secret_value(),
            client_id=settings.workos_client_id,
            base_url=settings.workos_base_url,
            request_timeout=settings.workos_timeout_seconds,
            # A person is waiting on each call: fail fast and let them try again, rather than retry
            # for seconds (the SDK's default is 3 retries with backoff). A code cannot be spent twice.
            max_retries=0,
        )

    @cached_property
    def _jwks(self) -> PyJWKClient:
        # The SDK verifies tokens with PyJWT's key client, which waits 30 s on an unresponsive JWKS
        # endpoint: ours gives up when every other call to WorkOS does. Read once `_client()` made one.
        assert self._sdk_client is not None
        return PyJWKClient(
            self._sdk_client.user_management.get_jwks_url(), timeout=self._settings.workos_timeout_seconds
        )

    # Opened and closed by the lifespan, like the engine: the SDK's client holds a pool of connections.
    async def __aenter__(self) -> "AuthKit":
        return self

    async def __aexit__(self, *exception: object) -> None:
        if self._sdk_client is not None:  # none was made if no request called WorkOS
            await self._sdk_client.close()

    async def start_sign_in(self) -> SignInStart:
        """AuthKit's sign-in URL, with a fresh PKCE pair and state. Makes no request."""
        client = await self._client()
        started = await client.user_management.get_authorization_url_with_pkce(
            redirect_uri=self._redirect_uri, provider="authkit"
        )
        return SignInStart(url=started["url"], state=started["state"], code_verifier=started["code_verifier"])

    async def exchange_code(self, code: str, code_verifier: str) -> "AuthenticateResponse":
        """The user, their organization and their tokens, for the code AuthKit sent back."""
        client = await self._client()
        from workos import WorkOSError  # imported by `_client()`, as the names below

        try:
            return await client.user_management.authenticate_with_code_pkce(
                code=code, code_verifier=code_verifier
            )
        except refusals() as error:
            raise SignInFailed(f"WorkOS refused the sign-in: {error.error_description or error}") from error
        except WorkOSError as error:
            raise WorkOSUnavailable() from error

    async def organization_name(self, organization_id: str) -> str:
        client = await self._client()
        from workos import WorkOSError

        try:
            organization = await client.organizations.get_organization(organization_id)
        except WorkOSError as error:  # we were just told it exists: any error is WorkOS', not ours
            raise WorkOSUnavailable() from error
        return organization.name

    async def verify(self, auth: "AuthenticateResponse") -> Verified:
        """Who WorkOS' answer signs in, once its access token verifies, with the tokens to keep."""
        await self._client()
        from workos.session import (
            AuthenticateWithSessionCookieSuccessResponse,
            seal_session_from_auth_response,
        )

        # The SDK checks an access token only inside a sealed session: seal this one, in memory only.
        sealed = seal_session_from_auth_response(
            access_token=auth.access_token,
            refresh_token=auth.refresh_token,
            user=auth.user.to_dict(),
            cookie_password=self._cookie_password,
        )
        result = await self._authenticate(sealed)
        if not isinstance(result, AuthenticateWithSessionCookieSuccessResponse):
            raise NotSignedIn("WorkOS issued a token that does not verify.")
        # Verified just above, by the SDK: reading one more claim from it needs no second check.
        expires_at = jwt.decode(auth.access_token, options={"verify_signature": False})["exp"]
        return Verified(
            signed_in=_signed_in(result), refresh_token=auth.refresh_token, access_expires_at=expires_at
        )

    async def refresh(
        self, refresh_token: str, *, organization_id: str | None = None
    ) -> "AuthenticateResponse":
        """New tokens for a session: WorkOS says whether it still stands (and, with `organization_id`,
        moves it to that organization). Not the SDK's `Session.refresh()`: it turns every error into a
        string, and a WorkOS that is down (503 for us) would read like a session that ended (401)."""
        client = await self._client()
        from workos import AuthorizationError, WorkOSError

        try:
            return await client.user_management.authenticate_with_refresh_token(
                refresh_token=refresh_token, organization_id=organization_id
            )
        except AuthorizationError as error:
            if organization_id is None:
                raise NotSignedIn("The session has ended.") from error
            raise Forbidden(f"You are not a member of organization {organization_id}.") from error
        except refusals() as error:  # refresh tokens are single-use, and die with their session
            raise NotSignedIn("The session has ended.") from error
        except WorkOSError as error:
            raise WorkOSUnavailable() from error

    async def revoke(self, workos_session_id: str) -> None:
        """Ends the session at WorkOS too."""
        client = await self._client()
        from workos import WorkOSError

        try:
            await client.user_management.revoke_session(session_id=workos_session_id)
        except refusals():
            pass  # already ended there
        except WorkOSError as error:
            raise WorkOSUnavailable() from error

    async def _authenticate(
        self, sealed: str
    ) -> "AuthenticateWithSessionCookieSuccessResponse | Reason | str":
        client = await self._client()
        from workos.session import AuthenticateWithSessionCookieSuccessResponse

        session = client.user_management.load_sealed_session(
            session_data=sealed, cookie_password=self._cookie_password
        )
        session.jwks = self._jwks
        try:
            # In a thread: `authenticate()` is not async, and when its cached keys are stale it fetches
            # them (urllib, blocking), which would stall every other request on this event loop.
            result = await asyncio.to_thread(session.authenticate)
        except PyJWKClientConnectionError as error:  # the SDK lets it through: no keys, no verdict
            raise WorkOSUnavailable() from error
        except PyJWKClientError as error:  # signed by a key WorkOS does not have
            raise NotSignedIn("WorkOS issued a token that does not verify.") from error
        return result if isinstance(result, AuthenticateWithSessionCookieSuccessResponse) else result.reason


def _signed_in(result: "AuthenticateWithSessionCookieSuccessResponse") -> SignedIn:
    return SignedIn(
        session_id=result.session_id,
        user=result.user or {},
        organization_id=result.organization_id,
        role=result.role,
        permissions=list(result.permissions or []),
    )
