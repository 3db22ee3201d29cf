"""The fixtures every step's tests use; registered through the `pytest11` entry point.

- `database_url`: a fresh PostgreSQL database for this test (driver-less URL, spell your driver).
- `database_schema`: override it (session scope) to build the schema into the run's template.
- `redis_url`: a Redis server whose keyspace is empty when the test starts.
- `fake_llm`: the fake Gemini-style upstream, reset for this test; `.base_url`, `.behaviour`, `.calls`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from workshop import services
from workshop.databases import SchemaBuilder, TestDatabases
from workshop.fake_llm import FakeLLM
from workshop.server import serve_in_thread


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
