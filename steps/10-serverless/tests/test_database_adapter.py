"""The database adapter (`app/db/engine.py`): a database that is not there becomes `DatabaseUnavailable`;
everything else passes through as it was raised."""

import asyncio

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.exc import DBAPIError

from app.db.engine import create_db_engine
from app.errors import DatabaseUnavailable
from app.settings import Settings


async def test_a_server_that_refuses_the_connection_is_unavailable(settings: Settings) -> None:
    nowhere = make_url(settings.database_url).set(host="127.0.0.1", port=9, query={})  # nothing listens
    engine = create_db_engine(nowhere.render_as_string(hide_password=False))

    with pytest.raises(DatabaseUnavailable) as raised:
        async with engine.connect():
            pass

    assert isinstance(raised.value.__cause__, ConnectionRefusedError)  # asyncpg's bare OSError


async def test_a_database_that_does_not_exist_is_unavailable(settings: Settings) -> None:
    engine = create_db_engine(
        make_url(settings.database_url).set(database="no_such_database").render_as_string(hide_password=False)
    )

    with pytest.raises(DatabaseUnavailable):
        async with engine.connect():
            pass


async def test_a_wrong_query_stays_a_database_error_of_its_own(settings: Settings) -> None:
    engine = create_db_engine(settings.database_url)

    async with engine.connect() as conn:
        with pytest.raises(DBAPIError, match="division by zero"):  # a bug in our SQL: a 500, not a 503
            await conn.execute(text("SELECT 1 / 0"))
    await engine.dispose()


async def test_a_cancelled_query_stays_a_cancellation(settings: Settings) -> None:
    # A cancelled task (a client that hung up, a TaskGroup sibling that failed) must see its own
    # CancelledError: turning it into another exception would break the cancellation itself.
    engine = create_db_engine(settings.database_url)

    async def slow_query() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_sleep(5)"))

    task = asyncio.create_task(slow_query())
    await asyncio.sleep(0.3)  # the query is running on the server by now
    task.cancel()

    with pytest.raises(asyncio.CancelledError):
        await task
    await engine.dispose()
