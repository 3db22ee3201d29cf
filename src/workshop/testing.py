"""Helpers a step's tests import: the app under test with its client and fakes, an in-process app
client, and a real server in a thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from workshop.fake_llm import FakeLLM
from workshop.server import serve_in_thread

__all__ = ["TestApp", "app_client", "running_app", "serve_in_thread"]


@dataclass(kw_only=True)
class TestApp:
    """What the `test_app` fixture gives a test: the running app and what it is wired to.

    In the spirit of Zero To Production's `spawn_app()`: one fixture starts the app, and the test
    reaches everything around it from here.
    """

    __test__ = False  # not a test class, whatever its name says to pytest

    app: FastAPI
    """The step's app, built by the step's `app` fixture; its lifespan is running."""
    client: httpx.AsyncClient
    """Calls the app in-process (`https://app.test`)."""
    fake_llm: FakeLLM
    """The fake LLM upstream the app is wired to, reset for this test."""
    database_url: str | None
    """The test's own database (driver-less URL), or None when the test uses no database."""
    state: dict[str, Any]
    """The app's lifespan state, the very dict each request gets: what the lifespan opened (its engine,
    its HTTP client). A test may replace an entry to change what the next requests use."""


@asynccontextmanager
async def app_client(app: FastAPI, **client_options: object) -> AsyncIterator[httpx.AsyncClient]:
    """An `httpx.AsyncClient` that calls the app in-process, with its lifespan run around it.

    `ASGITransport` alone does not run the lifespan, so the app's startup (engine, HTTP client)
    would never happen; `LifespanManager` runs it and its shutdown.
    """
    async with running_app(app, **client_options) as (client, _):
        yield client


@asynccontextmanager
async def running_app(
    app: FastAPI, **client_options: object
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """`app_client`, and the app's lifespan state with it."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport,
            # https, as in production (Cloud Run serves HTTPS only): a `Secure` cookie comes back to the app.
            base_url="https://app.test",
            **client_options,  # type: ignore[arg-type]
        ) as client:
            # asgi-lifespan has no public name for it; it is the dict it puts in each request's scope.
            yield client, manager._state
