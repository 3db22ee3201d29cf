"""Who exists in the emulator: users, organizations, memberships and roles, loaded from a TOML file.

Seeds never change while the emulator runs (a sign-in only records when it happened, in the store),
so a test can count on them. Ids are fixed in the file, so they are the same on every run.
"""

from __future__ import annotations

import hashlib
import inspect
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

EXAMPLE_SEEDS = Path(__file__).with_name("example-seed.toml")
"""The kit's default seed file: three users, two organizations, roles `admin` and `member`."""

SEEDED_AT = datetime(2024, 11, 1, tzinfo=UTC)
"""When everything in the seeds was "created": a fixed time, so responses are the same on every run."""

MembershipStatus = Literal["active", "inactive", "pending"]

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""The alphabet of ULIDs (the 26 characters after a WorkOS id's prefix): no I, L, O or U."""


def ulid(timestamp_ms: int, randomness: int) -> str:
    """A ULID: 48 bits of milliseconds then 80 bits of randomness, as 26 Crockford base-32 characters."""
    number = (timestamp_ms % 2**48) << 80 | randomness % 2**80
    return "".join(CROCKFORD[(number >> shift) & 31] for shift in range(125, -1, -5))


def derived_id(prefix: str, *parts: str) -> str:
    """An id computed from `parts`, "created" at `SEEDED_AT`: the same parts give the same id on every run."""
    digest = int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest())
    return f"{prefix}_{ulid(int(SEEDED_AT.timestamp() * 1000), digest)}"


@dataclass(frozen=True, kw_only=True)
class User:
    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    email_verified: bool = True


@dataclass(frozen=True, kw_only=True)
class Organization:
    id: str
    name: str
    domains: Sequence[str] = ()


@dataclass(frozen=True, kw_only=True)
class Membership:
    user_id: str
    organization_id: str
    role: str = "member"
    status: MembershipStatus = "active"
    id: str = ""
    """Optional in a seed file: derived from the user and the organization when left out."""

    def __post_init__(self) -> None:
        if not self.id:  # a frozen dataclass can only set its own field this way
            object.__setattr__(self, "id", derived_id("om", self.user_id, self.organization_id))


@dataclass(frozen=True, kw_only=True)
class Seeds:
    users: Sequence[User] = ()
    organizations: Sequence[Organization] = ()
    memberships: Sequence[Membership] = ()
    roles: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Role slug -> the permission slugs it grants (they go into the access token)."""

    def __post_init__(self) -> None:
        """Refuses seeds that contradict themselves: a typo here would otherwise show up as a puzzling
        login much later."""
        _no_duplicates("user id", [user.id for user in self.users])
        _no_duplicates("user email", [user.email.lower() for user in self.users])
        _no_duplicates("organization id", [org.id for org in self.organizations])
        _no_duplicates("membership", [(m.user_id, m.organization_id) for m in self.memberships])
        for membership in self.memberships:
            where = f"the membership of {membership.user_id} in {membership.organization_id}"
            if self.user(membership.user_id) is None:
                raise ValueError(f"{where}: there is no such user")
            if self.organization(membership.organization_id) is None:
                raise ValueError(f"{where}: there is no such organization")
            if membership.status not in get_args(MembershipStatus):
                raise ValueError(
                    f"{where}: status {membership.status!r} is not one of {get_args(MembershipStatus)}"
                )
            if membership.role not in self.roles:
                known = ", ".join(self.roles) or "none"
                raise ValueError(f"{where}: role {membership.role!r} is not in [roles] (known: {known})")

    def user(self, user_id: str) -> User | None:
        return next((user for user in self.users if user.id == user_id), None)

    def user_by_email(self, email: str) -> User | None:
        return next((user for user in self.users if user.email.lower() == email.lower()), None)

    def organization(self, organization_id: str) -> Organization | None:
        return next((org for org in self.organizations if org.id == organization_id), None)

    def membership(self, membership_id: str) -> Membership | None:
        return next((m for m in self.memberships if m.id == membership_id), None)

    def active_membership(self, user_id: str, organization_id: str) -> Membership | None:
        return next(
            (m for m in self.active_memberships(user_id) if m.organization_id == organization_id), None
        )

    def active_memberships(self, user_id: str) -> list[Membership]:
        return [m for m in self.memberships if m.user_id == user_id and m.status == "active"]

    def roles_held(self, user_id: str) -> list[str]:
        """`["admin of Analytical Engines", …]`: what the user is, where, for people to read."""
        return [
            f"{m.role} of {org.name}"
            for m in self.active_memberships(user_id)
            if (org := self.organization(m.organization_id))
        ]

    def who_can_sign_in(self) -> list[str]:
        """One line per user: the email, then the role held in each organization."""
        width = max((len(user.email) for user in self.users), default=0)
        return [
            f"{user.email:<{width}}  {', '.join(self.roles_held(user.id)) or 'no organization'}"
            for user in self.users
        ]


def load_seeds(path: str | Path) -> Seeds:
    """Reads a seed file (see `example-seed.toml`); a wrong key or a dangling id is a `ValueError`."""
    path = Path(path)
    with path.open("rb") as file:
        data = tomllib.load(file)
    try:
        _only_keys(data, {"users", "organizations", "memberships", "roles"}, "the file")
        return Seeds(
            users=_tables(data, "users", User),
            organizations=_tables(data, "organizations", Organization),
            memberships=_tables(data, "memberships", Membership),
            roles={slug: tuple(permissions) for slug, permissions in data.get("roles", {}).items()},
        )
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


T = TypeVar("T")


def _tables(data: Mapping[str, Any], name: str, kind: type[T]) -> tuple[T, ...]:
    """`[[name]]` tables as `kind` objects, naming the table of any mistake."""
    known = set(inspect.signature(kind).parameters)
    made = []
    for number, table in enumerate(data.get(name, [])):
        where = f"{name}[{number}]"
        _only_keys(table, known, where)
        try:
            made.append(kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in table.items()}))
        except TypeError as error:  # a required key is missing
            raise ValueError(f"{where}: {error}") from None
    return tuple(made)


def _only_keys(table: Mapping[str, Any], known: set[str], where: str) -> None:
    if unknown := set(table) - known:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")


def _no_duplicates(what: str, values: Sequence[object]) -> None:
    if repeated := sorted({str(v) for v in values if values.count(v) > 1}):
        raise ValueError(f"the same {what} appears twice: {', '.join(repeated)}")
