"""Whose usage a session may read: a member their own, an admin their organization's, nobody another's.

The organization is always the session's own, never one the client names: no parameter can point a
report at another organization's calls, so none needs checking.
"""

from dataclasses import dataclass
from typing import Literal

from app.errors import Forbidden
from app.session_store import StoredSession

Scope = Literal["me", "organization"]
ADMIN = "admin"  # the role slug WorkOS gives an organization's admins (the membership's role)


@dataclass(frozen=True)
class Whose:
    organization_id: str
    user_id: str | None  # None: everyone in the organization


def whose_usage(session: StoredSession, scope: Scope) -> Whose:
    if not session.organization_id:
        raise Forbidden("Usage belongs to an organization: sign in to one of yours first.")
    if scope == "me":
        return Whose(session.organization_id, session.user_id)
    if session.role != ADMIN:
        raise Forbidden("Only an admin of the organization can read everyone's usage.")
    return Whose(session.organization_id, None)
