"""The engine (made once, in the lifespan) and the dependencies that hand it to endpoints."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def create_db_engine(url: str) -> AsyncEngine:
    # pool_pre_ping: test each pooled connection before use, so a restarted database costs a retry,
    # not an error for the client.
    return create_async_engine(url, pool_pre_ping=True)


async def get_engine(request: Request) -> AsyncEngine:  # async: a `def` would cost a thread hop
    return request.app.state.engine  # type: ignore[no-any-return]


async def get_connection(
    engine: Annotated[AsyncEngine, Depends(get_engine)],
) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for the length of one request; back to the pool afterwards."""
    async with engine.connect() as conn:
        yield conn


DbEngine = Annotated[AsyncEngine, Depends(get_engine)]
DbConnection = Annotated[AsyncConnection, Depends(get_connection)]
