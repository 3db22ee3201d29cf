"""Liveness asks nothing; readiness asks PostgreSQL and Redis, with a short timeout, and names the one
that did not answer. Neither needs a session: Cloud Run's probes have none."""

import asyncio
import socket
from collections.abc import Iterator

import httpx
import pytest
import redis
from sqlalchemy import make_url
from workshop.testing import TestApp

from app.db.engine import create_db_engine
from app.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"readiness_timeout_seconds": 0.2})  # below Redis' own 0.5 s


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word: a database that hangs."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield listener.getsockname()[1]


def database_at(test_app: TestApp, settings: Settings, port: int) -> None:
    """As if the app's database had moved to 127.0.0.1:`port` after startup."""
    elsewhere = make_url(settings.database_url).set(host="127.0.0.1", port=port, query={})
    test_app.state["engine"] = create_db_engine(elsewhere.render_as_string(hide_password=False))


async def test_ready_when_both_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"postgresql": "ok", "redis": "ok"}}


async def test_alive_even_when_the_dependencies_are_not(
    test_app: TestApp, client: httpx.AsyncClient, settings: Settings, redis_db: redis.Redis
) -> None:
    database_at(test_app, settings, port=9)
    redis_db.execute_command("CLIENT", "PAUSE", 1000, "ALL")

    live = await client.get("/health/live")
    ready = await client.get("/health/ready")

    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    assert ready.status_code == 503  # the same instance: not ready, but restarting it would not help


async def test_a_database_that_refuses_connections_is_named(
    test_app: TestApp, client: httpx.AsyncClient, settings: Settings
) -> None:
    database_at(test_app, settings, port=9)  # nothing listens there

    response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"postgresql": "unavailable (DatabaseUnavailable)", "redis": "ok"},
    }


async def test_a_database_that_hangs_is_named_after_the_timeout(
    test_app: TestApp, client: httpx.AsyncClient, settings: Settings, silent_port: int
) -> None:
    database_at(test_app, settings, port=silent_port)

    response = await asyncio.wait_for(client.get("/health/ready"), timeout=5)  # not asyncpg's 60 s

    assert response.status_code == 503
    assert response.json()["checks"] == {"postgresql": "no answer within 0.2 s", "redis": "ok"}


async def test_a_redis_that_does_not_answer_is_named_after_the_timeout(
    client: httpx.AsyncClient, redis_db: redis.Redis
) -> None:
    redis_db.execute_command("CLIENT", "PAUSE", 1000, "ALL")  # Redis holds every client's commands

    response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json()["checks"] == {"postgresql": "ok", "redis": "no answer within 0.2 s"}
