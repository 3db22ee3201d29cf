"""Runs the migrations in alembic/versions; `alembic` loads it for every command.

From the `async` template, with four changes: the target is the app's Core `MetaData`; the engine is
the app's own (its URL, and on Cloud Run its connector); logging config leaves existing loggers alone;
and a caller that already holds a connection (tests, the workshop kit) passes it in, instead of this
file starting an event loop.
"""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from app.db.engine import open_engine
from app.db.tables import metadata
from app.settings import DatabaseSettings

config = context.config

# Only when run from an .ini file. fileConfig's default, disable_existing_loggers=True, would silence
# every logger created before it ran (aiohttp's, uvicorn's, an app's own, and pytest's caplog would see
# nothing from them) whenever migrations run inside a process that is already up: a test session, an
# app that migrates at startup.
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

# What autogenerate and `alembic check` compare the database with. Its naming convention gives every
# constraint and index a predictable name, so migrations can refer to them.
target_metadata = metadata


def run_migrations_offline() -> None:
    """`alembic upgrade --sql`: writes the SQL out instead of running it; needs no database."""
    context.configure(
        url=DatabaseSettings().database_url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    # The app's own way to the database (through the Cloud SQL connector when an instance is named: the
    # migration job runs on Cloud Run too), with no pool: one connection for this run, closed at the end.
    async with open_engine(DatabaseSettings(), pooled=False) as engine, engine.connect() as connection:
        await connection.run_sync(do_run_migrations)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        # The caller's (sync) connection, typically lent by `AsyncConnection.run_sync` from inside a
        # running event loop, where asyncio.run() below would fail. If the caller began a transaction,
        # the migrations run inside it and the caller commits.
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())  # the `alembic` command line: no loop is running yet


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
