"""The yardstick for a step's `GET /v1/usage`: the same work, with nothing in between.

A bare Starlette app on asyncpg and redis.asyncio, with no FastAPI, no SQLAlchemy and no pydantic:
what the read path costs when the code does only what it must. The protected-proxy benchmark serves it
next to step 09 (`uvicorn workshop.bench.raw_usage:create_app --factory`, see `processes.py`), on the
same database and the same Redis, and compares the two apps' throughput.

Per `GET /v1/usage?limit=N`, it does what step 09 does:

1. read the session id from the `__Host-session` cookie and run the step's own Lua script,
   `LOAD_AND_TOUCH` (read from the step's `app/session_store.py`), with `EVALSHA` on
   `session:<sha256 of the id>`: one round trip that reads the session and renews its idle timeout;
   no session, a 401;
2. in one `REPEATABLE READ` transaction on a pooled asyncpg connection, the caller's newest N rows
   and the totals over all the caller's rows (`WHERE organization_id = $2 AND user_id = $3`, the
   session's): two statements, one snapshot;
3. answer `{"items": [...], "totals": {...}, "next_cursor": ...}` as JSON (the standard library's
   `json.dumps`, compact).

Configured from the environment, so that it can mirror a step before step 09 too (step 08's
`/v1/usage` has no session and no owner column):

- `RAW_USAGE_DATABASE_URL`: `postgresql://…`, as asyncpg takes it;
- `RAW_USAGE_REDIS_URL`: where sessions are; empty for no session at all (then every row is read);
- `RAW_USAGE_STEP_DIRECTORY`: the step whose Lua script to run;
- `RAW_USAGE_IDLE_SECONDS`: the idle timeout the script renews (the step's `session_idle_seconds`);
- `RAW_USAGE_OWNER_COLUMNS`: the columns that say whose a row is, comma-separated
  (`organization_id,user_id`), each matched to the session's field of the same name; empty: none;
- `RAW_USAGE_COLUMNS`: the fields of an item, comma-separated, as the step returns them.

asyncpg's pool is left at its defaults (10 connections, kept open; each reset when released, a round
trip): what someone writing such an app would start from.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import redis.asyncio as redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from workshop.bench.step_source import session_script

SESSION_COOKIE = "__Host-session"
STEP_08_COLUMNS = (
    "id,created_at,model,streamed,status_code,prompt_tokens,completion_tokens,total_tokens,latency_ms"
)


@dataclass(frozen=True, kw_only=True)
class RawUsageSettings:
    database_url: str
    redis_url: str | None
    step_directory: Path | None
    idle_seconds: int
    owner_columns: tuple[str, ...]
    columns: tuple[str, ...]

    @classmethod
    def from_environment(cls) -> RawUsageSettings:
        directory = os.environ.get("RAW_USAGE_STEP_DIRECTORY")
        return cls(
            database_url=os.environ["RAW_USAGE_DATABASE_URL"],
            redis_url=os.environ.get("RAW_USAGE_REDIS_URL") or None,
            step_directory=Path(directory) if directory else None,
            idle_seconds=int(os.environ.get("RAW_USAGE_IDLE_SECONDS", 30 * 60)),
            owner_columns=tuple(filter(None, os.environ.get("RAW_USAGE_OWNER_COLUMNS", "").split(","))),
            columns=tuple(os.environ.get("RAW_USAGE_COLUMNS", STEP_08_COLUMNS).split(",")),
        )


def statements(settings: RawUsageSettings) -> tuple[str, str]:
    """The page and the totals, as step 09's repository builds them, written out once."""

    # The page's limit is its $1, and the owner's values follow it; the totals take the owner's alone.
    def where(first: int) -> str:
        matches = [f"{column} = ${first + i}" for i, column in enumerate(settings.owner_columns)]
        return f" WHERE {' AND '.join(matches)}" if matches else ""

    page = f"SELECT {', '.join(settings.columns)} FROM usage_records{where(2)} ORDER BY id DESC LIMIT $1"
    totals = (
        "SELECT count(*) AS calls, coalesce(sum(prompt_tokens), 0) AS prompt_tokens,"
        " coalesce(sum(completion_tokens), 0) AS completion_tokens,"
        f" coalesce(sum(total_tokens), 0) AS total_tokens FROM usage_records{where(1)}"
    )
    return page, totals


def create_app() -> Starlette:
    settings = RawUsageSettings.from_environment()
    page_sql, totals_sql = statements(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(settings.database_url)
        sessions = None
        if settings.redis_url:
            sessions = redis.Redis.from_url(settings.redis_url, decode_responses=True)
            assert settings.step_directory is not None, "RAW_USAGE_STEP_DIRECTORY names the Lua script"
            app.state.load_and_touch = sessions.register_script(session_script(settings.step_directory))
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()
            if sessions is not None:
                await sessions.aclose()

    async def read_usage(request: Request) -> Response:
        try:
            limit = int(request.query_params.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            return PlainTextResponse("limit: 1 to 100", status_code=422)
        owner: list[str] = []
        if settings.redis_url:
            session_id = request.cookies.get(SESSION_COOKIE)
            if not session_id:
                return PlainTextResponse("not signed in", status_code=401)
            key = f"session:{hashlib.sha256(session_id.encode()).hexdigest()}"
            fields = await request.app.state.load_and_touch(
                keys=[key], args=[int(time.time()), settings.idle_seconds]
            )
            if not fields:
                return PlainTextResponse("not signed in", status_code=401)
            session = dict(zip(fields[::2], fields[1::2], strict=True))
            owner = [session[column] for column in settings.owner_columns]
        async with (
            request.app.state.pool.acquire() as conn,
            conn.transaction(isolation="repeatable_read"),
        ):
            rows = await conn.fetch(page_sql, limit, *owner)
            totals = await conn.fetchrow(totals_sql, *owner)
        body = {
            "items": [{name: _json_value(value) for name, value in row.items()} for row in rows],
            "totals": dict(totals.items()),
            "next_cursor": rows[-1]["id"] if len(rows) == limit else None,
        }
        return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")

    async def ready(request: Request) -> Response:
        return PlainTextResponse("ready")

    routes = [Route("/v1/usage", read_usage), Route("/", ready)]
    return Starlette(routes=routes, lifespan=lifespan)


def _json_value(value: Any) -> Any:
    """What JSON cannot hold as it is: a timestamp (ISO 8601, as pydantic writes it) or a UUID."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
