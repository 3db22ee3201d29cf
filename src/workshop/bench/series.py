"""Repeated runs, and what a page may quote of them: the median and the spread of each measure.

One run is one level of load on one app (`measure_once`): wait for the machine to be quiet, note the load
average and how fast the cores are (a reference loop), run the load generator in its own process, and
watch the database meanwhile. It records the CPU time every process of the benchmark used in the window
(the app, the fake upstream, the load generator, the whole PostgreSQL server, and this process, which
watches) and what the rest of the machine used, so a reader can see whether the app or something else
was short of CPU.

A `Point` gathers the runs of one level; each measure is reported as a `Spread`: the median, with the
lowest and highest run. One run proves little on a shared machine; three or more, with their spread,
show how far a reader's rerun may land from the median.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from workshop.bench.clients import CHAT_BODY, EXPECTED_REPLY, Client, Method
from workshop.bench.connections import DatabaseUse, watch_database
from workshop.bench.launcher import run_load
from workshop.bench.load import LoadResult
from workshop.bench.machine import Quiet, wait_until_quiet
from workshop.bench.processes import Served

POSTGRES = "PostgreSQL"
INTERRUPTS = "interrupts"
"""The kernel's interrupt and softirq time, charged to no process: on loopback, much of it is the
benchmark's own packets."""
EN_DASH = "\u2013"  # a range, as typography writes it: 230\u2013262
OTHERS = "others"
"""Every process on the machine that is not part of the benchmark (another user's tests, say)."""


@dataclass(frozen=True, kw_only=True)
class Spread:
    """A measure over several runs: the median, and the lowest and highest run."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("a spread of no values")
        return cls(median=statistics.median(values), low=min(values), high=max(values))

    def __format__(self, spec: str) -> str:
        """`f"{spread:.1f}"` is "median (lowest to highest)", the two joined by an en dash; a single run, or
        runs that agree to the digits shown, print the median alone."""
        median, low, high = (format(value, spec) for value in (self.median, self.low, self.high))
        return median if low == high else f"{median} ({low}{EN_DASH}{high})"

    def __mul__(self, factor: float) -> Spread:
        return Spread(median=self.median * factor, low=self.low * factor, high=self.high * factor)

    def __truediv__(self, divisor: float) -> Spread:
        return self * (1 / divisor)


@dataclass(frozen=True, kw_only=True)
class Run:
    """One run of one level of load on one app."""

    load: LoadResult
    quiet: Quiet
    database: DatabaseUse | None = None

    @property
    def cpu_seconds(self) -> dict[str, float]:
        """CPU time each part used in the window: the watched processes, `POSTGRES`, `INTERRUPTS`, and
        `OTHERS`: the rest of the machine's busy time (never below zero), other users' processes and the
        hypervisor's `steal`."""
        seconds = dict(self.load.cpu_seconds)
        if self.database and self.database.server_cpu_seconds is not None:
            seconds[POSTGRES] = self.database.server_cpu_seconds
        capacity = (os.cpu_count() or 1) * self.load.window_seconds
        seconds[INTERRUPTS] = self.load.machine_interrupts * capacity
        seconds[OTHERS] = max(0.0, self.load.machine_busy * capacity - sum(seconds.values()))
        return seconds

    @property
    def cores(self) -> dict[str, float]:
        """How many cores' worth of CPU each part used on average during the window."""
        return {name: seconds / self.load.window_seconds for name, seconds in self.cpu_seconds.items()}


@dataclass(frozen=True, kw_only=True)
class Point:
    """The runs of one level of load on one app, and each measure's median and spread over them."""

    concurrency: int
    runs: list[Run] = field(default_factory=list)

    def spread(self, measure: Callable[[Run], float]) -> Spread:
        return Spread.of([measure(run) for run in self.runs])

    @property
    def throughput(self) -> Spread:
        return self.spread(lambda run: run.load.throughput)

    @property
    def p50(self) -> Spread:
        return self.spread(lambda run: run.load.p50)

    @property
    def p99(self) -> Spread:
        return self.spread(lambda run: run.load.p99)

    @property
    def errors(self) -> int:
        """Errors over all the runs: any at all is worth a look."""
        return sum(run.load.errors for run in self.runs)

    @property
    def error_kinds(self) -> dict[str, int]:
        """The errors over all the runs, by what went wrong."""
        kinds: dict[str, int] = {}
        for run in self.runs:
            for kind, count in run.load.error_kinds.items():
                kinds[kind] = kinds.get(kind, 0) + count
        return kinds

    @property
    def load_average(self) -> Spread:
        """The 1-minute load average just before each run."""
        return self.spread(lambda run: run.quiet.load_average[0])

    @property
    def reference_ms(self) -> Spread:
        """How long the reference loop of pure Python took just before each run (see `machine.py`)."""
        return self.spread(lambda run: run.quiet.reference_ms)

    def cores(self, name: str) -> Spread:
        """Cores' worth of CPU that `name` (a process, `POSTGRES` or `OTHERS`) used during the windows."""
        return self.spread(lambda run: run.cores.get(name, 0.0))

    def cpu_ms_per_request(self, name: str) -> Spread:
        """CPU milliseconds `name` used per OK answer."""
        return self.spread(lambda run: run.cpu_seconds.get(name, 0.0) / max(run.load.ok, 1) * 1000)

    @property
    def sessions_per_1000(self) -> Spread:
        """Database sessions opened per 1,000 OK answers: above zero, the pool opens and closes some."""
        return self.spread(
            lambda run: (run.database.sessions_opened if run.database else 0) / max(run.load.ok, 1) * 1000
        )

    @property
    def connections(self) -> Spread:
        """The most connections the app had open to its database at once."""
        return self.spread(lambda run: run.database.open if run.database else 0)


def measure_once(
    url: str | Sequence[str],
    concurrency: int,
    *,
    window: float,
    min_warmup: float,
    watch: Mapping[str, int],
    ramp_up: float = 0.0,
    database: str | None = None,
    client: Client = "raw",
    method: Method = "POST",
    body: object = CHAT_BODY,
    headers: Mapping[str, str] | None = None,
    expect: bytes = EXPECTED_REPLY,
    quiet_below: float = 0.25,
    quiet_timeout: float = 120.0,
    server_url: str | None = None,
) -> Run:
    """One run: waits for a quiet machine, then drives `url` with the load generator (see `run_load`).

    `watch` names the processes whose CPU is counted (name -> pid); this process is added as "bench",
    for the watching it does. With `database`, the database's sessions and backends are watched too, on
    the server at `server_url` (default: the kit's).
    """
    quiet = wait_until_quiet(busy_below=quiet_below, timeout=quiet_timeout)
    watched = {**watch, "bench": os.getpid()}

    def load() -> LoadResult:
        return run_load(
            url,
            concurrency,
            window=window,
            min_warmup=min_warmup,
            ramp_up=ramp_up,
            client=client,
            method=method,
            body=body,
            headers=headers,
            expect=expect,
            watch=watched,
        )

    if database is None:
        return Run(load=load(), quiet=quiet)
    with watch_database(database, server_url=server_url) as activity:
        result = load()
    return Run(
        load=result, quiet=quiet, database=activity.during(result.window_started_at, result.window_ended_at)
    )


def measure_app(
    app: Served,
    upstream: Served,
    concurrency: int,
    *,
    window: float,
    min_warmup: float,
    ramp_up: float = 0.0,
    quiet_below: float = 0.25,
    quiet_timeout: float = 120.0,
) -> Run:
    """One run against a step's `POST /v1/chat`, counting the app's, the upstream's and the database's CPU."""
    return measure_once(
        f"{app.base_url}/v1/chat",
        concurrency,
        window=window,
        min_warmup=min_warmup,
        ramp_up=ramp_up,
        watch={"app": app.pid, "upstream": upstream.pid},
        database=app.database,
        quiet_below=quiet_below,
        quiet_timeout=quiet_timeout,
    )


HELPERS = ("upstream", "load generator", "bench", INTERRUPTS)
"""The rest of the benchmark: what drives and serves the app, and the kernel carrying their traffic."""
UVICORN_OPTIONS = ("--loop", "uvloop", "--http", "httptools")
"""How the sync-vs-async notebook serves every app: uvicorn[standard]'s event loop and HTTP parser."""
BUSY_OTHERS = 0.25
"""Cores' worth of other processes' CPU above which a run is flagged as measured on a busy machine."""


def describe_run(run: Run, label: str) -> str:
    """One line per run: throughput, latencies, errors, the app's CPU, sessions, and how busy others were."""
    load, opened = run.load, run.database.sessions_opened if run.database else 0
    app_ms = run.cpu_seconds.get("app", 0.0) / max(load.ok, 1) * 1000
    busy = "  (busy machine)" if run.cores[OTHERS] > BUSY_OTHERS else ""
    errors = f"{load.errors} errors"
    if load.error_kinds:
        errors += " (" + ", ".join(f"{kind}: {count}" for kind, count in load.error_kinds.items()) + ")"
    return (
        f"{label} {load.concurrency:>3}: {load.throughput:5.1f} req/s, p50 {load.p50:5.2f} s, "
        f"p99 {load.p99:5.2f} s, {errors} | app {app_ms:.1f} ms/req, {opened:>3} sessions "
        f"| load {run.quiet.load_average[0]:.2f}, others {run.cores[OTHERS]:.2f} cores, "
        f"reference {run.quiet.reference_ms:.0f} ms{busy}"
    )


def summarize(point: Point, *, ideal: float) -> str:
    """A point's medians and spreads, as a page may quote them."""
    helpers = point.spread(lambda run: sum(run.cores.get(name, 0.0) for name in HELPERS))
    lines = [
        f"  throughput  {point.throughput:.1f} req/s: {point.throughput / ideal * 100:.0f} % of the ideal "
        f"{ideal:.0f}",
        f"  latency     p50 {point.p50:.2f} s, p99 {point.p99:.2f} s; {point.errors} errors in all"
        + "".join(f", {kind}: {count}" for kind, count in point.error_kinds.items()),
        f"  app         {point.cores('app'):.2f} cores, {point.cpu_ms_per_request('app'):.1f} ms of CPU per "
        "request",
        f"  PostgreSQL  {point.cores(POSTGRES):.2f} cores (the whole server); "
        f"{point.sessions_per_1000:.0f} sessions opened per 1,000 requests",
        f"  the rest    {helpers:.2f} cores (fake upstream, load generator, watching, interrupts)",
        f"  others      {point.cores(OTHERS):.2f} cores; load average before the runs "
        f"{point.load_average:.2f}",
        f"  reference   {point.reference_ms:.0f} ms for the loop of pure Python timed before each run "
        "(the cores' speed: lower is faster)",
    ]
    if point.cores(OTHERS).median > BUSY_OTHERS:
        lines.append("  Other processes kept the machine busy during these runs: a quiet machine gives more.")
    return "\n".join(lines)


def measure_step(
    step_name: str,
    clients: int,
    *,
    runs: int = 3,
    window: float = 10.0,
    latency: float = 1.0,
    min_warmup: float = 2.0,
    quiet_below: float = 0.25,
    quiet_timeout: float = 120.0,
) -> Point:
    """One point of the sync-vs-async notebook, from the command line: `python -m workshop.bench step`.

    The fake upstream and the step's app each run in a process of their own (as the notebook serves
    them; not as `workshop up` does, which runs the fake upstream in the app's process and logs every
    request, both on the app's one core). Prints each run, then the medians and spreads.
    """
    from workshop.bench.machine import describe_machine
    from workshop.bench.processes import serve_fake_llm, serve_step
    from workshop.steps import find_step

    step, machine = find_step(step_name), describe_machine()
    print(f"{machine}; load average now {os.getloadavg()[0]:.2f}")
    print(
        f"step {step.name}, one uvicorn worker ({' '.join(UVICORN_OPTIONS)}), fake upstream answering in "
        f"{latency:g} s; {clients} clients; {runs} runs of at least {window:g} s",
        flush=True,
    )
    point = Point(concurrency=clients)
    with serve_fake_llm(latency) as upstream, serve_step(step, upstream.base_url, UVICORN_OPTIONS) as app:
        for number in range(1, runs + 1):
            run = measure_app(
                app,
                upstream,
                clients,
                window=window,
                min_warmup=min_warmup,
                ramp_up=latency,  # clients start spread over one upstream call, not in lockstep
                quiet_below=quiet_below,
                quiet_timeout=quiet_timeout,
            )
            point.runs.append(run)
            print(describe_run(run, f"run {number}"), flush=True)
    print(f"median (lowest{EN_DASH}highest) of {runs} runs, {machine.date}:")
    print(summarize(point, ideal=clients / latency))
    return point
