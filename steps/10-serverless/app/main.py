"""The application factory: `uvicorn app.main:create_app --factory`."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from app.csrf import RefuseCrossSiteWrites
from app.db.engine import open_engine
from app.dependencies import AppState
from app.draining import draining_on_stop_signals
from app.errors import (
    DatabaseUnavailable,
    Forbidden,
    NotFound,
    NotSignedIn,
    RedisUnavailable,
    SignInFailed,
    UpstreamError,
    WorkOSUnavailable,
    database_unavailable_handler,
    forbidden_handler,
    not_found_handler,
    not_signed_in_handler,
    redis_unavailable_handler,
    request_validation_handler,
    sign_in_failed_handler,
    upstream_error_handler,
    workos_unavailable_handler,
)
from app.llm import GeminiClient
from app.over_limit import QuotaExceeded, quota_exceeded_handler
from app.quotas import Quotas
from app.redis_connection import open_redis
from app.routers import auth, chat, health, home, me, sessions, usage
from app.services.metering import Metering
from app.services.proxy import Proxy
from app.session_store import SessionStore
from app.settings import Settings, load_settings
from app.usage_outbox import UsageOutbox
from app.workos import AuthKit


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()  # from the environment; stops here if it is incomplete

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[AppState]:
        # One HTTP session for the app's life, so connections to the upstream are pooled and reused.
        # aiohttp rather than httpx: httpx's connection pool does work on every request that grows with
        # the connections it holds, and with hundreds of calls in flight that work ate the CPU
        # (notebooks/sync-vs-async.ipynb measures both).
        seconds = settings.llm_timeout_seconds
        # No total timeout, since a stream may run long: each connect and each read gets `seconds`.
        timeout = aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)
        connector = aiohttp.TCPConnector(limit=settings.llm_max_connections)
        async with (
            # One engine (and so one pool of connections, sized by the settings) for the app's life,
            # disposed of last. No create_all: the schema is the migrations' job, a job of its own.
            open_engine(settings) as engine,
            aiohttp.ClientSession(settings.llm_base_url, connector=connector, timeout=timeout) as http,
            AuthKit(settings) as authkit,  # WorkOS' SDK keeps its connections too, until shutdown
            # One pool of Redis connections, opened as requests need them, for sessions and quotas alike.
            open_redis(settings.redis_url, timeout=settings.redis_timeout_seconds) as redis_client,
            # SIGTERM (Cloud Run's "you have 10 s") tells the streams to end, as well as the server.
            draining_on_stop_signals() as draining,
        ):
            quotas = Quotas(
                redis_client,
                daily_token_budget=settings.daily_token_budget,
                requests_per_minute=settings.requests_per_minute,
                hold_seconds=settings.reservation_seconds,
            )
            metering = Metering(engine, quotas, UsageOutbox(redis_client))
            # What the endpoints get, typed (app/dependencies.py): each request gets a copy of it.
            yield AppState(
                settings=settings,
                engine=engine,
                authkit=authkit,
                sessions=SessionStore(
                    redis_client,
                    idle_seconds=settings.session_idle_seconds,
                    absolute_seconds=settings.session_absolute_seconds,
                ),
                proxy=Proxy(
                    llm=GeminiClient(http, settings.llm_api_key, draining),
                    quotas=quotas,
                    engine=engine,
                    metering=metering,
                ),
                redis=redis_client,
            )
            # Calls cut off on the way out are still being recorded: they need the engine and Redis.
            await metering.wait_for_all()

    app = FastAPI(title="LLM proxy", lifespan=lifespan)
    app.include_router(health.router)
    app.include_router(home.router)
    app.include_router(auth.router)
    app.include_router(me.router)
    app.include_router(sessions.router)
    app.include_router(chat.router)
    app.include_router(usage.router)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    app.add_exception_handler(UpstreamError, upstream_error_handler)
    app.add_exception_handler(DatabaseUnavailable, database_unavailable_handler)
    app.add_exception_handler(SignInFailed, sign_in_failed_handler)
    app.add_exception_handler(NotSignedIn, not_signed_in_handler)
    app.add_exception_handler(WorkOSUnavailable, workos_unavailable_handler)
    app.add_exception_handler(RedisUnavailable, redis_unavailable_handler)
    app.add_exception_handler(Forbidden, forbidden_handler)
    app.add_exception_handler(NotFound, not_found_handler)
    app.add_exception_handler(QuotaExceeded, quota_exceeded_handler)
    app.add_middleware(RefuseCrossSiteWrites)
    return app
