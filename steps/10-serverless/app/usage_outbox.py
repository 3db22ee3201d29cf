"""The usage outbox in Redis: records of calls that PostgreSQL could not take when they ended.

When the upstream has answered, the call has cost money whether or not the database is there to say
so. Its record is not dropped: it waits here, in the list `usage-outbox`, until the next call that
records normally moves it to PostgreSQL (`app/services/metering.py`). Each record carries its call's
id, and PostgreSQL takes an id once, so moving a record twice (two instances at once, or a crash
between the insert and the removal) still counts the call once.
"""

import redis.asyncio as redis

from app.redis_connection import call

OUTBOX = "usage-outbox"


class UsageOutbox:
    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    async def put(self, record: str) -> None:
        """Adds a record (JSON) at the end of the list."""
        await call(self._redis.rpush(OUTBOX, record))

    async def waiting(self, count: int) -> list[str]:
        """The oldest `count` records, still in the outbox until `remove`d, as they were put."""
        return [str(entry) for entry in await call(self._redis.lrange(OUTBOX, 0, count - 1))]

    async def remove(self, record: str) -> None:
        await call(self._redis.lrem(OUTBOX, 1, record))

    async def size(self) -> int:
        return await call(self._redis.llen(OUTBOX))
