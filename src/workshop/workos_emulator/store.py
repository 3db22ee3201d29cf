"""What the emulator remembers between requests, in memory, and the JSON it answers with.

Authorization codes, sessions and refresh tokens live here; `WorkOSEmulator.reset()` replaces the
whole store, so a test starts with none of them. The JSON shapes are those of the WorkOS API, with
every key present: the SDK's models read most keys as `data["key"]`, so a missing one is an error.
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .seeds import SEEDED_AT, Membership, Organization, Seeds, User, derived_id, ulid

CODE_LIFETIME = 600
"""Seconds an authorization code can be exchanged for tokens: 10 minutes, as at WorkOS."""


def iso(moment: float) -> str:
    """`2024-11-01T09:30:00.123Z`: ISO 8601 with milliseconds and `Z`, as WorkOS writes times."""
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


SEEDED = iso(SEEDED_AT.timestamp())
"""`created_at` and `updated_at` of everything in the seeds."""


@dataclass(frozen=True, kw_only=True)
class AuthorizationCode:
    user_id: str
    organization_id: str | None
    client_id: str
    code_challenge: str | None
    """The PKCE challenge the login started with; the exchange must bring its verifier."""
    expires_at: float


@dataclass(kw_only=True)
class Session:
    """One sign-in. Refreshing keeps it (same `sid`); logging out or revoking ends it."""

    id: str
    user_id: str
    organization_id: str | None
    auth_time: int
    active: bool = True


@dataclass
class Store:
    seeds: Seeds
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    """Refresh token -> session id. A token is removed when used: each works once."""
    last_sign_in_at: dict[str, str] = field(default_factory=dict)
    """User id -> when the user last signed in (the one field of a user that changes)."""

    def issue_code(
        self, *, user_id: str, organization_id: str | None, client_id: str, code_challenge: str | None
    ) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = AuthorizationCode(
            user_id=user_id,
            organization_id=organization_id,
            client_id=client_id,
            code_challenge=code_challenge,
            expires_at=time.time() + CODE_LIFETIME,
        )
        return code

    def redeem_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """The code's grant, or None when it is unknown, used, expired or another client's.

        Removed at once, even when it cannot be redeemed: a code is good for one attempt only.
        """
        grant = self.codes.pop(code, None)
        if grant is None or grant.expires_at < time.time() or grant.client_id != client_id:
            return None
        return grant

    def start_session(self, user_id: str, organization_id: str | None) -> Session:
        now = time.time()
        session = Session(
            id=f"session_{new_ulid()}", user_id=user_id, organization_id=organization_id, auth_time=int(now)
        )
        self.sessions[session.id] = session
        self.last_sign_in_at[user_id] = iso(now)
        return session

    def session_of_refresh_token(self, token: str) -> Session | None:
        """The live session a refresh token belongs to; None when the token was used or its session ended."""
        session = self.sessions.get(self.refresh_tokens.get(token, ""))
        return session if session is not None and session.active else None

    def issue_refresh_token(self, session: Session) -> str:
        token = secrets.token_urlsafe(32)
        self.refresh_tokens[token] = session.id
        return token

    def use_refresh_token(self, token: str) -> None:
        del self.refresh_tokens[token]

    def end_session(self, session_id: str) -> bool:
        """Ends the session and forgets its refresh tokens; False when there is no such session."""
        session = self.sessions.get(session_id)
        if session is None:
            return False
        session.active = False
        for token in [t for t, owner in self.refresh_tokens.items() if owner == session_id]:
            del self.refresh_tokens[token]
        return True

    def access_token_claims(self, session: Session, *, ttl: int, issuer: str | None) -> dict[str, Any]:
        """The claims WorkOS puts in an access token. The SDK requires `sid` and `auth_time`."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": session.user_id,
            "sid": session.id,
            "jti": new_ulid(),
            "auth_time": session.auth_time,
            "iat": now,
            "exp": now + ttl,
        }
        if issuer:
            claims["iss"] = issuer
        if session.organization_id is None:
            return claims
        membership = self.seeds.active_membership(session.user_id, session.organization_id)
        if membership is not None:
            claims |= {
                "org_id": membership.organization_id,
                "role": membership.role,
                "roles": [membership.role],
                "permissions": list(self.seeds.roles[membership.role]),
            }
        return claims

    def user_json(self, user: User) -> dict[str, Any]:
        name = " ".join(part for part in (user.first_name, user.last_name) if part)
        return {
            "object": "user",
            "id": user.id,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "name": name or None,
            "email_verified": user.email_verified,
            "profile_picture_url": None,
            "external_id": None,
            "last_sign_in_at": self.last_sign_in_at.get(user.id),
            "locale": None,
            "metadata": {},
            "created_at": SEEDED,
            "updated_at": SEEDED,
        }

    def organization_json(self, organization: Organization) -> dict[str, Any]:
        return {
            "object": "organization",
            "id": organization.id,
            "name": organization.name,
            "domains": [_domain_json(organization.id, domain) for domain in organization.domains],
            "metadata": {},
            "external_id": None,
            "allow_profiles_outside_organization": False,
            "created_at": SEEDED,
            "updated_at": SEEDED,
        }

    def membership_json(self, membership: Membership) -> dict[str, Any]:
        user = self.seeds.user(membership.user_id)
        organization = self.seeds.organization(membership.organization_id)
        assert user is not None and organization is not None  # Seeds refuses dangling ids
        return {
            "object": "organization_membership",
            "id": membership.id,
            "user_id": membership.user_id,
            "organization_id": membership.organization_id,
            "organization_name": organization.name,
            "status": membership.status,
            "directory_managed": False,
            "role": {"slug": membership.role},
            "roles": [{"slug": membership.role}],
            "custom_attributes": {},
            "user": self.user_json(user),
            "created_at": SEEDED,
            "updated_at": SEEDED,
        }


def _domain_json(organization_id: str, domain: str) -> dict[str, Any]:
    return {
        "object": "organization_domain",
        "id": derived_id("org_domain", organization_id, domain),
        "organization_id": organization_id,
        "domain": domain,
        "state": "verified",
        "verification_strategy": "manual",
        "verification_token": None,
        "verification_prefix": None,
        "created_at": SEEDED,
        "updated_at": SEEDED,
    }


def new_ulid() -> str:
    """A fresh ULID, as in WorkOS' ids: sortable by creation time, random after that."""
    return ulid(time.time_ns() // 1_000_000, uuid.uuid4().int)
