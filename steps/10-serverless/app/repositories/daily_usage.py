"""The SQL about each day's running totals. Like every repository: statements, never transactions."""

from datetime import date
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import daily_usage, utc_today


async def add_to_day(
    conn: AsyncConnection,
    *,
    day: date | None,
    organization_id: str,
    user_id: str,
    model: str,
    prompt_tokens: int,
    completion_tokens: int,
    total_tokens: int,
) -> None:
    """Counts one call into its day's row of its organization, user and model: the first call inserts
    it, later ones add to it. The day is today (by the database's clock) unless given: a call recorded
    late, from the outbox, counts into the day it ended.

    `INSERT … ON CONFLICT DO UPDATE` does both in one statement, atomically: two calls landing at the
    same moment cannot both insert, and neither increment is lost.
    """
    new = insert(daily_usage).values(
        day=day or utc_today(),
        organization_id=organization_id,
        user_id=user_id,
        model=model,
        calls=1,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=total_tokens,
    )
    c, added = daily_usage.c, new.excluded
    await conn.execute(
        new.on_conflict_do_update(
            index_elements=[c.day, c.organization_id, c.user_id, c.model],
            set_={
                "calls": c.calls + added.calls,
                "prompt_tokens": c.prompt_tokens + added.prompt_tokens,
                "completion_tokens": c.completion_tokens + added.completion_tokens,
                "total_tokens": c.total_tokens + added.total_tokens,
            },
        )
    )


async def recent_days(
    conn: AsyncConnection, *, days: int, organization_id: str, user_id: str | None = None
) -> list[Row[Any]]:
    """The totals of each of the last `days` days up to today, all models together, oldest first: of
    one organization, or of one user in it."""
    c = daily_usage.c
    statement = (
        select(c.day, func.sum(c.calls).label("calls"), func.sum(c.total_tokens).label("total_tokens"))
        .where(c.day > utc_today() - days, c.day <= utc_today())  # today by the clock that counted them
        .where(c.organization_id == organization_id)
        .group_by(c.day)
        .order_by(c.day)
    )
    if user_id is not None:
        statement = statement.where(c.user_id == user_id)
    return list(await conn.execute(statement))


async def tokens_spent(conn: AsyncConnection, *, organization_id: str, day: date) -> int:
    """What an organization's calls of a day cost, in tokens: what its budget's counters start from."""
    c = daily_usage.c
    statement = select(func.coalesce(func.sum(c.total_tokens), 0)).where(
        c.day == day, c.organization_id == organization_id
    )
    return int((await conn.execute(statement)).scalar_one())  # sum() of a BIGINT is a NUMERIC: a Decimal
