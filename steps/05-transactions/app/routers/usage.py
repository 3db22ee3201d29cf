"""Reading usage back: a page of records with the totals over every matching row, and a summary.

Routers hold no SQL and open no transactions: they take a connection (or, to fan out, the engine)
from a dependency and hand it to repositories and services.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from app.db.engine import DbConnection, DbEngine
from app.repositories import usage_records
from app.schemas import UsagePage, UsageQuery, UsageRecord, UsageSummary, UsageTotals
from app.services.usage_summary import usage_summary

router = APIRouter(prefix="/v1/usage", tags=["usage"])


@router.get("")
async def read_usage(query: Annotated[UsageQuery, Query()], conn: DbConnection) -> UsagePage:
    rows = await usage_records.page(conn, query)
    totals = await usage_records.totals(conn, query)  # after the page: a connection runs one query at a time
    full_page = len(rows) == query.limit
    return UsagePage(
        items=[UsageRecord.model_validate(row._mapping) for row in rows],
        totals=UsageTotals.model_validate(totals._mapping),
        next_cursor=rows[-1].id if full_page else None,
    )


@router.get("/summary")
async def read_summary(engine: DbEngine, days: Annotated[int, Query(ge=1, le=90)] = 7) -> UsageSummary:
    return await usage_summary(engine, days=days)
