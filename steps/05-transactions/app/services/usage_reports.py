"""A page of usage records and the totals over every matching one, as of one moment."""

from sqlalchemy.ext.asyncio import AsyncConnection

from app.repositories import usage_records
from app.schemas import UsagePage, UsageQuery, UsageRecord, UsageTotals


async def usage_page(conn: AsyncConnection, query: UsageQuery) -> UsagePage:
    """Two reads, one snapshot. Under PostgreSQL's default (READ COMMITTED) each statement sees the
    data as of its own start, so a call recorded between the two could be in the totals and not on
    the page. REPEATABLE READ makes both statements of the transaction read the same snapshot."""
    await conn.execution_options(isolation_level="REPEATABLE READ")  # until the pool takes it back
    async with conn.begin():
        rows = await usage_records.page(conn, query)
        totals = await usage_records.totals(conn, query)
    full_page = len(rows) == query.limit
    return UsagePage(
        items=[UsageRecord.model_validate(row._mapping) for row in rows],
        totals=UsageTotals.model_validate(totals._mapping),
        next_cursor=rows[-1].id if full_page else None,
    )
