"""The SQL about usage records. Repositories run statements on the connection they are given; they
never begin, commit or roll back: the service that calls them decides what a transaction holds."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import usage_records
from app.schemas import Usage, UsageQuery


async def add(
    conn: AsyncConnection, *, model: str, streamed: bool, status_code: int, usage: Usage, latency_ms: int
) -> datetime:
    """Adds one record; returns the time the database stamped it with."""
    statement = (
        insert(usage_records)
        .values(
            model=model,
            streamed=streamed,
            status_code=status_code,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            total_tokens=usage.total_tokens,
            latency_ms=latency_ms,
        )
        .returning(usage_records.c.created_at)
    )
    created_at: datetime = (await conn.execute(statement)).scalar_one()
    return created_at


async def page(conn: AsyncConnection, query: UsageQuery) -> list[Row[Any]]:
    """One page, newest first. The cursor is the id of the last row of the previous page."""
    statement = _filtered(select(usage_records), query)
    if query.cursor is not None:
        statement = statement.where(usage_records.c.id < query.cursor)
    statement = statement.order_by(usage_records.c.id.desc()).limit(query.limit)
    return list(await conn.execute(statement))


async def totals(conn: AsyncConnection, query: UsageQuery) -> Row[Any]:
    """Totals over every row the filters match, not just one page."""
    statement = select(*_sums())
    # Annotated: for a Select[Any], mypy infers Any through AsyncConnection.execute's overloads.
    row: Row[Any] = (await conn.execute(_filtered(statement, query))).one()
    return row


async def totals_by_model(conn: AsyncConnection) -> list[Row[Any]]:
    """The totals of each model and, in the same query, of all of them: the row whose model is NULL.

    `GROUP BY ROLLUP (model)` adds that grand-total row, so one scan answers both questions.
    """
    model = usage_records.c.model
    statement = select(model, *_sums()).group_by(func.rollup(model)).order_by(model.nulls_first())
    return list(await conn.execute(statement))


def _sums() -> list[Any]:
    c = usage_records.c
    return [
        func.count().label("calls"),
        func.coalesce(func.sum(c.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(c.completion_tokens), 0).label("completion_tokens"),
        func.coalesce(func.sum(c.total_tokens), 0).label("total_tokens"),
    ]


def _filtered(statement: Select[Any], query: UsageQuery) -> Select[Any]:
    c = usage_records.c
    if query.model is not None:
        statement = statement.where(c.model == query.model)
    if query.status_code is not None:
        statement = statement.where(c.status_code == query.status_code)
    if query.since is not None:
        statement = statement.where(c.created_at >= query.since)
    if query.until is not None:
        statement = statement.where(c.created_at < query.until)
    return statement
