"""`POST /user_management/authenticate`, the token endpoint: a code or a refresh token in, tokens out.

Credentials come in the JSON body, as OAuth has them: the `client_id`, and either the client secret
(the API key) or, for a public client, PKCE's `code_verifier`. Errors have OAuth's shape. It is an
API call: `Behaviour` can slow it, fail it, hang it, or refuse every grant.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from ..behaviour import misbehave
from ..dependencies import Emulator
from ..errors import api_error, oauth_error
from ..store import Session

if TYPE_CHECKING:
    from ..emulator import WorkOSEmulator

AUTHENTICATION_METHOD = "Password"
"""What `authenticate` says the user signed in with: the login page stands in for AuthKit's form."""

router = APIRouter(tags=["api"], dependencies=[Depends(misbehave)])


@router.post("/user_management/authenticate")
async def authenticate(request: Request, emulator: Emulator) -> JSONResponse:
    """Exchanges a code or a refresh token for an access token (a JWT) and a new refresh token."""
    if emulator.behaviour.invalid_grant:
        raise oauth_error(400, "invalid_grant", "The emulator was told to refuse every grant.")
    body = await _json_object(request)
    if body.get("client_id") != emulator.client_id:
        raise oauth_error(400, "invalid_client", "Invalid client ID.")
    secret = body.get("client_secret")
    if secret is not None and secret != emulator.api_key:
        raise oauth_error(401, "invalid_client", "Invalid client secret.")
    grant_type = body.get("grant_type")
    if grant_type == "authorization_code":
        session = _redeem_code(emulator, body, has_secret=secret is not None)
    elif grant_type == "refresh_token":
        # A public client (PKCE, no secret) refreshes with its client_id alone, as authkit-js does.
        session = _redeem_refresh_token(emulator, body)
    else:
        raise oauth_error(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}.")
    return JSONResponse(_tokens(emulator, session, signed_in=grant_type == "authorization_code"))


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise oauth_error(400, "invalid_request", "The body must be a JSON object.")
    return body


def _redeem_code(emulator: WorkOSEmulator, body: dict[str, Any], *, has_secret: bool) -> Session:
    code = str(body.get("code"))
    grant = emulator.store.redeem_code(code, emulator.client_id)
    if grant is None:
        raise oauth_error(400, "invalid_grant", f"The code '{code}' has expired or is invalid.")
    if grant.code_challenge is not None:  # PKCE: only who started the login knows the verifier
        verifier = body.get("code_verifier")
        if not isinstance(verifier, str) or _s256(verifier) != grant.code_challenge:
            raise oauth_error(400, "invalid_grant", "The code_verifier does not match the code_challenge.")
    elif not has_secret:
        raise oauth_error(401, "invalid_client", "A client_secret is required (or PKCE's code_verifier).")
    return emulator.store.start_session(grant.user_id, grant.organization_id)


def _s256(verifier: str) -> str:
    """PKCE's S256: the challenge is the unpadded base64url SHA-256 of the verifier."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _redeem_refresh_token(emulator: WorkOSEmulator, body: dict[str, Any]) -> Session:
    token = str(body.get("refresh_token"))  # whatever it is, it is no token the store issued
    session = emulator.store.session_of_refresh_token(token)
    if session is None:
        raise oauth_error(400, "invalid_grant", "Invalid refresh token.")
    switch_to = body.get("organization_id")
    if switch_to is not None:
        # Checked before the token is used up: a refused switch leaves the session as it was.
        if not isinstance(switch_to, str) or not emulator.seeds.active_membership(session.user_id, switch_to):
            message = f"The user is not a member of organization {switch_to!r}."
            raise api_error(403, "organization_not_authorized", message)
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
