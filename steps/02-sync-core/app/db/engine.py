"""The database adapter: the engine, made once in the lifespan, and the errors it lets through.

A query that is wrong (bad SQL, a broken constraint) is a bug and stays a 500. A database that is not
there is `DatabaseUnavailable` (a 503): psycopg reports every such case (refused, gone, restarting) as
an `OperationalError`, which the listener below turns into the app's own exception, here, in the one
module that knows the driver.
"""

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import OperationalError

from app.errors import DatabaseUnavailable


def create_db_engine(url: str) -> Engine:
    # pool_pre_ping: test each pooled connection before use, so a restarted database costs a retry,
    # not an error for the client.
    engine = create_engine(url, pool_pre_ping=True)
    event.listen(engine, "handle_error", _unavailable_or_bug)
    return engine


def _unavailable_or_bug(context: ExceptionContext) -> None:
    """Turns a driver error that means "no database" into `DatabaseUnavailable`; others pass as they are."""
    if context.is_pre_ping:
        return  # the pre-ping is asking "is this pooled connection dead?": let the pool replace it
    if isinstance(context.sqlalchemy_exception, OperationalError):
        raise DatabaseUnavailable() from context.sqlalchemy_exception
