"""Starting and stopping the processes under test, each in a process of its own.

- the fake LLM upstream: `workshop fake-llm --port P --latency L`;
- the step's app: `uvicorn app.main:create_app --factory --app-dir steps/NN-… --workers 1`, with a
  database of its own (created here, dropped afterwards);
- the raw yardstick of a step's read path (`raw_usage.py`), on the step's database.

Whatever happens in the block, each process is stopped and each database dropped on the way out.
mirakuru's `HTTPExecutor` starts each process, waits until its readiness path answers, and stops it
(SIGTERM to its process group, SIGKILL if it has not ended in time).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from mirakuru import HTTPExecutor
from mirakuru.exceptions import ProcessExitedWithError, ProcessFinishedWithError, TimeoutExpired
from workshop.steps import Step


@dataclass(frozen=True, kw_only=True)
class Served:
    """A process started for the benchmark, and where it listens."""

    name: str
    base_url: str
    pid: int
    database: str | None = None
    log: IO[bytes] | None = field(default=None, repr=False)
    """Its output so far (stdout and stderr), while it runs."""

    def output(self, last: int = 40) -> str:
        """The last lines of its output: where a server says why it answered 500 or 503."""
        if self.log is None:
            return ""
        # pread, not seek and read: the process writes through the same open file, and so shares its
        # offset; moving it would make the process write over what it wrote before.
        fd = self.log.fileno()
        text = os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")
        return "\n".join(text.splitlines()[-last:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_fake_llm(latency: float) -> Iterator[Served]:
    """The kit's fake upstream, answering every call after `latency` seconds, in its own process."""
    port = free_port()
    workshop = str(Path(sysconfig.get_path("scripts")) / "workshop")  # this environment's CLI
    command = [workshop, "fake-llm", "--port", str(port), "--latency", str(latency)]
    with _running("fake-llm", command, port, ready_path="/_fake/behaviour", env={}) as served:
        yield served


def uvicorn_command(step: Step, port: int, options: Sequence[str] = ()) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
        "--app-dir", str(step.directory), "--workers", "1",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        *options,
    ]  # fmt: skip


@contextmanager
def serve_step(
    step: Step,
    llm_base_url: str,
    uvicorn_options: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    ready_path: str = "/v1/usage?limit=1",
) -> Iterator[Served]:
    """The step's app under uvicorn (one worker), with a fresh database that is dropped afterwards.

    `env` adds to the app's environment (from step 07 on: where WorkOS is); `port` is for a caller that
    must know it beforehand (WorkOS' redirect URI names it). The app is ready when `GET ready_path`
    answers 200: from step 09 on, every `/v1/*` path wants a session, and the home page `/` is the one
    to ask."""
    # Imported here, not at the top: the load generator's process needs none of them, and they take
    # a second or two to import.
    from workshop import services
    from workshop.databases import create_database, drop_database

    if step.database_driver is None:
        raise ValueError(f"step {step.name} has no database; this benchmark needs one")
    server = services.postgres_url()
    database = f"bench_{step.number}_{secrets.token_hex(3)}"
    create_database(server, database)
    try:
        url = services.with_database(server, database)
        if step.alembic_ini:
            from workshop.migrations import upgrade

            upgrade(step.alembic_ini, url)
        served = serve_step_on(
            step, url, llm_base_url, uvicorn_options, env=env, port=port, ready_path=ready_path
        )
        with served as app:
            yield app
    finally:
        drop_database(server, database)


@contextmanager
def serve_step_on(
    step: Step,
    database_url: str,
    llm_base_url: str,
    uvicorn_options: Sequence[str] = (),
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    ready_path: str = "/v1/usage?limit=1",
    name: str | None = None,
) -> Iterator[Served]:
    """The step's app under uvicorn (one worker), on a database the caller made, migrated, and drops:
    `database_url` is libpq's form (`postgresql://…`). `serve_step` explains the other arguments; `name`
    tells several instances of one step apart (default: the step's name)."""
    from sqlalchemy.engine import make_url
    from workshop import services
    from workshop.fake_llm import API_KEY

    assert step.database_driver is not None, f"step {step.name} has no database"
    app_env = {
        "LLM_BASE_URL": llm_base_url,
        "LLM_API_KEY": API_KEY,
        "DATABASE_URL": services.with_driver(database_url, step.database_driver),
        **(env or {}),
    }
    port = port or free_port()
    command = uvicorn_command(step, port, uvicorn_options)
    with _running(name or step.name, command, port, ready_path=ready_path, env=app_env) as served:
        yield Served(
            name=served.name,
            base_url=served.base_url,
            pid=served.pid,
            database=make_url(database_url).database,
            log=served.log,
        )


@contextmanager
def serve_raw_usage(
    database: str,
    uvicorn_options: Sequence[str] = (),
    *,
    env: Mapping[str, str],
) -> Iterator[Served]:
    """The raw yardstick app (`raw_usage.py`) under uvicorn (one worker), on `database` of the kit's
    PostgreSQL server; `env` configures it (its `RAW_USAGE_*` variables, but the database's URL)."""
    from workshop import services

    command = [
        sys.executable, "-m", "uvicorn", "workshop.bench.raw_usage:create_app", "--factory",
        "--workers", "1", "--host", "127.0.0.1", "--log-level", "warning",
    ]  # fmt: skip
    port = free_port()
    command += ["--port", str(port), *uvicorn_options]
    app_env = {"RAW_USAGE_DATABASE_URL": services.with_database(services.postgres_url(), database), **env}
    with _running("raw usage app", command, port, ready_path="/", env=app_env) as served:
        yield Served(
            name=served.name, base_url=served.base_url, pid=served.pid, database=database, log=served.log
        )


@contextmanager
def _running(
    name: str, command: list[str], port: int, *, ready_path: str, env: Mapping[str, str]
) -> Iterator[Served]:
    """Starts `command`, waits until `GET ready_path` answers 200, and stops it on exit, whatever happens."""
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a full pipe would block the server
        server = HTTPExecutor(
            command,
            url=f"http://127.0.0.1:{port}{ready_path}",
            status=200,
            method="GET",  # FastAPI answers HEAD (mirakuru's default) with 405
            envvars=dict(env),  # added to this process's environment
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=30,  # to start, and to stop before SIGKILL
        )
        try:
            server.start()
        except (ProcessExitedWithError, TimeoutExpired) as error:
            # mirakuru's error does not carry the process's output; the reason is in it.
            log.seek(0)
            raise RuntimeError(f"{error}\n{name}'s output:\n{log.read().decode(errors='replace')}") from error
        try:
            assert server.process is not None
            yield Served(name=name, base_url=f"http://127.0.0.1:{port}", pid=server.process.pid, log=log)
        finally:
            # SIGTERM: uvicorn shuts down gracefully and runs the app's lifespan exit. An exit code other
            # than 0 or -SIGTERM would raise here, and hide the error the block may be raising.
            with contextlib.suppress(ProcessFinishedWithError):
                server.stop()


def embedded_valkey_pid(redis_url: str) -> int | None:
    """The pid of the kit's embedded Valkey at `redis_url`, to count its CPU; None for any other Redis.

    The embedded server names its Unix socket in its process title (see `workshop.services`)."""
    import psutil  # type: ignore[import-untyped]

    if not redis_url.startswith("unix://"):
        return None
    socket_path = redis_url.removeprefix("unix://")
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "valkey-server" and socket_path in " ".join(process.info["cmdline"] or []):
            return int(process.pid)
    return None
