"""Reading the usage records back: a page of them with the totals over every matching row, and a summary.

Both need a session (a 401 without), and read only what the session may see: its user's usage in its
organization, or, for the organization's admin with `scope=organization`, everyone's there.

A router does HTTP only: it parses the request, calls one service and shapes its answer. The service
gets the engine and opens its own connections and transactions; no SQL here, and no transaction.
"""

from typing import Annotated

from fastapi import APIRouter, Query

from app.dependencies import CurrentSession, DbEngine
from app.schemas import UsagePage, UsageQuery, UsageSummary
from app.services.usage_reports import usage_page
from app.services.usage_scope import Scope
from app.services.usage_summary import usage_summary

router = APIRouter(prefix="/v1/usage", tags=["usage"])


@router.get("")
async def read_usage(
    query: Annotated[UsageQuery, Query()], session: CurrentSession, engine: DbEngine
) -> UsagePage:
    return await usage_page(engine, query, session)


@router.get("/summary")
async def read_summary(
    session: CurrentSession,
    engine: DbEngine,
    days: Annotated[int, Query(ge=1, le=90)] = 7,
    scope: Scope = "me",  # an organization's admin may read everyone's
) -> UsageSummary:
    return await usage_summary(engine, session, days=days, scope=scope)
