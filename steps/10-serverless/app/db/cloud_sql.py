"""Connections to Cloud SQL through Google's Cloud SQL Python Connector, when an instance is named.

The connector finds the instance's address from its connection name (`project:region:instance`),
opens TLS with a certificate it fetches for the service account, and needs no IP allowlist and no
proxy next to the app. Its certificates are refreshed lazily, when a connection is opened: Cloud Run
throttles the CPU of an instance between requests, so a refresh running in the background could starve.

Imported only when `CLOUD_SQL_INSTANCE` is set: the Google libraries take time to import (a cold
start pays it), and building a connector needs Google credentials that tests and laptops do not have.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from google.cloud.sql.connector import IPTypes, create_async_connector
from sqlalchemy.engine import make_url

from app.errors import DatabaseUnavailable
from app.settings import DatabaseSettings

Connect = Callable[[], Awaitable[Any]]  # a new asyncpg connection (asyncpg has no type hints)


@asynccontextmanager
async def cloud_sql_connections(settings: DatabaseSettings) -> AsyncIterator[Connect]:
    """What opens a new asyncpg connection to the instance, for the engine's `async_creator`; the
    connector is closed at the end (after the engine is disposed of)."""
    assert settings.cloud_sql_instance is not None
    instance = settings.cloud_sql_instance
    url = make_url(settings.database_url)  # its user, password and database; not its host
    connector = await create_async_connector(  # Application Default Credentials: the service account's
        ip_type=IPTypes[settings.cloud_sql_ip_type], refresh_strategy="lazy"
    )

    async def connect() -> Any:
        try:
            return await connector.connect_async(
                instance, "asyncpg", user=url.username, password=url.password, db=url.database
            )
        except (OSError, aiohttp.ClientError) as error:  # the instance, or Google's API, cannot be reached
            raise DatabaseUnavailable() from error

    try:
        yield connect
    finally:
        await connector.close_async()
