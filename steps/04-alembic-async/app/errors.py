"""What can go wrong with what we depend on, and the status our client sees for each."""

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError


class UpstreamError(Exception):
    """The LLM upstream answered with an error: a bad gateway."""

    status_code = 502

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UpstreamTimeout(UpstreamError):
    status_code = 504


class UpstreamUnavailable(UpstreamError):
    """The upstream could not be reached at all."""

    status_code = 503


async def upstream_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UpstreamError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


# SQLSTATE classes that mean "no database to talk to right now", not "this SQL is wrong".
UNAVAILABLE_SQLSTATES = (
    "08",  # connection exception: the connection broke, or could not be made
    "53",  # insufficient resources: too many connections, out of memory or disk
    "57P",  # operator intervention: the server is shutting down or starting up, the database was dropped
    "3D000",  # invalid catalog name: the database does not exist (any more)
)


def is_database_unavailable(exc: Exception) -> bool:
    """Whether a database error means "down, unreachable or gone" rather than a bug in our SQL.

    psycopg raises OperationalError for all of these; asyncpg does not. SQLAlchemy wraps most of
    asyncpg's errors in a plain DBAPIError, so we look at what happened instead: the connection died
    under us, or the server answered with one of the SQLSTATEs above. And a connection that cannot
    be opened at all (refused, reset, timed out) escapes asyncpg as a bare OSError, which SQLAlchemy
    does not wrap; nothing else in this app lets an OSError out of an endpoint (aiohttp's own, such
    as a refused upstream connection, are turned into upstream errors in app/llm.py).
    """
    if isinstance(exc, OSError):
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        return exc.connection_invalidated or sqlstate.startswith(UNAVAILABLE_SQLSTATES)
    return False


async def database_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    """The database is down, unreachable or gone: not the client's fault, so a 503."""
    if not is_database_unavailable(exc):
        raise exc  # a bug (bad SQL, a broken constraint): a 500, logged with its traceback
    return JSONResponse({"detail": "The database is unavailable."}, status_code=503)
