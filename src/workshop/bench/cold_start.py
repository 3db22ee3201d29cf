"""Cold start: from a process's start to its first 200, step 10 against a bare FastAPI app.

An instance that Cloud Run starts from zero serves nothing until its process has started Python,
imported the app, built it, run the lifespan's startup and begun to listen; the request that made it
start waits all of that. This benchmark times it as a client sees it: wall time from the moment the
process is started to the first 200, asking every 10 ms (`notebooks/cold-start.ipynb`, and
`python -m workshop.bench cold-start`):

- **step 10**, `uvicorn app.main:create_app --factory` in the step's directory, with every service it
  talks to up before the clock starts (`step_environment`: the kit's PostgreSQL with a database of the
  step's own, migrated; an embedded Valkey; the fake LLM upstream; the WorkOS emulator). Timed to its
  first 200 of `GET /health/live` (the process serves), then of `GET /health/ready` (it has reached
  PostgreSQL and Redis);
- **a bare FastAPI app** with one endpoint (`bare_app/app/main.py`) under the same command line: what
  any FastAPI app pays to start, so that the ratio between the two is what the step adds.

Both run with every module they import compiled to bytecode: this environment's packages and the
standard library are, and `compile_app` compiles each app's own package first (where
`PYTHONDONTWRITEBYTECODE` is set, as on this machine, no start would write it). They start in turn,
which one first alternating from round to round, after one unmeasured start of each that reads their
files into the OS's cache (how cold a container's files are at its first start is the platform's
business, not the app's). Each round's ratio is taken within the round, so that a busy moment slows
both sides of it.

`bytecode_variants` adds the step twice more: with no bytecode at all (each start compiles from source
every module it imports, as in a container whose image was built without compiling and whose user may
not write `__pycache__`), and with none for the standard library only (as in an image built on
`python:3.11-slim`, whose build deletes every `.pyc` of the standard library, when only the
environment and the app are compiled).

`import_times` reads `python -X importtime` of a module: where the imports' time goes.
"""

from __future__ import annotations

import compileall
import http.client
import os
import secrets
import shutil
import subprocess
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from workshop.bench.machine import Quiet, wait_until_quiet
from workshop.bench.processes import free_port, serve_fake_llm, uvicorn_command
from workshop.bench.series import EN_DASH, Spread
from workshop.steps import Step

LIVE = "/health/live"
READY = "/health/ready"
BARE_PATH = "/"
BARE_APP_DIRECTORY = Path(__file__).parent / "bare_app"
STEP_NAME = "step 10"
BARE_NAME = "bare FastAPI"
POLL_SECONDS = 0.01
RATIO_GOAL = 1.5
"""The step's time to its first 200 of /health/live, at most this many times the bare app's."""
UVICORN_OPTIONS = ("--ws", "none", "--no-access-log")
"""As the step's Dockerfile runs it: no WebSocket protocol to import at every start, no line per request."""


@dataclass(frozen=True, kw_only=True)
class Target:
    """An app to start again and again, and the paths whose first 200 each start waits for, in turn."""

    name: str
    directory: Path
    """Where its `app` package is: uvicorn's `--app-dir`, and the process's working directory."""
    paths: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    """Added to this process's environment."""


@dataclass(frozen=True, kw_only=True)
class Start:
    """One start of one app."""

    seconds: dict[str, float]
    """Wall time from the process's start to each path's first 200."""
    cpu_seconds: float
    """The CPU time (user and system) the process had used by its first 200: what the start cost,
    whatever else the machine was doing meanwhile."""


def step_target(step: Step, env: Mapping[str, str]) -> Target:
    return Target(name=STEP_NAME, directory=step.directory, paths=(LIVE, READY), env=env)


def bare_target() -> Target:
    return Target(name=BARE_NAME, directory=BARE_APP_DIRECTORY, paths=(BARE_PATH,))


def compile_app(target: Target) -> None:
    """Compiles the target's `app` package to bytecode, as the step's Dockerfile does at build time."""
    compileall.compile_dir(target.directory / "app", quiet=1)


def start_once(target: Target, *, timeout: float = 60.0) -> Start:
    """Starts the target's app, times its first 200 of each path, and stops it."""
    import psutil  # type: ignore[import-untyped]

    port = free_port()
    # A step's command line: the bare app is laid out like a step, so only the directory differs.
    command = uvicorn_command(Step(target.directory), port, UVICORN_OPTIONS)
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a full pipe would block the server
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=target.directory,
            env={**os.environ, **target.env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            seconds, cpu_seconds = {}, None
            for path in target.paths:
                seconds[path] = _first_200(process, port, path, deadline=started + timeout) - started
                if cpu_seconds is None:
                    cpu = psutil.Process(process.pid).cpu_times()
                    cpu_seconds = cpu.user + cpu.system
            assert cpu_seconds is not None, "a target has at least one path"
            return Start(seconds=seconds, cpu_seconds=cpu_seconds)
        except (RuntimeError, TimeoutError) as error:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"{target.name}: {error}\nits output:\n{output}") from error
        finally:
            _stop(process)


def _first_200(process: subprocess.Popen[bytes], port: int, path: str, *, deadline: float) -> float:
    """The moment (`time.perf_counter()`) `GET path` first answered 200, asking every POLL_SECONDS."""
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the process ended (exit code {process.returncode}) before a 200 of {path}")
        left = deadline - time.perf_counter()
        if left <= 0:
            raise TimeoutError(f"no 200 of {path} in time")
        # A new connection each time, as a new client's request would come; uvicorn listens only once
        # the app's startup is done, so until then each attempt is refused at once.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=left)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return time.perf_counter()
        except ConnectionError:  # refused: not listening yet
            pass
        finally:
            connection.close()
        time.sleep(POLL_SECONDS)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as Cloud Run stops an instance (the app's shutdown runs); SIGKILL if it lingers."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# Rounds ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Round:
    """One start of each target, back to back."""

    starts: dict[str, Start]
    """By target name, in the order they started."""
    quiet: dict[str, Quiet]
    """By target name: how busy the machine was just before its start, and how fast its cores were."""


def compare(
    targets: Sequence[Target],
    *,
    rounds: int,
    warm_up: bool = True,
    quiet_below: float = 0.25,
    quiet_timeout: float = 30.0,
    report: Callable[[str], None] = print,
) -> list[Round]:
    """`rounds` rounds of one start per target; which target goes first rotates from round to round.

    Each target's `app` package is compiled first (`compile_app`). With `warm_up`, one start of each
    target follows, not counted: it reads the files into the OS's cache, so that no round pays for a
    disk read the others do not. Each start waits for a quiet machine first (up to `quiet_timeout`
    seconds): a start lasts a second or two, and on a shared machine another user's burst can take
    that much of the cores in the middle of a round."""
    for target in targets:
        compile_app(target)
    if warm_up:
        for target in targets:
            start_once(target)
    measured = []
    for number in range(rounds):
        shift = number % len(targets)
        starts, quiet = {}, {}
        for target in [*targets[shift:], *targets[:shift]]:
            quiet[target.name] = wait_until_quiet(busy_below=quiet_below, timeout=quiet_timeout)
            starts[target.name] = start_once(target)
        this = Round(starts=starts, quiet=quiet)
        measured.append(this)
        report(f"round {number + 1}: {describe_round(this)}")
    return measured


def describe_round(measured: Round) -> str:
    parts = []
    for name, start in measured.starts.items():
        times = ", ".join(f"{path} {seconds:.2f} s" for path, seconds in start.seconds.items())
        parts.append(f"{name}: {times} (CPU {start.cpu_seconds:.2f} s)")
    bare = measured.starts.get(BARE_NAME)
    step = measured.starts.get(STEP_NAME)
    if bare and step:
        ratio = step.seconds[LIVE] / bare.seconds[BARE_PATH]
        parts.append(f"{LIVE} vs bare {ratio:.2f}")
    loads = [quiet.load_average[0] for quiet in measured.quiet.values()]
    return " | ".join(parts) + f" | load {min(loads):.2f}{EN_DASH}{max(loads):.2f}"


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Each measure's median over the rounds, with the lowest and highest round."""

    rounds: list[Round]

    @property
    def names(self) -> list[str]:
        return list(self.rounds[0].starts)

    def seconds(self, target: str, path: str) -> Spread:
        return Spread.of([r.starts[target].seconds[path] for r in self.rounds])

    def cpu_seconds(self, target: str) -> Spread:
        return Spread.of([r.starts[target].cpu_seconds for r in self.rounds])

    def ratio(self, target: str, path: str) -> Spread:
        """Round by round: the target's time to `path` over the bare app's time to its first 200."""
        return Spread.of(
            [r.starts[target].seconds[path] / r.starts[BARE_NAME].seconds[BARE_PATH] for r in self.rounds]
        )

    def cpu_ratio(self, target: str) -> Spread:
        return Spread.of(
            [r.starts[target].cpu_seconds / r.starts[BARE_NAME].cpu_seconds for r in self.rounds]
        )

    @property
    def load_average(self) -> Spread:
        """The 1-minute load average before each start."""
        return Spread.of([quiet.load_average[0] for r in self.rounds for quiet in r.quiet.values()])

    @property
    def reference_ms(self) -> Spread:
        """How long the reference loop of pure Python took before each start (see `machine.py`)."""
        return Spread.of([quiet.reference_ms for r in self.rounds for quiet in r.quiet.values()])

    @property
    def goal_met(self) -> bool:
        return self.ratio(STEP_NAME, LIVE).median <= RATIO_GOAL


def summary_table(summary: Summary) -> str:
    """The medians (lowest to highest round) as a Markdown table; the goal, met or not, last. The CPU
    time is the process's by its first 200 of its first path."""
    met = {True: "met", False: "not met"}
    rows = [
        "| from the process's start to the first 200 of | wall time | vs the bare app | CPU time by then "
        "| vs the bare app | goal |",
        "|---|---:|---:|---:|---:|---|",
        f"| the bare FastAPI app, `GET {BARE_PATH}` | {summary.seconds(BARE_NAME, BARE_PATH):.2f} s | 1 "
        f"| {summary.cpu_seconds(BARE_NAME):.2f} s | 1 | |",
    ]
    for name in summary.names:
        if name == BARE_NAME:
            continue
        for path in (LIVE, READY):
            cpu_seconds, cpu_ratio = summary.cpu_seconds(name), summary.cpu_ratio(name)
            cpu = f"{cpu_seconds:.2f} s | {cpu_ratio:.2f}" if path == LIVE else " |"
            goal = f"≤ {RATIO_GOAL:g}: {met[summary.goal_met]}" if (name, path) == (STEP_NAME, LIVE) else ""
            rows.append(
                f"| {name}, `GET {path}` | {summary.seconds(name, path):.2f} s "
                f"| {summary.ratio(name, path):.2f} | {cpu} | {goal} |"
            )
    return "\n".join(rows)


# The stage --------------------------------------------------------------------------------------------


@contextmanager
def step_environment(step: Step) -> Iterator[dict[str, str]]:
    """Everything the step talks to, up and ready, and the environment variables that point it there.

    The kit's PostgreSQL with a database of the step's own, migrated to its head; an embedded Valkey;
    the fake LLM upstream, in a process of its own; the WorkOS emulator, in a thread of this process.
    None of them is timed. All stopped, and the database dropped, on the way out."""
    # Imported here: they take a second or two, and the bare app's measures need none of them.
    from cryptography.fernet import Fernet
    from workshop import services
    from workshop.databases import create_database, drop_database
    from workshop.fake_llm import API_KEY
    from workshop.migrations import upgrade
    from workshop.server import serve_in_thread
    from workshop.workos_emulator import WorkOSEmulator, load_seeds

    assert step.database_driver is not None and step.alembic_ini is not None, f"{step.name}: no database"
    with ExitStack() as running:
        redis_url = services.redis_url()  # starts the embedded Valkey, unless REDIS_URL names a server
        emulator = WorkOSEmulator(seeds=load_seeds(step.directory / "workos-seed.toml"))
        emulator.base_url = running.enter_context(serve_in_thread(emulator.app()))
        upstream = running.enter_context(serve_fake_llm(latency=0.0))
        server = services.postgres_url()
        database = f"bench_{step.number}_{secrets.token_hex(3)}"
        create_database(server, database)
        running.callback(drop_database, server, database)
        url = services.with_database(server, database)
        upgrade(step.alembic_ini, url)
        yield {
            "DATABASE_URL": services.with_driver(url, step.database_driver),
            "REDIS_URL": redis_url,
            "LLM_BASE_URL": upstream.base_url,
            "LLM_API_KEY": API_KEY,
            "WORKOS_API_KEY": emulator.api_key,
            "WORKOS_CLIENT_ID": emulator.client_id,
            "WORKOS_BASE_URL": emulator.base_url,
            "SESSION_COOKIE_PASSWORD": Fernet.generate_key().decode(),
        }


@contextmanager
def bytecode_variants(target: Target) -> Iterator[list[Target]]:
    """`target` without any bytecode, and without the standard library's only (see the module's
    docstring). Python reads bytecode from a mirror tree when `PYTHONPYCACHEPREFIX` names one, and
    never from `__pycache__` then: an empty tree is no bytecode, without touching the environment's
    own (which other processes use). `PYTHONDONTWRITEBYTECODE` keeps each start from writing what it
    compiled, as a user who may not write there cannot."""
    with tempfile.TemporaryDirectory(prefix="cold-start-bytecode-") as directory:
        nothing = Path(directory) / "none"
        nothing.mkdir()
        no_stdlib = Path(directory) / "no-stdlib"
        # One start with writing allowed (an empty value unsets it) fills the tree with the bytecode of
        # all it imports; then the standard library's part of the tree goes. ("platstdlib" would name
        # the virtual environment's own lib/ here, site-packages and all: "stdlib" is the base's.)
        writing = {**target.env, "PYTHONPYCACHEPREFIX": str(no_stdlib), "PYTHONDONTWRITEBYTECODE": ""}
        start_once(replace(target, env=writing))
        shutil.rmtree(no_stdlib / sysconfig.get_path("stdlib").lstrip(os.sep))
        read_only = {**target.env, "PYTHONDONTWRITEBYTECODE": "1"}
        yield [
            replace(
                target,
                name=f"{target.name}, no bytecode",
                env={**read_only, "PYTHONPYCACHEPREFIX": str(nothing)},
            ),
            replace(
                target,
                name=f"{target.name}, no stdlib bytecode",
                env={**read_only, "PYTHONPYCACHEPREFIX": str(no_stdlib)},
            ),
        ]


# Where the imports' time goes ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ImportTime:
    module: str
    self_ms: float
    cumulative_ms: float
    """With every module it imported first."""


def import_times(directory: Path, module: str = "app.main") -> list[ImportTime]:
    """`python -X importtime -c "import MODULE"` in `directory`, every module imported, in its order.

    The times include `-X importtime`'s own bookkeeping, a little for each module: they add up to
    more than the import takes without it."""
    import sys

    finished = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=True,
    )
    times = []
    for line in finished.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        times.append(
            ImportTime(
                module=name.strip(), self_ms=int(self_us) / 1000, cumulative_ms=int(cumulative_us) / 1000
            )
        )
    return times


def by_package(times: Sequence[ImportTime]) -> dict[str, tuple[float, int]]:
    """Each top-level package's own import time (its modules' self times, summed) and its module
    count, the most expensive first."""
    packages: dict[str, tuple[float, int]] = {}
    for entry in times:
        package = entry.module.split(".")[0]
        spent, count = packages.get(package, (0.0, 0))
        packages[package] = (spent + entry.self_ms, count + 1)
    return dict(sorted(packages.items(), key=lambda item: item[1][0], reverse=True))


# The command line -----------------------------------------------------------------------------------


def run_from_command_line(*, rounds: int, bytecode: bool, quiet_timeout: float) -> Summary:
    """`python -m workshop.bench cold-start`: the notebook's measures, printed."""
    import logging

    from workshop.bench.machine import describe_machine
    from workshop.steps import find_step

    step, machine = find_step("10"), describe_machine()
    print(f"{machine}; load average now {os.getloadavg()[0]:.2f}")
    logging.disable(logging.INFO)  # the migrations' progress lines
    with step_environment(step) as env, ExitStack() as running:
        logging.disable(logging.NOTSET)
        targets = [step_target(step, env), bare_target()]
        if bytecode:
            targets += running.enter_context(bytecode_variants(targets[0]))
        print(
            f"uvicorn app.main:create_app --factory {' '.join(UVICORN_OPTIONS)}, one start of each of "
            f"{', '.join(t.name for t in targets)} to warm the OS's file cache (not counted), "
            f"then {rounds} rounds, the first to start rotating",
            flush=True,
        )
        summary = Summary(
            rounds=compare(
                targets,
                rounds=rounds,
                quiet_timeout=quiet_timeout,
                report=lambda line: print(line, flush=True),
            )
        )
    print(
        f"median (lowest{EN_DASH}highest) of {rounds} rounds, {machine.date}; load average (1 min) before "
        f"the starts {summary.load_average:.2f}, reference loop {summary.reference_ms:.0f} ms:"
    )
    print(summary_table(summary))
    return summary
