"""Fresh, isolated databases cut from a template, one per test.

A run builds its schema once, into a template database; each test then gets
`CREATE DATABASE … TEMPLATE …`, a copy that takes a few tens of milliseconds, and drops it afterwards.
PostgreSQL refuses to copy a template while anyone is connected to it, so whatever builds the schema
must dispose of its connections before the first copy.
"""

from __future__ import annotations

import itertools
import secrets
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
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
    """The databases of one test run: a template with the schema, and copies of it.

    A copy costs the server a fraction of a second, mostly waiting on the disk (it copies the
    template's system catalogs too), and several copies made at once cost little more than one. So a
    few copies are kept ready, made in background threads while the tests run, and used ones are
    dropped in the background too.
    """

    READY = 6  # copies made in advance

    __test__ = False  # not a test class, whatever its name says to pytest

    def __init__(self, server_url: str, build_schema: SchemaBuilder | None = None) -> None:
        self.server_url = server_url
        self._prefix = f"test_{secrets.token_hex(3)}"
        self._numbers = itertools.count(1)
        self.template = f"{self._prefix}_template"
        create_database(server_url, self.template)
        if build_schema is not None:
            build_schema(with_database(server_url, self.template))
        self._background = ThreadPoolExecutor(max_workers=self.READY + 1, thread_name_prefix="test-db")
        self._ready = deque(self._background.submit(self._copy_template) for _ in range(self.READY))

    def create(self) -> str:
        """A new database copied from the template; returns its driver-less URL."""
        url = self._ready.popleft().result()
        self._ready.append(self._background.submit(self._copy_template))
        return url

    def drop(self, url: str) -> None:
        """Drops a database `create()` made, now: its connections are closed by force."""
        drop_database(self.server_url, self._name_of(url))

    def drop_in_background(self, url: str) -> None:
        """The same, done while the next test runs; `close()` waits for it."""
        self._background.submit(drop_database, self.server_url, self._name_of(url))

    def close(self) -> None:
        for copy in self._ready:  # made for tests that never came
            self.drop_in_background(copy.result())
        self._background.shutdown(wait=True)
        drop_database(self.server_url, self.template)

    def _name_of(self, url: str) -> str:
        database = make_url(url).database
        assert database is not None and database.startswith(self._prefix), "not a database of this run"
        return database

    def _copy_template(self) -> str:
        name = f"{self._prefix}_{next(self._numbers)}"  # next() on a count is atomic in CPython
        create_database(self.server_url, name, template=self.template)
        return with_database(self.server_url, name)
