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


class Readiness:
    def __init__(self, engine: AsyncEngine, redis_client: redis.Redis, *, timeout: float) -> None:
        self._engine = engine
        self._redis = redis_client
        self._timeout = timeout

    async def check(self) -> dict[str, str]:
        """Each dependency's state: "ok", or what went wrong with it."""
        async with asyncio.TaskGroup() as checks:
            postgresql = checks.create_task(self._answer_of(self._postgresql()))
            redis = checks.create_task(self._answer_of(self._redis.ping()))
        return {"postgresql": postgresql.result(), "redis": redis.result()}

    async def _postgresql(self) -> None:
        async with self._engine.connect() as connection:  # a connection from the pool, as a request gets
            await connection.execute(text("SELECT 1"))

    async def _answer_of(self, check: Awaitable[object]) -> str:
        try:
            async with asyncio.timeout(self._timeout):
                await check
        except TimeoutError:
            return f"no answer within {self._timeout:g} s"
        except Exception as error:  # whatever it is, this dependency cannot serve: say what, not why
            return f"unavailable ({type(error).__name__})"
        return OK
