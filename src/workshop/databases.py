"""Fresh, isolated databases cut from a template, one per test.

A run builds its schema once, into a template database; each test then gets
`CREATE DATABASE … TEMPLATE …`, a copy that takes a few tens of milliseconds, and drops it afterwards.
PostgreSQL refuses to copy a template while anyone is connected to it, so whatever builds the schema
must dispose of its connections before the first copy.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable

import psycopg
from psycopg import sql
from workshop.services import with_database

SchemaBuilder = Callable[[str], None]
"""Builds the schema into the database at the given URL (driver-less), then closes its connections."""


def create_database(server_url: str, name: str, template: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template:
        statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
    _run_outside_transaction(server_url, statement)


def drop_database(server_url: str, name: str) -> None:
    statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    _run_outside_transaction(server_url, statement)


def database_exists(server_url: str, name: str) -> bool:
    with psycopg.connect(server_url, autocommit=True) as conn:
        query = sql.SQL("SELECT 1 FROM pg_database WHERE datname = {}").format(sql.Literal(name))
        found = conn.execute(query).fetchone()
        return found is not None


def _run_outside_transaction(server_url: str, statement: sql.Composed) -> None:
    # CREATE/DROP DATABASE cannot run inside a transaction block.
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(statement)


class TestDatabases:
    """The databases of one test run: a template with the schema, and copies of it."""

    __test__ = False  # not a test class, whatever its name says to pytest

    def __init__(self, server_url: str, build_schema: SchemaBuilder | None = None) -> None:
        self.server_url = server_url
        self._prefix = f"test_{secrets.token_hex(3)}"
        self._numbers = itertools.count(1)
        self.template = f"{self._prefix}_template"
        create_database(server_url, self.template)
        if build_schema is not None:
            build_schema(with_database(server_url, self.template))

    def create(self) -> str:
        """A new database copied from the template; returns its driver-less URL."""
        name = f"{self._prefix}_{next(self._numbers)}"
        create_database(self.server_url, name, template=self.template)
        return with_database(self.server_url, name)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        database = make_url(url).database
        assert database is not None and database.startswith(self._prefix)
        drop_database(self.server_url, database)

    def close(self) -> None:
        drop_database(self.server_url, self.template)
