"""Reading the usage records back: a page of them, and the totals over every matching row."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.db.usage import list_usage, sum_usage
from app.dependencies import DbConnection
from app.schemas import UsagePage, UsageQuery, UsageRecord, UsageTotals

router = APIRouter(prefix="/v1/usage", tags=["usage"])


@router.get("")
async def read_usage(query: Annotated[UsageQuery, Query()], conn: DbConnection) -> UsagePage:
    rows = await list_usage(conn, query)
    totals = await sum_usage(conn, query)  # one after the other: a connection runs one query at a time
    full_page = len(rows) == query.limit
    return UsagePage(
        items=[UsageRecord.model_validate(row._mapping) for row in rows],
        totals=UsageTotals.model_validate(totals._mapping),
        next_cursor=rows[-1].id if full_page else None,
    )
