"""The SQL about usage records: one function per statement, each taking an `AsyncConnection`."""

from typing import Any

from sqlalchemy import Row, Select, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import usage_records
from app.schemas import UsageQuery


async def insert_usage(conn: AsyncConnection, **values: Any) -> None:
    await conn.execute(insert(usage_records).values(**values))


async def list_usage(conn: AsyncConnection, query: UsageQuery) -> list[Row[Any]]:
    """One page, newest first. The cursor is the id of the last row of the previous page."""
    statement = _filtered(select(usage_records), query)
    if query.cursor is not None:
        statement = statement.where(usage_records.c.id < query.cursor)
    statement = statement.order_by(usage_records.c.id.desc()).limit(query.limit)
    return list(await conn.execute(statement))


async def sum_usage(conn: AsyncConnection, query: UsageQuery) -> Row[Any]:
    """Totals over every row the filters match, not just one page."""
    c = usage_records.c
    statement = select(
        func.count().label("calls"),
        func.coalesce(func.sum(c.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(c.completion_tokens), 0).label("completion_tokens"),
        func.coalesce(func.sum(c.total_tokens), 0).label("total_tokens"),
    )
    # Annotated: for a Select[Any], mypy infers Any through AsyncConnection.execute's overloads.
    totals: Row[Any] = (await conn.execute(_filtered(statement, query))).one()
    return totals


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
