"""A page of usage records and the totals over every matching one, as of one moment."""

from sqlalchemy.ext.asyncio import AsyncEngine

from app.repositories import usage_records
from app.repositories.usage_records import UsageFilter
from app.schemas import UsagePage, UsageQuery, UsageRecord, UsageTotals
from app.services.usage_scope import whose_usage
from app.session_store import StoredSession


async def usage_page(engine: AsyncEngine, query: UsageQuery, session: StoredSession) -> UsagePage:
    """Two reads, one snapshot. Under PostgreSQL's default (READ COMMITTED) each statement sees the
    data as of its own start, so a call recorded between the two could be in the totals and not on
    the page. REPEATABLE READ makes both statements of the transaction read the same snapshot."""
    whose = whose_usage(session, query.scope)
    where = UsageFilter(
        organization_id=whose.organization_id,
        user_id=whose.user_id,
        model=query.model,
        status_code=query.status_code,
        since=query.since,
        until=query.until,
    )
    async with engine.connect() as conn:
        # On this connection only; the pool resets it to the default when the connection goes back.
        await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            rows = await usage_records.list_usage(conn, where, limit=query.limit, cursor=query.cursor)
            totals = await usage_records.sum_usage(conn, where)
    full_page = len(rows) == query.limit
    return UsagePage(
        items=[UsageRecord.model_validate(row._mapping) for row in rows],
        totals=UsageTotals.model_validate(totals._mapping),
        next_cursor=rows[-1].id if full_page else None,
    )
