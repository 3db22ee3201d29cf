"""Reading the usage records back: a page of them, and the totals over every matching row.

A router does HTTP only: it parses the request, calls one service and shapes its answer. The service
gets the engine and opens its own connection and transaction; no SQL here, and no transaction.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from app.dependencies import DbEngine
from app.schemas import UsagePage, UsageQuery
from app.services.usage_reports import usage_page

router = APIRouter(prefix="/v1/usage", tags=["usage"])


@router.get("")
async def read_usage(query: Annotated[UsageQuery, Query()], engine: DbEngine) -> UsagePage:
    return await usage_page(engine, query)
