"""What is special about this step's tests; the kit's plugin does the rest.

The plugin gives each test a fresh database (`database_url`), the fake LLM upstream (`fake_llm`), the
local WorkOS emulator (`workos`, reset for each test), an empty Redis (`redis_url`), the app running
in-process (`test_app`, `client`) and a connection to look at rows with (`db`). This file says how
this step builds its schema, its settings and its app, and who the emulator lets sign in
(`workos-seed.toml`); `redis_db` looks at what the app keeps in Redis. From this step on every `/v1/*`
endpoint needs a session: `ada` is the test client signed in (`client` is the same one before it is)."""

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from cryptography.fernet import Fernet
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from workshop.databases import SchemaBuilder
from workshop.fake_llm import API_KEY, FakeLLM
from workshop.migrations import alembic_schema
from workshop.testing import TestApp
from workshop.workos_emulator import Seeds, WorkOSEmulator, load_seeds

from app.db.engine import create_db_engine
from app.main import create_app
from app.redis_connection import open_redis
from app.session_store import SessionStore
from app.settings import Settings

from .signing_in import ENGINES, sign_in

STEP = Path(__file__).parents[1]
ALEMBIC_INI = STEP / "alembic.ini"
COOKIE_PASSWORD = Fernet.generate_key().decode()  # a new one per run: no cookie outlives its run


@pytest.fixture(scope="session")
def database_schema() -> SchemaBuilder:
    """The run's template database is built by the migrations, as production's is; each test's
    database is a copy of it."""
    return alembic_schema(ALEMBIC_INI)


@pytest.fixture(scope="session")
def workos_seeds() -> Seeds:
    return load_seeds(STEP / "workos-seed.toml")


@pytest.fixture
def settings(fake_llm: FakeLLM, database_url: str, workos: WorkOSEmulator, redis_url: str) -> Settings:
    workos.allowed_redirect_hosts.add("app.test")  # where the in-process client reaches the app
    return Settings(
        llm_base_url=fake_llm.base_url,
        llm_api_key=API_KEY,
        llm_timeout_seconds=2,
        database_url=database_url.replace("postgresql://", "postgresql+asyncpg://", 1),
        workos_api_key=workos.api_key,
        workos_client_id=workos.client_id,
        workos_base_url=workos.base_url,
        workos_redirect_uri="https://app.test/auth/callback",
        workos_timeout_seconds=1,
        session_cookie_password=COOKIE_PASSWORD,
        redis_url=redis_url,  # an empty keyspace for each test
        redis_timeout_seconds=0.5,
        # Two suites share two cores in the repo's test run: a checkout slowed by that must not become
        # a 503 (and a record sent to the outbox). tests/test_pool.py sets the pool's own limits.
        database_pool_timeout_seconds=10,
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


@pytest.fixture
def redis_db(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the test's own on the app's Redis, to look at (and tamper with) what is stored."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
async def ada(test_app: TestApp, workos: WorkOSEmulator) -> httpx.AsyncClient:
    """The test client, signed in as Ada, admin of Analytical Engines: her session cookie is in its jar."""
    response = await sign_in(test_app.client, workos)
    assert response.status_code == 303, response.text
    return test_app.client


@pytest.fixture
def fuzz_headers(redis_url: str) -> Callable[[], dict[str, str]]:
    """For the kit's fuzz (`workshop/fuzzing.py`), which calls the app with no browser: the headers of a
    new session for each case, made in Redis as a sign-in would make it, so generated calls get past
    the 401. A user of their own each time: a case that signs out (or spends the request rate) leaves
    the next cases' sessions alone."""
    users = itertools.count()

    async def start_session() -> str:
        async with open_redis(redis_url, timeout=2) as client:
            store = SessionStore(client, idle_seconds=3600, absolute_seconds=3600)
            return await store.create(
                user_id=f"user_fuzz_{next(users)}",
                email="fuzz@example.com",
                first_name="Fuzz",
                last_name="",
                organization_id=ENGINES,
                role="admin",
                permissions="",
                workos_session_id="session_fuzz",
                refresh_token="",
                access_expires_at=int(time.time()) + 3600,  # not re-validated with WorkOS meanwhile
                user_agent="fuzz",
            )

    return lambda: {"cookie": f"__Host-session={asyncio.run(start_session())}"}
