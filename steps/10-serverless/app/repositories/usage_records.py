"""The SQL about usage records: one function per statement, each on the connection it is given.

Like every repository, it never begins, commits or rolls back: the service that calls it decides
what a transaction holds. And it knows nothing of the API: its inputs are plain values.
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Row, Select, bindparam, func, select
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
    statement = _page(_filters_set(where), after_cursor=cursor is not None)
    return list(await conn.execute(statement, {**_values(where), "limit": limit, "cursor": cursor}))


async def sum_usage(conn: AsyncConnection, where: UsageFilter) -> Row[Any]:
    """Totals over every row the filters match, not just one page."""
    # Annotated: for a Select[Any], mypy infers Any through AsyncConnection.execute's overloads.
    totals: Row[Any] = (await conn.execute(_totals(_filters_set(where)), _values(where))).one()
    return totals


async def sum_usage_by_model(conn: AsyncConnection, where: UsageFilter) -> list[Row[Any]]:
    """The totals of each model and, in the same query, of all of them: the row whose model is NULL.

    `GROUP BY ROLLUP (model)` adds that grand-total row, so one scan answers both questions.
    """
    return list(await conn.execute(_totals_by_model(_filters_set(where)), _values(where)))


# The statements are built once per combination of filters, with a bind parameter for each value, and
# reused: the values travel with each execution, as with a prepared statement. SQLAlchemy compiles a
# statement once either way (its compiled cache), but it must build the Python objects of a statement
# and walk them to find it in that cache; building them on every call cost more of the app's CPU than
# PostgreSQL spent running them (notebooks/protected-proxy.ipynb).
@cache
def _page(filters: frozenset[str], *, after_cursor: bool) -> Select[Any]:
    statement = _filtered(select(usage_records), filters)
    if after_cursor:
        statement = statement.where(usage_records.c.id < bindparam("cursor"))
    return statement.order_by(usage_records.c.id.desc()).limit(bindparam("limit"))


@cache
def _totals(filters: frozenset[str]) -> Select[Any]:
    return _filtered(select(*_SUMS), filters)


@cache
def _totals_by_model(filters: frozenset[str]) -> Select[Any]:
    model = usage_records.c.model
    statement = _filtered(select(model, *_SUMS), filters)
    return statement.group_by(func.rollup(model)).order_by(model.nulls_first())


_SUMS = [
    func.count().label("calls"),
    func.coalesce(func.sum(usage_records.c.prompt_tokens), 0).label("prompt_tokens"),
    func.coalesce(func.sum(usage_records.c.completion_tokens), 0).label("completion_tokens"),
    func.coalesce(func.sum(usage_records.c.total_tokens), 0).label("total_tokens"),
]

# Each filter as a condition on a bind parameter of the filter's name.
_CONDITIONS = {
    "organization_id": usage_records.c.organization_id == bindparam("organization_id"),
    "user_id": usage_records.c.user_id == bindparam("user_id"),
    "model": usage_records.c.model == bindparam("model"),
    "status_code": usage_records.c.status_code == bindparam("status_code"),
    "since": usage_records.c.created_at >= bindparam("since"),
    "until": usage_records.c.created_at < bindparam("until"),
}


def _filtered(statement: Select[Any], filters: frozenset[str]) -> Select[Any]:
    return statement.where(*(condition for name, condition in _CONDITIONS.items() if name in filters))


def _values(where: UsageFilter) -> dict[str, Any]:
    """The filters that are set (None leaves a column unfiltered), by name."""
    return {name: value for name, value in asdict(where).items() if value is not None}


def _filters_set(where: UsageFilter) -> frozenset[str]:
    return frozenset(_values(where))
