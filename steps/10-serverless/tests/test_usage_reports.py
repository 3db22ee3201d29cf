"""`GET /v1/usage` reads its page and its totals from one snapshot (REPEATABLE READ)."""

from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.db.tables import usage_records
from app.repositories import usage_records as usage_records_repository
from app.repositories.usage_records import UsageFilter
from app.schemas import UsageQuery
from app.services.usage_reports import usage_page

from .factories import ada_session, usage_record


async def test_a_call_recorded_between_the_page_and_the_totals_shows_in_neither(
    ada: httpx.AsyncClient, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.execute(insert(usage_records), [usage_record()])
    db.commit()
    sum_usage = usage_records_repository.sum_usage

    async def sum_usage_after_another_call_is_recorded(conn: AsyncConnection, where: UsageFilter) -> Any:
        db.execute(insert(usage_records), [usage_record()])  # another request's call, committed in between
        db.commit()
        return await sum_usage(conn, where)

    monkeypatch.setattr(usage_records_repository, "sum_usage", sum_usage_after_another_call_is_recorded)

    body = (await ada.get("/v1/usage")).json()

    assert db.scalar(text("SELECT count(*) FROM usage_records")) == 2  # the second call did commit...
    assert len(body["items"]) == 1
    assert body["totals"]["calls"] == 1  # ...after the snapshot the page and its totals were read from


async def test_the_pool_gets_the_connection_back_at_read_committed(engine: AsyncEngine) -> None:
    await usage_page(engine, UsageQuery(), ada_session())  # its connection read at REPEATABLE READ

    assert engine.pool.checkedin() == 1  # so the next connection is that same one
    async with engine.connect() as conn:
        isolation = await conn.scalar(text("SHOW transaction_isolation"))

    assert isolation == "read committed"  # PostgreSQL's default, for whoever borrows it next
