"""Each test gets a fresh app wired to the kit's fake LLM upstream and to a fresh database with the
schema at head (`fake_llm` and `database_url` come from the workshop plugin)."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine
from workshop.databases import SchemaBuilder
from workshop.fake_llm import API_KEY, FakeLLM
from workshop.migrations import alembic_schema
from workshop.testing import app_client

from app.db.engine import create_db_engine
from app.main import create_app
from app.settings import Settings

ALEMBIC_INI = Path(__file__).parents[1] / "alembic.ini"


@pytest.fixture(scope="session")
def database_schema() -> SchemaBuilder:
    """The run's template database is built by the migrations, as production's is; each test's
    database is a copy of it."""
    return alembic_schema(ALEMBIC_INI)


@pytest.fixture
def settings(fake_llm: FakeLLM, database_url: str) -> Settings:
    return Settings(
        llm_base_url=fake_llm.base_url,
        llm_api_key=API_KEY,
        llm_timeout_seconds=2,
        database_url=database_url.replace("postgresql://", "postgresql+asyncpg://", 1),
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings)) as client:
        yield client


@pytest.fixture
def db(settings: Settings, client: httpx.AsyncClient) -> Iterator[Connection]:
    """A connection of the test's own, to look at the rows the app wrote (after its startup).

    It is a sync psycopg connection still: the tables are the same, whichever driver wrote the rows.
    """
    engine = create_engine(settings.database_url.replace("+asyncpg", "+psycopg", 1))
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine of the test's own on the test's database, for calling services directly."""
    engine = create_db_engine(settings.database_url)
    yield engine
    await engine.dispose()
