"""Reading usage back: a page of records with the totals over every matching row, and a summary.

Routers hold no SQL and open no transactions: they take a connection (or, to fan out, the engine)
from a dependency and hand it to a service.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from app.db.engine import DbConnection, DbEngine
from app.schemas import UsagePage, UsageQuery, UsageSummary
from app.services.usage_reports import usage_page
from app.services.usage_summary import usage_summary

router = APIRouter(prefix="/v1/usage", tags=["usage"])


@router.get("")
async def read_usage(query: Annotated[UsageQuery, Query()], conn: DbConnection) -> UsagePage:
    return await usage_page(conn, query)


@router.get("/summary")
async def read_summary(engine: DbEngine, days: Annotated[int, Query(ge=1, le=90)] = 7) -> UsageSummary:
    return await usage_summary(engine, days=days)
