"""The schema, as SQLAlchemy Core `Table` objects on one `MetaData`. No ORM classes."""

from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    Uuid,
    cast,
    func,
)
from sqlalchemy.sql.expression import ColumnElement

# Constraint and index names follow a convention, so they are the same on every database and a
# migration (step 04) can name what it changes.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# One row per proxied call, whatever its outcome: the ledger that billing, budgets and reports read.
usage_records = Table(
    "usage_records",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    # Made by the app when the call starts; UNIQUE, so however often a record is written (a retry, the
    # outbox moved twice) the call is counted once. Rows from before step 09 got one from the migration.
    Column("call_id", Uuid, nullable=False, unique=True, server_default=func.gen_random_uuid()),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Who made the call, and for which organization (WorkOS' ids). NULL only in rows from before step 09,
    # when calls were anonymous; the CHECK holds every row written since (NOT VALID: old rows not checked).
    Column("user_id", Text),
    Column("organization_id", Text),
    Column("model", Text, nullable=False),
    Column("streamed", Boolean, nullable=False),
    Column("status_code", SmallInteger, nullable=False),  # what our client got: 200, 502, 504…
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("total_tokens", Integer, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    CheckConstraint(
        "user_id IS NOT NULL AND organization_id IS NOT NULL", name="attributed", postgresql_not_valid=True
    ),
)

# GET /v1/usage filters on a time window (since, until), and its totals read every row in the window:
# without an index, each call scans the whole table, which grows by a row per proxied call, forever.
Index("ix_usage_records_created_at", usage_records.c.created_at)
# Since step 09 every read is of one organization, or of one user in it, newest first: these indexes
# find those rows in that order, instead of filtering the whole table.
Index("ix_usage_records_organization_id_id", usage_records.c.organization_id, usage_records.c.id)
Index(
    "ix_usage_records_organization_id_user_id_id",
    usage_records.c.organization_id,
    usage_records.c.user_id,
    usage_records.c.id,
)

# One row per day, organization, user and model: the running totals of those calls. Reading a day's sum
# here costs a few rows, not a scan of that day's usage records: an organization's budget for the day
# is rebuilt from them.
daily_usage = Table(
    "daily_usage",
    metadata,
    Column("day", Date, primary_key=True),  # utc_today() below, when the call was recorded
    Column("organization_id", Text, primary_key=True),
    Column("user_id", Text, primary_key=True),
    Column("model", Text, primary_key=True),
    Column("calls", Integer, nullable=False),
    Column("prompt_tokens", BigInteger, nullable=False),
    Column("completion_tokens", BigInteger, nullable=False),
    Column("total_tokens", BigInteger, nullable=False),
)

# Who signs in, and where. WorkOS owns these identities: its ids ("user_01…", "org_01…") are the keys
# here too, and every sign-in writes what WorkOS said of them (an upsert), so a renamed organization or
# a changed email is picked up at the next sign-in.
users = Table(
    "users",
    metadata,
    Column("id", Text, primary_key=True),  # WorkOS' user id
    Column("email", Text, nullable=False),
    Column("first_name", Text),
    Column("last_name", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_sign_in_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", Text, primary_key=True),  # WorkOS' organization id
    Column("name", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# A user's place in an organization, with the role WorkOS gave them there.
memberships = Table(
    "memberships",
    metadata,
    Column("user_id", ForeignKey(users.c.id), primary_key=True),
    Column("organization_id", ForeignKey(organizations.c.id), primary_key=True),
    Column("role", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def utc_today() -> ColumnElement[date]:
    """Today in UTC, by the database's clock: the clock that stamps `usage_records.created_at`.

    Inside a transaction `now()` is the time the transaction began, so a call's record and the day
    its tokens count into are stamped by one clock at one moment, whichever instance recorded it.
    """
    return cast(func.timezone("UTC", func.now()), Date)
