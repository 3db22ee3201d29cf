"""The pool each instance keeps: as large as the settings say and no larger, a fast 503 with
Retry-After when it has nothing to spare, and no pool at all (nor prepared statements) behind a
pooler in transaction mode."""

import time
from contextlib import AsyncExitStack

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from workshop.testing import TestApp

from app.db.engine import open_engine
from app.errors import DatabaseBusy
from app.settings import Settings

SMALL_POOL = {"database_pool_size": 2, "database_max_overflow": 1, "database_pool_timeout_seconds": 0.3}


async def test_the_pool_opens_pool_size_plus_max_overflow_connections_then_says_busy(
    settings: Settings,
) -> None:
    async with open_engine(settings.model_copy(update=SMALL_POOL)) as engine, AsyncExitStack() as held:
        for _ in range(2 + 1):
            connection = await held.enter_async_context(engine.connect())
            await connection.execute(text("SELECT 1"))

        with pytest.raises(DatabaseBusy):
            await held.enter_async_context(engine.connect())


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=SMALL_POOL)


async def test_a_request_that_finds_the_pool_empty_gets_a_prompt_503_with_retry_after(
    test_app: TestApp, ada: httpx.AsyncClient
) -> None:
    async with AsyncExitStack() as held:  # other requests hold every connection the instance may open
        for _ in range(2 + 1):
            await held.enter_async_context(test_app.state["engine"].connect())
        started = time.monotonic()
        busy = await ada.get("/v1/usage")
        waited = time.monotonic() - started

    after = await ada.get("/v1/usage")

    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "1"
    assert busy.json() == {"detail": "The database is busy; try again in a moment."}
    assert waited < 5  # the pool's 0.3 s and the request's own work: it did not hang until a client gave up
    assert after.status_code == 200  # connections given back: business as usual


async def prepared_statements(connection: AsyncConnection) -> int:
    """How many statements PostgreSQL keeps prepared for this connection, after the app's kind of query
    has run on it twice."""
    for _ in range(2):
        await connection.execute(text("SELECT count(*) FROM usage_records WHERE id > :id"), {"id": 0})
    return (await connection.execute(text("SELECT count(*) FROM pg_prepared_statements"))).scalar_one()


async def test_behind_a_transaction_pooler_no_statement_is_kept_prepared(settings: Settings) -> None:
    """A pooler in transaction mode hands the next transaction any server connection: a statement kept
    prepared on this one would be missing there. Without `database_external_pooler`, asyncpg keeps them."""
    async with open_engine(settings) as engine, engine.connect() as connection:
        pooled = await prepared_statements(connection)
    behind_a_pooler = settings.model_copy(update={"database_external_pooler": True})
    async with open_engine(behind_a_pooler) as engine, engine.connect() as connection:
        unpooled = await prepared_statements(connection)

    assert pooled > 0
    assert unpooled == 0
