"""The application factory: `uvicorn app.main:create_app --factory`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from app.db.engine import create_db_engine
from app.db.tables import metadata
from app.dependencies import AppState
from app.errors import (
    DatabaseUnavailable,
    UpstreamError,
    database_unavailable_handler,
    request_validation_handler,
    upstream_error_handler,
)
from app.llm import GeminiClient
from app.routers import chat, usage
from app.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # pydantic-settings reads the environment

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[AppState]:
        # One engine (and so one connection pool) for the app's life, disposed of at shutdown.
        engine = create_db_engine(settings.database_url)
        metadata.create_all(engine)  # for now: step 04 replaces this with migrations
        # One HTTP client for the app's life, so connections to the upstream are pooled and reused.
        timeout = httpx.Timeout(settings.llm_timeout_seconds)
        with httpx.Client(base_url=settings.llm_base_url, timeout=timeout) as http:
            # What the endpoints get, typed (app/dependencies.py): each request gets a copy of it.
            yield AppState(settings=settings, llm=GeminiClient(http, settings.llm_api_key), engine=engine)
        engine.dispose()

    app = FastAPI(title="LLM proxy", lifespan=lifespan)
    app.include_router(chat.router)
    app.include_router(usage.router)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(UpstreamError, upstream_error_handler)
    app.add_exception_handler(DatabaseUnavailable, database_unavailable_handler)
    return app
