"""The pool of connections each instance keeps, sized by the settings (docs/steps/10-serverless.md).

On Cloud Run every instance has its own pool, and they all lead to one PostgreSQL: at most
max instances x (pool_size + max_overflow) connections, which must stay under the database's
`max_connections`. What an instance does when its pool is empty decides what a user sees under load:
wait `pool_timeout` for a connection, then a 503 with Retry-After (`DatabaseBusy`), never a request
that hangs until the client gives up, nor one that opens a connection the database has no room for.
"""

from typing import Any

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry, NullPool

from app.errors import DatabaseBusy
from app.settings import DatabaseSettings


class FailFastPool(AsyncAdaptedQueuePool):
    """SQLAlchemy's pool for asyncio, whose "no connection came free in time" is `DatabaseBusy`: a 503
    for the client, and for metering a database it cannot write to now (the record waits in Redis)."""

    def _do_get(self) -> ConnectionPoolEntry:  # the one method a pool subclass implements to hand out
        try:
            return super()._do_get()
        except PoolTimeout as error:
            raise DatabaseBusy() from error


def pool_options(settings: DatabaseSettings) -> dict[str, Any]:
    """`create_async_engine`'s pool arguments for these settings."""
    if settings.database_external_pooler:
        # A pooler in transaction mode (PgBouncer, Cloud SQL's managed pooling) hands each transaction
        # whichever server connection is free: a statement asyncpg prepared and named on one may not
        # exist on the next. With both caches off (asyncpg's and SQLAlchemy's), asyncpg prepares each
        # statement unnamed, for its one execution: there is nothing to miss. notebooks/pooling.ipynb
        # runs the app behind PgBouncer, with and without.
        return {
            "poolclass": NullPool,  # the pooler pools: a connection here is a cheap one to the pooler
            "pool_pre_ping": False,
            "connect_args": {
                "statement_cache_size": 0,
                "prepared_statement_cache_size": 0,
            },
        }
    return {
        "pool_size": settings.database_pool_size,
        "max_overflow": settings.database_max_overflow,
        "pool_timeout": settings.database_pool_timeout_seconds,
        "pool_recycle": settings.database_pool_recycle_seconds,
        "pool_pre_ping": settings.database_pool_pre_ping,
    }
