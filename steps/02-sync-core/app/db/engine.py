"""The engine (made once, in the lifespan) and the dependencies that hand it to endpoints."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine, create_engine


def create_db_engine(url: str) -> Engine:
    # pool_pre_ping: test each pooled connection before use, so a restarted database costs a retry,
    # not an error for the client.
    return create_engine(url, pool_pre_ping=True)


def get_engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def get_connection(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    """A pooled connection for the length of one request; back to the pool afterwards."""
    with engine.connect() as conn:
        yield conn


DbEngine = Annotated[Engine, Depends(get_engine)]
DbConnection = Annotated[Connection, Depends(get_connection)]
