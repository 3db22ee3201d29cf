"""`WorkOSEmulator`, the object tests and the CLI hold, and the HTTP routes the WorkOS SDK calls.

The routes come in four groups, each with its own rules:

- the browser's (login page, logout): no API key, never slowed or failed by `Behaviour`;
- `POST /user_management/authenticate`: credentials in the JSON body, as OAuth has them;
- the JWKS: no credentials at all (PyJWT fetches it), failed on its own by `jwks_fail_status`;
- the rest of the API: `Authorization: Bearer <api key>`.

Errors have WorkOS' two shapes: OAuth's `{"error", "error_description"}` on the login and token
endpoints, `{"message", "code"}` everywhere else. The SDK maps both to its exceptions by status.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, get_args
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .keys import SigningKey, default_key_path
from .login_page import render_login_page, submit_login_form
from .seeds import MembershipStatus, Seeds
from .store import Session, Store

AUTHENTICATION_METHOD = "Password"
"""What `authenticate` says the user signed in with: the login page stands in for AuthKit's form."""


class Behaviour(BaseModel):
    """How the emulator answers the next calls. Every field's default means: normally.

    "API calls" are every endpoint the SDK calls with HTTP (authenticate, users, memberships,
    organizations, revoke); the JWKS only follows `latency` and `jwks_fail_status`, and the pages a
    browser opens (login, logout) follow none of these.
    """

    latency: float = Field(default=0.0, ge=0)
    """Seconds to wait before answering an API call or the JWKS."""
    fail_status: int | None = Field(default=None, ge=400, le=599)
    """Answer API calls with this status and a WorkOS-style error body."""
    jwks_fail_status: int | None = Field(default=None, ge=400, le=599)
    """Answer the JWKS with this status: the app cannot check tokens."""
    hang: bool = False
    """API calls never answer, until the caller gives up: its timeout fires."""
    invalid_grant: bool = False
    """Every authenticate call answers 400 `invalid_grant`, as for a revoked or reused token."""
    access_token_ttl: int = Field(default=300, ge=0)
    """Seconds of life of the access tokens minted from now on (0: born expired)."""


class RecordedCall(NamedTuple):
    """A request the emulator received. A tuple, so `("GET", "/health") in emulator.calls` works."""

    method: str
    path: str
    """Without the query string, and without a trailing slash."""


@dataclass(kw_only=True)
class WorkOSEmulator:
    seeds: Seeds
    api_key: str = "sk_test_emulator"
    client_id: str = "client_emulator"
    key_path: Path | None = None
    """The signing key's PEM file; None: `workos-emulator-key.pem` in the kit's state folder."""
    issuer: str | None = None
    """Put in the tokens' `iss` claim when set (the SDK checks it when given `jwt_issuer`)."""
    allowed_redirect_hosts: set[str] = field(default_factory=lambda: {"localhost", "127.0.0.1", "::1"})
    """Hosts `redirect_uri` and `return_to` may point at: the emulator is no open redirect either."""
    behaviour: Behaviour = field(default_factory=Behaviour)
    base_url: str = ""
    """Set by whoever serves the app, e.g. `serve_in_thread`."""
    calls: list[RecordedCall] = field(default_factory=list)
    store: Store = field(init=False)
    signing_key: SigningKey = field(init=False)

    def __post_init__(self) -> None:
        self.store = Store(self.seeds)
        self.signing_key = SigningKey.load_or_create(self.key_path or default_key_path())

    def app(self) -> FastAPI:
        app = FastAPI(title="WorkOS emulator", description=__doc__)
        app.state.emulator = self
        app.add_middleware(_RequestIdsAndCalls, emulator=self)
        for router in (emulator_routes, browser_routes, authenticate_routes, jwks_routes, api_routes):
            app.include_router(router)
        # The decorator, called: `add_exception_handler` would refuse (mypy) handlers of one exception type.
        app.exception_handler(_Refused)(_refused)
        app.exception_handler(HTTPException)(_http_error)
        app.exception_handler(RequestValidationError)(_invalid_request)
        return app

    def reset(self) -> None:
        """Back to normal behaviour, with no codes, sessions, refresh tokens or calls; seeds stay."""
        self.behaviour = Behaviour()
        self.store = Store(self.seeds)
        self.calls.clear()

    def session_is_active(self, session_id: str) -> bool:
        session = self.store.sessions.get(session_id)
        return session is not None and session.active

    async def authorize(
        self, authorization_url: str, *, email: str, organization_id: str | None = None
    ) -> str:
        """Does what a person does on the login page, over HTTP: opens the authorization URL, signs
        in as the seeded user with this email (into that organization), and returns the URL the
        emulator redirects to: the app's `redirect_uri?code=…&state=…`."""
        if not self.base_url or not authorization_url.startswith(f"{self.base_url}/"):
            raise ValueError(
                f"{authorization_url} is not a URL of this emulator ({self.base_url or 'not served'}): "
                "is the app's WorkOS base URL the emulator's?"
            )
        user = self.seeds.user_by_email(email)
        if user is None:
            known = ", ".join(u.email for u in self.seeds.users)
            raise ValueError(f"no seeded user has the email {email!r}; the seeded users are: {known}")
        return await submit_login_form(authorization_url, user_id=user.id, organization_id=organization_id)


def _the_emulator(request: Request) -> WorkOSEmulator:
    emulator: WorkOSEmulator = request.app.state.emulator
    return emulator


Emulator = Annotated[WorkOSEmulator, Depends(_the_emulator)]


# ---- errors -----------------------------------------------------------------------------------------


class _Refused(Exception):
    """Raised anywhere while handling a request, to answer with `response` instead."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _oauth_error(status: int, error: str, description: str) -> _Refused:
    return _Refused(JSONResponse({"error": error, "error_description": description}, status))


def _api_error(status: int, code: str, message: str) -> _Refused:
    return _Refused(JSONResponse({"message": message, "code": code}, status))


def _code_for(status: int) -> str:
    """`service_unavailable` for 503: a status's name, as WorkOS spells error codes."""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


async def _refused(request: Request, refusal: _Refused) -> Response:
    return refusal.response


async def _http_error(request: Request, error: HTTPException) -> Response:
    """Unknown paths and methods, in WorkOS' shape rather than FastAPI's `{"detail"}`."""
    return _api_error(error.status_code, _code_for(error.status_code), str(error.detail)).response


async def _invalid_request(request: Request, error: RequestValidationError) -> Response:
    body = {"message": "Invalid request parameters.", "code": "invalid_request_parameters"}
    return JSONResponse(body | {"errors": jsonable_encoder(error.errors())}, 422)


class _RequestIdsAndCalls:
    """Around every request: accepts a trailing slash, records the call, adds an `x-request-id`
    (the SDK puts it on its exceptions). Plain ASGI, so a hanging call still sees its client leave."""

    def __init__(self, app: ASGIApp, emulator: WorkOSEmulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"].rstrip("/") or "/"
        self.emulator.calls.append(RecordedCall(scope["method"], path))
        request_id = str(uuid.uuid4()).encode()

        async def send_with_request_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id)]}
            await send(message)

        await self.app({**scope, "path": path}, receive, send_with_request_id)


# ---- what `Behaviour` does --------------------------------------------------------------------------


async def _misbehave(request: Request, emulator: Emulator) -> None:
    behaviour = emulator.behaviour
    if behaviour.hang:
        while not await request.is_disconnected():  # noqa: ASYNC110 - poll until the client gives up
            await asyncio.sleep(0.05)
        raise _api_error(504, "gateway_timeout", "The emulator was told to hang (Behaviour.hang).")
    await asyncio.sleep(behaviour.latency)
    if behaviour.fail_status is not None:
        status = behaviour.fail_status
        raise _api_error(status, _code_for(status), f"The emulator was told to fail with {status}.")


async def _misbehave_as_jwks(emulator: Emulator) -> None:
    behaviour = emulator.behaviour
    await asyncio.sleep(behaviour.latency)
    if behaviour.jwks_fail_status is not None:
        status = behaviour.jwks_fail_status
        raise _api_error(status, _code_for(status), f"The emulator was told to fail the JWKS with {status}.")


def _require_api_key(emulator: Emulator, authorization: Annotated[str | None, Header()] = None) -> None:
    if authorization != f"Bearer {emulator.api_key}":
        raise _api_error(401, "unauthorized", "Unauthorized")


# ---- the emulator's own ------------------------------------------------------------------------------

emulator_routes = APIRouter(tags=["emulator"])


@emulator_routes.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@emulator_routes.get("/_emulator/behaviour")
async def get_behaviour(emulator: Emulator) -> Behaviour:
    return emulator.behaviour


@emulator_routes.put("/_emulator/behaviour")
async def set_behaviour(behaviour: Behaviour, emulator: Emulator) -> Behaviour:
    emulator.behaviour = behaviour
    return behaviour


# ---- what a browser opens ----------------------------------------------------------------------------

browser_routes = APIRouter(tags=["browser"])


@dataclass(frozen=True, kw_only=True)
class _AuthorizationRequest:
    """What the app asked for, carried through the login form in hidden fields."""

    client_id: str
    redirect_uri: str
    state: str
    code_challenge: str
    code_challenge_method: str


def _authorization_request(emulator: WorkOSEmulator, fields: Mapping[str, str]) -> _AuthorizationRequest:
    """Checked before any page is shown: a bad `redirect_uri` gets a 400, never a redirect."""
    if fields.get("client_id") != emulator.client_id:
        raise _oauth_error(400, "invalid_request", f"Unknown client_id {fields.get('client_id')!r}.")
    redirect_uri = fields.get("redirect_uri", "")
    _check_redirect(emulator, redirect_uri, "redirect_uri")
    challenge, method = fields.get("code_challenge", ""), fields.get("code_challenge_method", "")
    if challenge and method != "S256":
        raise _oauth_error(400, "invalid_request", "code_challenge_method must be S256.")
    return _AuthorizationRequest(
        client_id=emulator.client_id,
        redirect_uri=redirect_uri,
        state=fields.get("state", ""),
        code_challenge=challenge,
        code_challenge_method=method,
    )


def _check_redirect(emulator: WorkOSEmulator, url: str, name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in emulator.allowed_redirect_hosts:
        hosts = ", ".join(sorted(emulator.allowed_redirect_hosts))
        raise _oauth_error(
            400,
            "invalid_request",
            f"{name} {url!r} is not allowed: its host must be one of {hosts} "
            "(WorkOSEmulator.allowed_redirect_hosts).",
        )


@browser_routes.get("/user_management/authorize", response_class=HTMLResponse)
async def login_page(request: Request, emulator: Emulator) -> Response:
    """The login form; with `auto=1` and a `login_hint`, signs that user in without showing it."""
    query = request.query_params
    if query.get("response_type") != "code":
        raise _oauth_error(400, "invalid_request", "response_type must be code.")
    authorization = _authorization_request(emulator, query)
    hinted = emulator.seeds.user_by_email(query.get("login_hint", ""))
    organization_id = query.get("organization_id") or None
    if query.get("auto") == "1":
        if hinted is None:
            raise _oauth_error(400, "invalid_request", "auto=1 needs a seeded user's email as login_hint.")
        return _sign_in(emulator, authorization, hinted.id, organization_id)
    page = render_login_page(
        hidden=asdict(authorization),
        seeds=emulator.seeds,
        user_id=hinted.id if hinted else None,
        organization_id=organization_id,
    )
    return HTMLResponse(page)


@browser_routes.post("/user_management/authorize")
async def submit_login(request: Request, emulator: Emulator) -> Response:
    # Parsed by hand: Starlette's `request.form()` needs python-multipart, which nothing else here needs.
    fields = dict(parse_qsl((await request.body()).decode()))
    authorization = _authorization_request(emulator, fields)
    return _sign_in(emulator, authorization, fields.get("user_id", ""), fields.get("organization_id") or None)


def _sign_in(
    emulator: WorkOSEmulator, authorization: _AuthorizationRequest, user_id: str, organization_id: str | None
) -> Response:
    """Issues a code and sends the browser back to the app, or shows the form again with what is wrong."""
    seeds = emulator.seeds
    user = seeds.user(user_id)
    if user is None:
        return _login_page_again(emulator, authorization, f"There is no user {user_id!r}: pick one.")
    if organization_id is None:
        memberships = seeds.active_memberships(user.id)
        organization_id = memberships[0].organization_id if len(memberships) == 1 else None
    elif seeds.active_membership(user.id, organization_id) is None:
        return _login_page_again(
            emulator, authorization, f"{user.email} is not an active member of {organization_id}."
        )
    code = emulator.store.issue_code(
        user_id=user.id,
        organization_id=organization_id,
        client_id=authorization.client_id,
        code_challenge=authorization.code_challenge or None,
    )
    back = _with_query(authorization.redirect_uri, code=code, state=authorization.state or None)
    return RedirectResponse(back, status_code=302)


def _login_page_again(emulator: WorkOSEmulator, authorization: _AuthorizationRequest, error: str) -> Response:
    page = render_login_page(
        hidden=asdict(authorization), seeds=emulator.seeds, user_id=None, organization_id=None, error=error
    )
    return HTMLResponse(page, status_code=400)


def _with_query(url: str, **params: str | None) -> str:
    """`url` with `params` added to the query it already has."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


@browser_routes.get("/user_management/sessions/logout")
async def log_out(
    emulator: Emulator, session_id: str | None = None, return_to: str | None = None
) -> Response:
    """Ends the session (its refresh tokens stop working), then sends the browser to `return_to`."""
    if not session_id:
        raise _api_error(422, "invalid_request", "session_id is required")
    if return_to:
        _check_redirect(emulator, return_to, "return_to")
    emulator.store.end_session(session_id)
    return RedirectResponse(return_to, status_code=302) if return_to else JSONResponse({})


# ---- the token endpoint -----------------------------------------------------------------------------

authenticate_routes = APIRouter(tags=["api"], dependencies=[Depends(_misbehave)])


@authenticate_routes.post("/user_management/authenticate")
async def authenticate(request: Request, emulator: Emulator) -> JSONResponse:
    """Exchanges a code or a refresh token for an access token (a JWT) and a new refresh token."""
    if emulator.behaviour.invalid_grant:
        raise _oauth_error(400, "invalid_grant", "The emulator was told to refuse every grant.")
    body = await _json_object(request)
    if body.get("client_id") != emulator.client_id:
        raise _oauth_error(400, "invalid_client", "Invalid client ID.")
    secret = body.get("client_secret")
    if secret is not None and secret != emulator.api_key:
        raise _oauth_error(401, "invalid_client", "Invalid client secret.")
    grant_type = body.get("grant_type")
    if grant_type == "authorization_code":
        session = _redeem_code(emulator, body, has_secret=secret is not None)
    elif grant_type == "refresh_token":
        # A public client (PKCE, no secret) refreshes with its client_id alone, as authkit-js does.
        session = _redeem_refresh_token(emulator, body)
    else:
        raise _oauth_error(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}.")
    return JSONResponse(_tokens(emulator, session, signed_in=grant_type == "authorization_code"))


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise _oauth_error(400, "invalid_request", "The body must be a JSON object.")
    return body


def _redeem_code(emulator: WorkOSEmulator, body: dict[str, Any], *, has_secret: bool) -> Session:
    code = str(body.get("code"))
    grant = emulator.store.redeem_code(code, emulator.client_id)
    if grant is None:
        raise _oauth_error(400, "invalid_grant", f"The code '{code}' has expired or is invalid.")
    if grant.code_challenge is not None:  # PKCE: only who started the login knows the verifier
        verifier = body.get("code_verifier")
        if not isinstance(verifier, str) or _s256(verifier) != grant.code_challenge:
            raise _oauth_error(400, "invalid_grant", "The code_verifier does not match the code_challenge.")
    elif not has_secret:
        raise _oauth_error(401, "invalid_client", "A client_secret is required (or PKCE's code_verifier).")
    return emulator.store.start_session(grant.user_id, grant.organization_id)


def _s256(verifier: str) -> str:
    """PKCE's S256: the challenge is the unpadded base64url SHA-256 of the verifier."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _redeem_refresh_token(emulator: WorkOSEmulator, body: dict[str, Any]) -> Session:
    token = str(body.get("refresh_token"))  # whatever it is, it is no token the store issued
    session = emulator.store.session_of_refresh_token(token)
    if session is None:
        raise _oauth_error(400, "invalid_grant", "Invalid refresh token.")
    switch_to = body.get("organization_id")
    if switch_to is not None:
        # Checked before the token is used up: a refused switch leaves the session as it was.
        if not isinstance(switch_to, str) or not emulator.seeds.active_membership(session.user_id, switch_to):
            message = f"The user is not a member of organization {switch_to!r}."
            raise _api_error(403, "organization_not_authorized", message)
        session.organization_id = switch_to
    emulator.store.use_refresh_token(token)
    return session


def _tokens(emulator: WorkOSEmulator, session: Session, *, signed_in: bool) -> dict[str, Any]:
    user = emulator.seeds.user(session.user_id)
    assert user is not None
    claims = emulator.store.access_token_claims(
        session, ttl=emulator.behaviour.access_token_ttl, issuer=emulator.issuer
    )
    body = {
        "user": emulator.store.user_json(user),
        "organization_id": session.organization_id,
        "access_token": emulator.signing_key.sign(claims),
        "refresh_token": emulator.store.issue_refresh_token(session),
    }
    if signed_in:  # a refresh is no new sign-in: WorkOS says how the user signed in only once
        body["authentication_method"] = AUTHENTICATION_METHOD
    return body


# ---- the key set -----------------------------------------------------------------------------------

jwks_routes = APIRouter(tags=["api"], dependencies=[Depends(_misbehave_as_jwks)])


@jwks_routes.get("/sso/jwks/{client_id}")
async def jwks(client_id: str, emulator: Emulator) -> dict[str, Any]:
    if client_id != emulator.client_id:
        raise _api_error(404, "entity_not_found", f"No client {client_id!r}.")
    return {"keys": [emulator.signing_key.jwk]}


# ---- the API an API key opens ------------------------------------------------------------------------

api_routes = APIRouter(tags=["api"], dependencies=[Depends(_misbehave), Depends(_require_api_key)])


class Page(BaseModel):
    """WorkOS' list parameters: cursors are ids, and `after` continues in the listing's order."""

    limit: int = Field(default=10, ge=1, le=100)
    before: str | None = None
    after: str | None = None
    order: Literal["asc", "desc", "normal"] = "desc"


def _list(objects: list[dict[str, Any]], page: Page) -> dict[str, Any]:
    """One page of `objects`, in WorkOS' list envelope. A null `after` tells the SDK to stop."""
    descending = page.order != "asc"  # "normal" is descending too; only its cursors differ at WorkOS
    ordered = sorted(objects, key=lambda o: str(o["id"]), reverse=descending)  # ids are ULIDs: by time
    ids = [str(o["id"]) for o in ordered]

    def ahead_of(an_id: str, cursor: str) -> bool:
        """Whether `an_id` comes before `cursor` in the listing (the cursor may be no id listed)."""
        return an_id > cursor if descending else an_id < cursor

    if page.after is not None:
        start = sum(1 for i in ids if ahead_of(i, page.after) or i == page.after)
        end = min(start + page.limit, len(ids))
    elif page.before is not None:
        end = sum(1 for i in ids if ahead_of(i, page.before))
        start = max(0, end - page.limit)
    else:
        start, end = 0, min(page.limit, len(ids))
    cursors = {
        "before": ids[start] if 0 < start < end else None,
        "after": ids[end - 1] if start < end < len(ids) else None,
    }
    return {"object": "list", "data": ordered[start:end], "list_metadata": cursors}


class RevokeSession(BaseModel):
    session_id: str


@api_routes.post("/user_management/sessions/revoke")
async def revoke_session(revoke: RevokeSession, emulator: Emulator) -> dict[str, Any]:
    if not emulator.store.end_session(revoke.session_id):
        raise _api_error(404, "entity_not_found", f"Session not found: {revoke.session_id!r}.")
    return {}


@api_routes.get("/user_management/users/{user_id}")
async def get_user(user_id: str, emulator: Emulator) -> dict[str, Any]:
    user = emulator.seeds.user(user_id)
    if user is None:
        raise _api_error(404, "entity_not_found", "User not found")
    return emulator.store.user_json(user)


@api_routes.get("/user_management/organization_memberships")
async def list_memberships(
    emulator: Emulator,
    page: Annotated[Page, Query()],
    user_id: str | None = None,
    organization_id: str | None = None,
    statuses: str = "active",
) -> dict[str, Any]:
    if user_id is None and organization_id is None:
        raise _api_error(422, "invalid_request_parameters", "Either user_id or organization_id is required.")
    wanted = set(statuses.split(","))
    if unknown := wanted - set(get_args(MembershipStatus)):
        raise _api_error(
            422, "invalid_request_parameters", f"Unknown statuses: {', '.join(sorted(unknown))}."
        )
    memberships = [
        emulator.store.membership_json(m)
        for m in emulator.seeds.memberships
        if m.status in wanted
        and user_id in (None, m.user_id)
        and organization_id in (None, m.organization_id)
    ]
    return _list(memberships, page)


@api_routes.get("/user_management/organization_memberships/{membership_id}")
async def get_membership(membership_id: str, emulator: Emulator) -> dict[str, Any]:
    membership = emulator.seeds.membership(membership_id)
    if membership is None:
        raise _api_error(404, "entity_not_found", "Organization membership not found")
    return emulator.store.membership_json(membership)


@api_routes.get("/organizations")
async def list_organizations(
    emulator: Emulator,
    page: Annotated[Page, Query()],
    search: str | None = None,
    domains: str | None = None,
) -> dict[str, Any]:
    wanted_domains = set(domains.split(",")) if domains else None
    organizations = [
        emulator.store.organization_json(org)
        for org in emulator.seeds.organizations
        if (search is None or search.lower() in org.name.lower())
        and (wanted_domains is None or wanted_domains & set(org.domains))
    ]
    return _list(organizations, page)


@api_routes.get("/organizations/{organization_id}")
async def get_organization(organization_id: str, emulator: Emulator) -> dict[str, Any]:
    organization = emulator.seeds.organization(organization_id)
    if organization is None:
        raise _api_error(404, "entity_not_found", "Organization not found")
    return emulator.store.organization_json(organization)
