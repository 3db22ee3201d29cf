"""The schema, as SQLAlchemy Core `Table` objects on one `MetaData`. No ORM classes."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    func,
)

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

# One row per proxied call, whatever its outcome.
usage_records = Table(
    "usage_records",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("model", Text, nullable=False),
    Column("streamed", Boolean, nullable=False),
    Column("status_code", SmallInteger, nullable=False),  # what our client got: 200, 502, 504…
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("total_tokens", Integer, nullable=False),
    Column("latency_ms", Integer, nullable=False),
)
