"""The SQL about usage records: one function per statement, each on the connection it is given.

Like every repository, it never begins, commits or rolls back: the service that calls it decides
what a transaction holds. And it knows nothing of the API: its inputs are plain values.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import usage_records


@dataclass(frozen=True, kw_only=True)
class UsageFilter:
    """Which records a read is about: always one organization's; None leaves a column unfiltered."""

    organization_id: str
    user_id: str | None = None
    model: str | None = None
    status_code: int | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


async def insert_usage_once(conn: AsyncConnection, **values: Any) -> bool:
    """Inserts the call's record unless its `call_id` is recorded already; True if it inserted it.

    `ON CONFLICT DO NOTHING` on the unique `call_id`: the second write of a call is a no-op, not an
    error, and `RETURNING` tells the two apart (it returns no row when nothing was inserted).
    """
    statement = insert(usage_records).values(**values).on_conflict_do_nothing(index_elements=["call_id"])
    inserted = await conn.execute(statement.returning(usage_records.c.id))
    return inserted.first() is not None


async def list_usage(
    conn: AsyncConnection, where: UsageFilter, *, limit: int, cursor: int | None
) -> list[Row[Any]]:
    """One page, newest first. The cursor is the id of the last row of the previous page."""
    statement = _filtered(select(usage_records), where)
    if cursor is not None:
        statement = statement.where(usage_records.c.id < cursor)
    statement = statement.order_by(usage_records.c.id.desc()).limit(limit)
    return list(await conn.execute(statement))


async def sum_usage(conn: AsyncConnection, where: UsageFilter) -> Row[Any]:
    """Totals over every row the filters match, not just one page."""
    # Annotated: for a Select[Any], mypy infers Any through AsyncConnection.execute's overloads.
    totals: Row[Any] = (await conn.execute(_filtered(select(*_sums()), where))).one()
    return totals


async def sum_usage_by_model(conn: AsyncConnection, where: UsageFilter) -> list[Row[Any]]:
    """The totals of each model and, in the same query, of all of them: the row whose model is NULL.

    `GROUP BY ROLLUP (model)` adds that grand-total row, so one scan answers both questions.
    """
    model = usage_records.c.model
    statement = _filtered(select(model, *_sums()), where)
    statement = statement.group_by(func.rollup(model)).order_by(model.nulls_first())
    return list(await conn.execute(statement))


def _sums() -> list[Any]:
    c = usage_records.c
    return [
        func.count().label("calls"),
        func.coalesce(func.sum(c.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(c.completion_tokens), 0).label("completion_tokens"),
        func.coalesce(func.sum(c.total_tokens), 0).label("total_tokens"),
    ]


def _filtered(statement: Select[Any], where: UsageFilter) -> Select[Any]:
    c = usage_records.c
    statement = statement.where(c.organization_id == where.organization_id)
    if where.user_id is not None:
        statement = statement.where(c.user_id == where.user_id)
    if where.model is not None:
        statement = statement.where(c.model == where.model)
    if where.status_code is not None:
        statement = statement.where(c.status_code == where.status_code)
    if where.since is not None:
        statement = statement.where(c.created_at >= where.since)
    if where.until is not None:
        statement = statement.where(c.created_at < where.until)
    return statement
