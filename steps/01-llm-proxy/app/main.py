"""The application factory: `uvicorn app.main:create_app --factory`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from app.dependencies import AppState
from app.errors import UpstreamError, request_validation_handler, upstream_error_handler
from app.llm import GeminiClient
from app.routers import chat
from app.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # pydantic-settings reads the environment

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[AppState]:
        # One HTTP client for the app's life, so connections to the upstream are pooled and reused.
        timeout = httpx.Timeout(settings.llm_timeout_seconds)
        async with httpx.AsyncClient(base_url=settings.llm_base_url, timeout=timeout) as http:
            # What the endpoints get, typed (app/dependencies.py): each request gets a copy of it.
            yield AppState(settings=settings, llm=GeminiClient(http, settings.llm_api_key))

    app = FastAPI(title="LLM proxy", lifespan=lifespan)
    app.include_router(chat.router)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(UpstreamError, upstream_error_handler)
    return app
