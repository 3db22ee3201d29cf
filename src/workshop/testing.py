"""Helpers a step's tests import: an in-process app client, and a real server in a thread."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from workshop.server import serve_in_thread

__all__ = ["app_client", "serve_in_thread"]


@asynccontextmanager
async def app_client(app: FastAPI, **client_options: object) -> AsyncIterator[httpx.AsyncClient]:
    """An `httpx.AsyncClient` that calls the app in-process, with its lifespan run around it.

    `ASGITransport` alone does not run the lifespan, so the app's startup (engine, HTTP client)
    would never happen; `LifespanManager` runs it and its shutdown.
    """
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://app.test",
            **client_options,  # type: ignore[arg-type]
        ) as client:
            yield client
