"""PgBouncer in transaction mode in front of a private PostgreSQL (`private_postgres.py`), in a process of
the benchmark's own.

It is Debian's `pgbouncer` package (1.18 on Debian 12: `apt-get install pgbouncer`, which puts it in
/usr/sbin), when it is on PATH: `pgbouncer_path()` says whether it is; without it, the notebook skips
its part. Nothing else is needed of the package: its own service is never started.

Its configuration file and Unix socket go in the server's folder. The app logs in as its role with no
password (`auth_type = trust`, which still wants the user listed in `auth_file`), and PgBouncer logs in
to PostgreSQL on its socket the same way. It runs as the server does: PgBouncer refuses to run as root.
In transaction mode a client holds a server connection only for the length of a transaction, so any
number of clients share `pool_size` connections to PostgreSQL.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from workshop.bench.private_postgres import PORT as POSTGRES_PORT
from workshop.bench.private_postgres import PrivatePostgres

PORT = 6432  # PgBouncer's usual port, on a socket in the server's folder


@dataclass(frozen=True, kw_only=True)
class PgBouncer:
    pid: int
    pool_size: int
    """Server connections PgBouncer opens to the database at most, whatever its clients number."""


def pgbouncer_path() -> str | None:
    """Where `pgbouncer` is on PATH; None when it is not installed (or not on PATH)."""
    return shutil.which("pgbouncer")


def pgbouncer_version() -> str:
    """`PgBouncer 1.18.0`, say: the first line of `pgbouncer --version`."""
    path = pgbouncer_path()
    if path is None:
        raise FileNotFoundError("pgbouncer is not on PATH")
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    return version.split("\n")[0]


@contextmanager
def serve_pgbouncer(
    postgres: PrivatePostgres, database: str, user: str, pool_size: int
) -> Iterator[PgBouncer]:
    """PgBouncer for `database`, as `user`, in transaction mode with `pool_size` server connections;
    clients reach it at `postgres.url(user, database, port=PORT)`."""
    path = pgbouncer_path()
    if path is None:
        raise FileNotFoundError("pgbouncer is not on PATH (Debian: apt-get install pgbouncer)")
    config, users = postgres.directory / "pgbouncer.ini", postgres.directory / "pgbouncer-users.txt"
    users.write_text(f'"{user}" ""\n')
    config.write_text(
        f"""[databases]
{database} = host={postgres.directory} port={POSTGRES_PORT} dbname={database}

[pgbouncer]
listen_addr =
listen_port = {PORT}
unix_socket_dir = {postgres.directory}
auth_type = trust
auth_file = {users}
pool_mode = transaction
default_pool_size = {pool_size}
max_db_connections = {pool_size}
reserve_pool_size = 0
max_client_conn = 500
log_connections = 0
log_disconnections = 0
"""
    )  # no logfile: its errors go to stderr, in the log below; no pidfile: this process knows its pid
    for file in (config, users):
        if postgres.run_as:
            shutil.chown(file, postgres.run_as)
    log_path = postgres.directory / "pgbouncer.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [path, str(config)], user=postgres.run_as, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    try:
        _wait_until_it_answers(postgres.url(user, database, port=PORT), process, log_path)
        yield PgBouncer(pid=process.pid, pool_size=pool_size)
    finally:
        process.send_signal(signal.SIGTERM)  # 1.18: an immediate shutdown; its clients are gone by now
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_it_answers(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + 10
    while True:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError as error:
            if process.poll() is not None or time.monotonic() > deadline:
                output = log.read_text(errors="replace")
                raise RuntimeError(f"PgBouncer did not start: {error}\n{output}") from error
            time.sleep(0.05)
