"""The SQL about each day's running totals. Like every repository: statements, never transactions."""

from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import daily_usage, utc_today


async def add_to_today(
    conn: AsyncConnection, *, model: str, prompt_tokens: int, completion_tokens: int, total_tokens: int
) -> None:
    """Counts one call into today's row: the first call of a day inserts it, later ones add to it.

    `INSERT … ON CONFLICT DO UPDATE` does both in one statement, atomically: two calls landing at the
    same moment cannot both insert, and neither increment is lost.
    """
    new = insert(daily_usage).values(
        day=utc_today(),
        model=model,
        calls=1,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=total_tokens,
    )
    c, added = daily_usage.c, new.excluded
    await conn.execute(
        new.on_conflict_do_update(
            index_elements=[c.day, c.model],
            set_={
                "calls": c.calls + added.calls,
                "prompt_tokens": c.prompt_tokens + added.prompt_tokens,
                "completion_tokens": c.completion_tokens + added.completion_tokens,
                "total_tokens": c.total_tokens + added.total_tokens,
            },
        )
    )


async def recent_days(conn: AsyncConnection, *, days: int) -> list[Row[Any]]:
    """The totals of each of the last `days` days up to today, all models together, oldest first."""
    c = daily_usage.c
    statement = (
        select(c.day, func.sum(c.calls).label("calls"), func.sum(c.total_tokens).label("total_tokens"))
        .where(c.day > utc_today() - days, c.day <= utc_today())  # today by the clock that counted them
        .group_by(c.day)
        .order_by(c.day)
    )
    return list(await conn.execute(statement))
