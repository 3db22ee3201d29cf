"""What the database sees while the load runs: how many connections the app holds, and how many work."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class ConnectionCount:
    """The most connections a database had open at once, and the most of them running a statement."""

    open: int = 0
    active: int = 0


@contextmanager
def watch_connections(database: str, every: float = 0.05) -> Iterator[ConnectionCount]:
    """Polls `pg_stat_activity` in a background thread while the block runs."""
    import psycopg
    from workshop import services

    count = ConnectionCount()
    stop = threading.Event()
    query = (
        "SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()"
    )

    def poll() -> None:
        with psycopg.connect(services.postgres_url(), autocommit=True) as conn:
            while not stop.wait(every):
                row = conn.execute(query, (database,)).fetchone()
                assert row is not None
                count.open, count.active = max(count.open, row[0]), max(count.active, row[1])

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield count
    finally:
        stop.set()
        thread.join()
