"""The database adapter: the engine, made once in the lifespan, and the errors it lets through.

A query that is wrong (bad SQL, a broken constraint) is a bug and stays a 500. A database that is not
there is `DatabaseUnavailable` (a 503), whichever way the driver says so: asyncpg lets a connection that
cannot be opened (refused, reset, timed out) escape as a bare `OSError`, and reports the rest as
errors that SQLAlchemy wraps in a plain `DBAPIError`. The two listeners below sort them out here, in
the one module that knows the driver, so no handler elsewhere has to guess whose `OSError` it got.
"""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from app.db.pool import FailFastPool, pool_options
from app.errors import DatabaseUnavailable
from app.settings import DatabaseSettings

# SQLSTATE classes that mean "no database to talk to right now", not "this SQL is wrong".
UNAVAILABLE_SQLSTATES = (
    "08",  # connection exception: the connection broke, or could not be made
    "53",  # insufficient resources: too many connections, out of memory or disk
    "57P",  # operator intervention: the server is shutting down or starting up, the database was dropped
    "3D000",  # invalid catalog name: the database does not exist (any more)
)


@asynccontextmanager
async def open_engine(settings: DatabaseSettings, *, pooled: bool = True) -> AsyncIterator[AsyncEngine]:
    """The engine the settings describe, disposed of at the end: its pool sized by them (none for a
    one-off job such as the migrations), its connections opened through the Cloud SQL connector when
    an instance is named, straight to `database_url` otherwise."""
    options = pool_options(settings) if pooled else {"poolclass": NullPool, "pool_pre_ping": False}
    async with AsyncExitStack() as resources:  # closed in reverse: the engine first, then the connector
        if settings.cloud_sql_instance:
            from app.db.cloud_sql import cloud_sql_connections  # only then: see that module's docstring

            options["async_creator"] = await resources.enter_async_context(cloud_sql_connections(settings))
        engine = create_db_engine(settings.database_url, **options)
        resources.push_async_callback(engine.dispose)
        yield engine


def create_db_engine(url: str, **options: Any) -> AsyncEngine:
    """An engine on `url`; `options` are `create_async_engine`'s (the pool's, app/db/pool.py)."""
    # pool_pre_ping: test each pooled connection before use, so a restarted database costs a retry,
    # not an error for the client. A pool that has no connection to spare says so (FailFastPool).
    engine = create_async_engine(url, **{"poolclass": FailFastPool, "pool_pre_ping": True, **options})
    event.listen(engine.sync_engine, "do_connect", _connect_or_unavailable)
    event.listen(engine.sync_engine, "handle_error", _unavailable_or_bug)
    return engine


def _connect_or_unavailable(
    dialect: Dialect, record: ConnectionPoolEntry, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    """Opens a new connection as SQLAlchemy would; a socket that cannot be opened is unavailability."""
    try:
        return dialect.connect(*cargs, **cparams)
    except OSError as error:  # ConnectionRefusedError, TimeoutError, … (asyncpg does not wrap them)
        raise DatabaseUnavailable() from error


def _unavailable_or_bug(context: ExceptionContext) -> None:
    """Turns a driver error that means "no database" into `DatabaseUnavailable`; others pass as they are."""
    if context.sqlalchemy_exception is None:
        return  # not the driver's error at all: a cancelled task's CancelledError must stay one
    if context.is_pre_ping:
        return  # the pre-ping is asking "is this pooled connection dead?": let the pool replace it
    sqlstate = getattr(context.original_exception, "sqlstate", None) or ""
    if context.is_disconnect or sqlstate.startswith(UNAVAILABLE_SQLSTATES):
        raise DatabaseUnavailable() from context.sqlalchemy_exception
