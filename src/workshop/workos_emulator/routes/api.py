"""The rest of the WorkOS API the SDK calls: users, organizations, memberships, session revocation.

Every call needs `Authorization: Bearer <api key>`, follows `Behaviour` (latency, failures, hangs),
and answers errors in WorkOS' `{"message", "code"}` shape. The objects are the seeds, as JSON.
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Header, Query
from pydantic import BaseModel

from ..behaviour import misbehave
from ..dependencies import Emulator
from ..errors import api_error
from ..seeds import MembershipStatus
from .pagination import Page, one_page


def require_api_key(emulator: Emulator, authorization: Annotated[str | None, Header()] = None) -> None:
    if authorization != f"Bearer {emulator.api_key}":
        raise api_error(401, "unauthorized", "Unauthorized")


router = APIRouter(tags=["api"], dependencies=[Depends(misbehave), Depends(require_api_key)])


class RevokeSession(BaseModel):
    session_id: str


@router.post("/user_management/sessions/revoke")
async def revoke_session(revoke: RevokeSession, emulator: Emulator) -> dict[str, Any]:
    if not emulator.store.end_session(revoke.session_id):
        raise api_error(404, "entity_not_found", f"Session not found: {revoke.session_id!r}.")
    return {}


@router.get("/user_management/users/{user_id}")
async def get_user(user_id: str, emulator: Emulator) -> dict[str, Any]:
    user = emulator.seeds.user(user_id)
    if user is None:
        raise api_error(404, "entity_not_found", "User not found")
    return emulator.store.user_json(user)


@router.get("/user_management/organization_memberships")
async def list_memberships(
    emulator: Emulator,
    page: Annotated[Page, Query()],
    user_id: str | None = None,
    organization_id: str | None = None,
    statuses: str = "active",
) -> dict[str, Any]:
    if user_id is None and organization_id is None:
        raise api_error(422, "invalid_request_parameters", "Either user_id or organization_id is required.")
    wanted = set(statuses.split(","))
    if unknown := wanted - set(get_args(MembershipStatus)):
        raise api_error(422, "invalid_request_parameters", f"Unknown statuses: {', '.join(sorted(unknown))}.")
    memberships = [
        emulator.store.membership_json(m)
        for m in emulator.seeds.memberships
        if m.status in wanted
        and user_id in (None, m.user_id)
        and organization_id in (None, m.organization_id)
    ]
    return one_page(memberships, page)


@router.get("/user_management/organization_memberships/{membership_id}")
async def get_membership(membership_id: str, emulator: Emulator) -> dict[str, Any]:
    membership = emulator.seeds.membership(membership_id)
    if membership is None:
        raise api_error(404, "entity_not_found", "Organization membership not found")
    return emulator.store.membership_json(membership)


@router.get("/organizations")
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
    return one_page(organizations, page)


@router.get("/organizations/{organization_id}")
async def get_organization(organization_id: str, emulator: Emulator) -> dict[str, Any]:
    organization = emulator.seeds.organization(organization_id)
    if organization is None:
        raise api_error(404, "entity_not_found", "Organization not found")
    return emulator.store.organization_json(organization)
