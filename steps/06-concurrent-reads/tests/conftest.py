"""What is special about this step's tests; the kit's plugin does the rest.

The plugin gives each test a fresh database (`database_url`), the fake LLM upstream (`fake_llm`), the
app running in-process (`test_app`, `client`) and a connection to look at rows with (`db`). This file
says how this step builds its schema, its settings and its app.
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from workshop.databases import SchemaBuilder
from workshop.fake_llm import API_KEY, FakeLLM
from workshop.migrations import alembic_schema

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
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """An engine of the test's own on the test's database, to call services with directly."""
    engine = create_db_engine(settings.database_url)
    yield engine
    await engine.dispose()
