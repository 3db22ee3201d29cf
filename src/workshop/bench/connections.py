"""What the database sees while the load runs: connections held, sessions opened, the server's CPU.

A thread polls the server every `every` seconds and keeps timestamped samples, so that what happened can
be cut to the load generator's measuring window afterwards (`DatabaseWatch.during`):

- `pg_stat_activity`: how many connections the app has open to its database, and how many of them are
  running a statement;
- `pg_stat_database.sessions`: how many sessions were ever opened to the database. A pool that keeps
  its connections opens none under steady load; one that opens and closes connections as the load
  bursts (SQLAlchemy's default `QueuePool` closes each of its 10 "overflow" connections as soon as it is
  returned while 5 others are idle) opens many, and each new session costs a fork and a login on the
  server and a handshake in the app;
- the CPU time of the whole PostgreSQL server (its postmaster, every process it runs, and every one that
  has ended), read with psutil when the server runs on this machine. Per-database it cannot be: a
  backend that lives for a few milliseconds (a pool's overflow connection does) is gone before any
  sample sees it, and only the postmaster's count of its ended children still holds its CPU. So on a
  server shared with other users, their databases' work is counted here too.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psutil  # type: ignore[import-untyped]

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True, kw_only=True)
class DatabaseUse:
    """What the database saw during one window."""

    open: int
    """The most connections open to the database at once."""
    active: int
    """The most of them running a statement at once."""
    sessions_opened: int
    """Sessions (connections) opened to the database during the window."""
    server_cpu_seconds: float | None
    """CPU time the whole PostgreSQL server used during the window; None when it is not on this machine."""


@dataclass(frozen=True)
class _Sample:
    at: float  # time.time()
    open: int
    active: int
    sessions: int  # pg_stat_database.sessions: cumulative
    server_cpu: float | None  # the whole server's CPU seconds, cumulative; read every `CPU_EVERY`th sample


@dataclass
class DatabaseWatch:
    """Samples of a database's activity, taken by `watch_database`'s thread."""

    database: str
    samples: list[_Sample] = field(default_factory=list)
    postmaster: psutil.Process | None = None
    """The server's main process, when it runs on this machine."""

    def during(self, start: float, end: float) -> DatabaseUse:
        """What happened between two `time.time()` instants (the load generator's window)."""
        times = [sample.at for sample in self.samples]
        if not times:
            raise RuntimeError(f"no sample of {self.database!r} was taken: was the watch running?")
        # The last sample at or before each edge (the first sample, if none was that early).
        first = self.samples[max(0, bisect.bisect_right(times, start) - 1)]
        last = self.samples[max(0, bisect.bisect_right(times, end) - 1)]
        inside = [sample for sample in self.samples if start <= sample.at <= end] or [last]
        return DatabaseUse(
            open=max(sample.open for sample in inside),
            active=max(sample.active for sample in inside),
            sessions_opened=last.sessions - first.sessions,
            server_cpu_seconds=self._server_cpu(end) - self._server_cpu(start) if self.postmaster else None,
        )

    def _server_cpu(self, moment: float) -> float:
        """The server's CPU time at the last reading at or before `moment` (or the first reading)."""
        readings = [(s.at, s.server_cpu) for s in self.samples if s.server_cpu is not None]
        index = max(0, bisect.bisect_right([at for at, _ in readings], moment) - 1)
        return readings[index][1]


CPU_EVERY = 5
"""Read the server's CPU time at every 5th sample only: listing the postmaster's children means reading
every process of the machine, and the counters are cumulative, so a reading near each edge of the
window is all the sum needs."""


@contextmanager
def watch_database(
    database: str, every: float = 0.05, *, server_url: str | None = None
) -> Iterator[DatabaseWatch]:
    """Samples the activity on `database` in a background thread while the block runs, through a
    connection to `server_url` (default: the kit's server) that may see every session."""
    import psycopg
    from workshop import services

    watch = DatabaseWatch(database)
    stop, ready = threading.Event(), threading.Event()
    connections = (
        "SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity"
        " WHERE datname = %s AND backend_type = 'client backend'"
    )
    sessions = "SELECT sessions FROM pg_stat_database WHERE datname = %s"

    def sample(conn: psycopg.Connection[tuple[Any, ...]], read_cpu: bool = True) -> None:
        open_, active = conn.execute(connections, (database,)).fetchone() or (0, 0)
        row = conn.execute(sessions, (database,)).fetchone()
        watch.samples.append(
            _Sample(
                at=time.time(),
                open=int(open_),
                active=int(active),
                sessions=int(row[0]) if row and row[0] is not None else 0,
                server_cpu=_tree_cpu_seconds(watch.postmaster) if watch.postmaster and read_cpu else None,
            )
        )

    def poll() -> None:
        try:
            with psycopg.connect(server_url or services.postgres_url(), autocommit=True) as conn:
                watch.postmaster = _local_postmaster(conn)
                sample(conn)
                ready.set()
                taken = 1
                while not stop.wait(every):
                    sample(conn, read_cpu=taken % CPU_EVERY == 0)
                    taken += 1
                sample(conn)
        finally:
            ready.set()

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    ready.wait(timeout=30)  # the first sample is taken before the block starts
    try:
        yield watch
    finally:
        stop.set()
        thread.join()


def postgres_server_cpu_seconds() -> float | None:
    """The CPU time the whole PostgreSQL server has used so far; None when it is not on this machine."""
    import psycopg
    from workshop import services

    with psycopg.connect(services.postgres_url(), autocommit=True) as conn:
        postmaster = _local_postmaster(conn)
        return _tree_cpu_seconds(postmaster) if postmaster else None


def _local_postmaster(conn: psycopg.Connection[tuple[Any, ...]]) -> psutil.Process | None:
    """The server's main process, if it runs here: the parent of this connection's backend."""
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    try:
        backend = psutil.Process(row[0]) if row else None
        if backend is None or "postgres" not in backend.name():
            return None  # a server elsewhere; the pid, if any, is some local process's
        parent: psutil.Process | None = backend.parent()
        return parent
    except psutil.Error:
        return None


def _tree_cpu_seconds(postmaster: psutil.Process) -> float:
    """The CPU time of the postmaster, of every process it runs, and of every one that has ended."""
    times = postmaster.cpu_times()
    seconds = float(times.user + times.system + times.children_user + times.children_system)
    for child in postmaster.children():
        try:
            child_times = child.cpu_times()
        except psutil.Error:  # ended since the listing: its time is in children_user/system next time
            continue
        seconds += child_times.user + child_times.system
    return seconds
