"""The usage summary: per-model totals and the last days, read at the same time."""

from functools import partial

from sqlalchemy.ext.asyncio import AsyncEngine

from app.repositories import daily_usage, usage_records
from app.repositories.usage_records import UsageFilter
from app.schemas import DayUsage, ModelUsage, UsageSummary, UsageTotals
from app.services.concurrent_reads import read_concurrently
from app.services.usage_scope import Scope, whose_usage
from app.session_store import StoredSession


async def usage_summary(
    engine: AsyncEngine, session: StoredSession, *, days: int, scope: Scope
) -> UsageSummary:
    """Two independent reads of two tables, so they run at once, each on a connection of its own.

    The grand totals need no third read: the per-model query computes them in the same scan (ROLLUP).
    """
    whose = whose_usage(session, scope)
    by_model, by_day = await read_concurrently(
        engine,
        partial(
            usage_records.sum_usage_by_model,
            where=UsageFilter(organization_id=whose.organization_id, user_id=whose.user_id),
        ),
        partial(
            daily_usage.recent_days, days=days, organization_id=whose.organization_id, user_id=whose.user_id
        ),
    )
    grand_total, *per_model = by_model  # ROLLUP's total row sorts first (its model is NULL)
    return UsageSummary(
        totals=UsageTotals.model_validate(grand_total._mapping),
        by_model=[ModelUsage.model_validate(row._mapping) for row in per_model],
        by_day=[DayUsage.model_validate(row._mapping) for row in by_day],
    )
