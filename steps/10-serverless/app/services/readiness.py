"""Readiness: can this instance serve requests now? It asks PostgreSQL and Redis, at once, each with a
short timeout, and says which one did not answer.

Not for liveness: an instance whose database is down is alive, and restarting it would not bring the
database back (app/routers/health.py has both).
"""

import asyncio
from collections.abc import Awaitable

import redis.asyncio as redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

OK = "ok"


async def check(engine: AsyncEngine, redis_client: redis.Redis, *, within: float) -> dict[str, str]:
    """Each dependency's state: "ok", or what went wrong with it."""
    async with asyncio.TaskGroup() as checks:
        postgresql = checks.create_task(_answer_of(_select_one(engine), within))
        redis = checks.create_task(_answer_of(redis_client.ping(), within))
    return {"postgresql": postgresql.result(), "redis": redis.result()}


async def _select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:  # a connection from the pool, as a request gets one
        await connection.execute(text("SELECT 1"))


async def _answer_of(check: Awaitable[object], within: float) -> str:
    try:
        async with asyncio.timeout(within):
            await check
    except TimeoutError:
        return f"no answer within {within:g} s"
    except Exception as error:  # whatever it is, this dependency cannot serve: say what, not why
        return f"unavailable ({type(error).__name__})"
    return OK
