"""Three ways to scope a transaction around an endpoint, side by side, for test_connect_vs_begin.py.

Each endpoint inserts an order line for an order that does not exist. The foreign key is
`DEFERRABLE INITIALLY DEFERRED`, so PostgreSQL checks it only at COMMIT: the insert succeeds and the
failure comes when the transaction commits. The question is whether the client hears of it.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

SCHEMA = [
    "CREATE TABLE orders (id int PRIMARY KEY)",
    "CREATE TABLE order_lines (id serial PRIMARY KEY,"
    " order_id int NOT NULL REFERENCES orders DEFERRABLE INITIALLY DEFERRED)",
]
ADD_LINE_TO_A_MISSING_ORDER = text("INSERT INTO order_lines (order_id) VALUES (42)")


def create_demo_app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = create_async_engine(database_url)
        yield
        await app.state.engine.dispose()

    app = FastAPI(lifespan=lifespan)

    async def transaction() -> AsyncIterator[AsyncConnection]:
        """The tempting design: the whole request in one transaction, committed after `yield`."""
        async with app.state.engine.begin() as conn:
            yield conn

    async def connection() -> AsyncIterator[AsyncConnection]:
        """This repository's design: a connection; whoever writes opens the transaction."""
        async with app.state.engine.connect() as conn:
            yield conn

    @app.post("/request-scoped")
    async def request_scoped(conn: Annotated[AsyncConnection, Depends(transaction)]) -> dict[str, bool]:
        await conn.execute(ADD_LINE_TO_A_MISSING_ORDER)
        return {"created": True}  # ...and the COMMIT runs after this has been sent

    @app.post("/function-scoped")
    async def function_scoped(
        conn: Annotated[AsyncConnection, Depends(transaction, scope="function")],
    ) -> dict[str, bool]:
        await conn.execute(ADD_LINE_TO_A_MISSING_ORDER)
        return {"created": True}  # the COMMIT runs before the response is sent

    @app.post("/service-owned")
    async def service_owned(conn: Annotated[AsyncConnection, Depends(connection)]) -> dict[str, bool]:
        await add_line(conn)
        return {"created": True}  # reached only if the COMMIT succeeded

    return app


async def add_line(conn: AsyncConnection) -> None:
    """A service: it owns its unit of work, so the COMMIT happens here, before it returns."""
    async with conn.begin():
        await conn.execute(ADD_LINE_TO_A_MISSING_ORDER)
