"""Redis: one client for the app, whose connections sessions, token budgets and request rates share.

Three modules speak to Redis (`session_store.py`, `quotas.py`, `usage_outbox.py`), each with its own
keys. They get this one client, and so one pool of connections, from the lifespan. What they share too
is the rule for failures: a Redis that cannot be reached, or does not answer in time, is
`RedisUnavailable`, a 503.
"""

from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TypeVar

import redis.asyncio as redis
from redis.exceptions import ConnectionError, TimeoutError

from app.errors import RedisUnavailable

T = TypeVar("T")


def open_redis(url: str, *, timeout: float) -> redis.Redis:
    """A client whose pool opens connections as requests need them; `aclose()` it at shutdown."""
    return redis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, decode_responses=True
    )


async def call(command: Awaitable[T]) -> T:
    async with unavailable_if_down():
        return await command


@asynccontextmanager
async def unavailable_if_down() -> AsyncIterator[None]:
    """Redis that cannot be reached, or does not answer in time, is `RedisUnavailable`: a 503."""
    try:
        yield
    except (ConnectionError, TimeoutError) as error:
        raise RedisUnavailable() from error
