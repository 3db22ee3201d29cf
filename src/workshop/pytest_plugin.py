"""The fixtures every step's tests use; registered through the `pytest11` entry point.

A step's `tests/conftest.py` provides `app` (its FastAPI app, built by `create_app(settings)`) and, with
migrations, overrides `database_schema`; everything else is here:

- `test_app`: the `app` with its lifespan running: `.client`, `.state`, `.fake_llm`, `.database_url`.
- `client`: `test_app.client`, an `httpx.AsyncClient` that calls the app in-process.
- `db`: a sync SQLAlchemy `Connection` (psycopg 3) on the test's database, to look at rows; starts no app.
- `database_url`: a fresh PostgreSQL database for this test (driver-less URL, spell your driver).
- `database_schema`: override it (session scope) to build the schema into the run's template.
- `test_databases`: the run's template database and its copies (`database_url` takes one per test).
- `redis_url`: a Redis-protocol server (embedded: Valkey) whose keyspace is empty when the test starts.
- `fake_llm`: the fake Gemini-style upstream, reset for this test; `.base_url`, `.behaviour`, `.calls`.
- `workos`: the local WorkOS emulator, reset for this test: `.base_url`, `.api_key`, `.client_id`,
  `.behaviour`, `.calls`, `await .authorize(url, email=…)`. One server serves the whole run: the SDK
  keeps the key set it fetched per URL for the whole process.
- `workos_seeds`: who exists in it (session scope): the kit's `example-seed.toml`; override it to load
  the step's own file with `load_seeds(...)`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import Connection, create_engine
from workshop import services
from workshop.databases import SchemaBuilder, TestDatabases
from workshop.fake_llm import FakeLLM
from workshop.server import serve_in_thread
from workshop.testing import TestApp, running_app

if TYPE_CHECKING:  # imported in the fixtures: a step that never signs in does not wait for the import
    from workshop.workos_emulator import Seeds, WorkOSEmulator


@pytest_asyncio.fixture(loop_scope="session")  # the loop the app's resources are made in, and used in
async def test_app(request: pytest.FixtureRequest, app: FastAPI, fake_llm: FakeLLM) -> AsyncIterator[TestApp]:
    """The step's `app` fixture, started: its lifespan runs around the test."""
    database_url = request.getfixturevalue("database_url") if "database_url" in request.fixturenames else None
    async with running_app(app) as (client, state):
        yield TestApp(app=app, client=client, fake_llm=fake_llm, database_url=database_url, state=state)


@pytest.fixture
def client(test_app: TestApp) -> httpx.AsyncClient:
    """The short form most tests need."""
    return test_app.client


@pytest.fixture
def db(database_url: str) -> Iterator[Connection]:
    """A connection of the test's own: the tables are the same, whichever driver the app writes with."""
    engine = create_engine(services.with_driver(database_url, "psycopg"))
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def database_schema() -> SchemaBuilder | None:
    """No schema by default: the app creates its own tables. Steps with migrations override this."""
    return None


@pytest.fixture(scope="session")
def test_databases(database_schema: SchemaBuilder | None) -> Iterator[TestDatabases]:
    databases = TestDatabases(services.postgres_url(), database_schema)
    yield databases
    databases.close()


@pytest.fixture
def database_url(test_databases: TestDatabases) -> Iterator[str]:
    url = test_databases.create()
    yield url
    test_databases.drop_in_background(url)


@pytest.fixture
def redis_url() -> str:
    import redis  # here, not at the top: a step that never uses Redis does not wait for its import

    url = services.redis_url()
    with redis.Redis.from_url(url) as client:
        client.flushdb()
    return url


@pytest.fixture(scope="session")
def _fake_llm_server() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    with serve_in_thread(fake.app()) as base_url:
        fake.base_url = base_url
        yield fake


@pytest.fixture
def fake_llm(_fake_llm_server: FakeLLM) -> FakeLLM:
    _fake_llm_server.reset()
    return _fake_llm_server


@pytest.fixture(scope="session")
def workos_seeds() -> Seeds:
    from workshop.workos_emulator import EXAMPLE_SEEDS, load_seeds

    return load_seeds(EXAMPLE_SEEDS)


@pytest.fixture(scope="session")
def _workos_server(workos_seeds: Seeds) -> Iterator[WorkOSEmulator]:
    from workshop.workos_emulator import WorkOSEmulator

    emulator = WorkOSEmulator(seeds=workos_seeds)
    with serve_in_thread(emulator.app()) as base_url:
        emulator.base_url = base_url
        yield emulator


@pytest.fixture
def workos(_workos_server: WorkOSEmulator) -> WorkOSEmulator:
    _workos_server.reset()
    return _workos_server
