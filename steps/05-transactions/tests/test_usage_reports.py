"""`GET /v1/usage` reads its page and its totals from one snapshot (REPEATABLE READ)."""

from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from workshop.testing import app_client

from app.db.tables import usage_records
from app.main import create_app
from app.repositories import usage_records as usage_records_repository
from app.schemas import UsageQuery
from app.settings import Settings

RECORD = {
    "model": "gemini-2.5-flash",
    "streamed": False,
    "status_code": 200,
    "prompt_tokens": 2,
    "completion_tokens": 4,
    "total_tokens": 6,
    "latency_ms": 10,
}


async def test_a_call_recorded_between_the_page_and_the_totals_shows_in_neither(
    client: httpx.AsyncClient, db: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.execute(insert(usage_records), [RECORD])
    db.commit()
    read_totals = usage_records_repository.totals

    async def totals_after_another_call_is_recorded(conn: AsyncConnection, query: UsageQuery) -> Any:
        db.execute(insert(usage_records), [RECORD])  # another request's call, committed in between
        db.commit()
        return await read_totals(conn, query)

    monkeypatch.setattr(usage_records_repository, "totals", totals_after_another_call_is_recorded)

    body = (await client.get("/v1/usage")).json()

    assert len(body["items"]) == 1
    assert body["totals"]["calls"] == 1  # as of the snapshot the page was read from, not 2


async def test_the_pool_gets_the_connection_back_at_read_committed(settings: Settings) -> None:
    app = create_app(settings)
    async with app_client(app) as client:
        await client.get("/v1/usage")  # its connection read at REPEATABLE READ
        engine: AsyncEngine = app.state.engine

        assert engine.pool.checkedin() == 1  # so the next connection is that same one
        async with engine.connect() as conn:
            isolation = await conn.scalar(text("SHOW transaction_isolation"))

    assert isolation == "read committed"  # PostgreSQL's default, for whoever borrows it next
