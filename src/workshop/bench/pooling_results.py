"""What the pooling benchmark's runs add up to: what each user saw, and what the servers said why.

A user of the app gets one of a few answers to `GET /v1/usage?limit=5` (`ANSWERS`): the page (200);
"The database is busy; try again in a moment." (a 503 with Retry-After: the instance's pool had no
connection to spare for `pool_timeout`); "The database is unavailable." (a 503: PostgreSQL refused the
connection, too many clients); a 500 (a driver error the app does not expect); or a connection closed
with no answer. The load generator counts them (`clients.judge`); PostgreSQL's log says what it
refused (connections, statements), and the instances' logs what their 500s were.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from workshop.bench.series import Run, Spread

if TYPE_CHECKING:
    from workshop.bench.pooling import Configuration

BUSY = "The database is busy; try again in a moment."
UNAVAILABLE = "The database is unavailable."
ANSWERS = ("200", "503 busy", "503 unavailable", "500", "connection closed")
REFUSALS = ("too many clients already", "remaining connection slots are reserved")
"""How PostgreSQL words a refused connection (both SQLSTATE 53300): past `max_connections`, and past
what it leaves to roles that are not superusers."""
POSTGRES_ERROR = re.compile(r"\b(?:ERROR|FATAL):\s+(.*)$", re.MULTILINE)
DRIVER_ERROR = re.compile(r"^asyncpg\.exceptions\.(?:_base\.)?(\w+): (.*)$", re.MULTILINE)
"""asyncpg's error, as the traceback uvicorn logs for a 500 shows it (SQLAlchemy's wrapping follows)."""
ANY_ERROR = re.compile(r"^([\w.]+(?:Error|Exception|Group)): (.*)$", re.MULTILINE)
"""Any exception's last line in a traceback: what a 500 with no asyncpg error in its chain says."""


@dataclass(frozen=True, kw_only=True)
class PoolingRun:
    """One run of one configuration."""

    configuration: Configuration
    run: Run
    postgres_errors: dict[str, int] = field(default_factory=dict)
    """What PostgreSQL logged as an error during the run (warm-up included), by message."""
    server_errors: dict[str, int] = field(default_factory=dict)
    """The instances' 500s by their cause: the driver's error and its message."""

    @property
    def refused(self) -> int:
        """Connections PostgreSQL refused."""
        return sum(n for error, n in self.postgres_errors.items() if any(r in error for r in REFUSALS))

    def answers(self) -> dict[str, int]:
        """Answers in the window, by what the user saw."""
        counts = dict.fromkeys(ANSWERS, 0)
        counts["200"] = self.run.load.ok
        for kind, count in self.run.load.error_kinds.items():
            counts[answer_of(kind)] += count
        return counts

    def share(self, answer: str) -> float:
        """The share of the window's answers that were `answer`, in %."""
        counts = self.answers()
        return 100 * counts[answer] / max(1, sum(counts.values()))


def answer_of(kind: str) -> str:
    """What the user saw, from the load generator's name for an error (`clients.judge`). A connection
    closed is the request after a 500: uvicorn closes the connection of a request that raised."""
    if kind == f"HTTP 503: {BUSY}":
        return "503 busy"
    if kind == f"HTTP 503: {UNAVAILABLE}":
        return "503 unavailable"
    return "500" if kind.startswith("HTTP 500") else "connection closed"


def postgres_errors(postgres_log: str) -> dict[str, int]:
    """The errors in PostgreSQL's log, by message, numbers and statement names made generic."""
    return dict(Counter(_generic(message) for message in POSTGRES_ERROR.findall(postgres_log)))


def causes_of_server_errors(logs: Iterable[str]) -> dict[str, int]:
    """The driver errors behind the instances' 500s, one per logged traceback, by kind and message (a
    prepared statement's name made generic: `__asyncpg_stmt_3__` and `__asyncpg_stmt_9__` count as one).
    A traceback with no asyncpg error in it counts by its last exception."""
    causes: Counter[str] = Counter()
    for log in logs:
        for traceback in log.split("Exception in ASGI application")[1:]:
            found = DRIVER_ERROR.search(traceback)
            last = ANY_ERROR.findall(traceback)[-1:]
            kind, message = found.groups() if found else last[0] if last else ("no exception line", "")
            causes[f"{kind}: {_generic(message)[:200]}"] += 1
    return dict(causes)


def _generic(message: str) -> str:
    """`prepared statement "__asyncpg_stmt_3__" requires 5` -> `… "__asyncpg_stmt_N__" requires N`."""
    return re.sub(r"\b\d+\b", "N", re.sub(r"__asyncpg_stmt_\w+__", "__asyncpg_stmt_N__", message))


def describe(measured: PoolingRun) -> str:
    """One line per run: throughput, latencies, what users saw, connections, what the servers said."""
    load, database = measured.run.load, measured.run.database
    answers = ", ".join(f"{answer} {count}" for answer, count in measured.answers().items() if count)
    held = f"{database.open} connections held, {database.sessions_opened} opened, " if database else ""
    causes = "".join(f"\n    500s: {count} of {cause}" for cause, count in measured.server_errors.items())
    return (
        f"{load.throughput:4.0f} req/s, p50 {load.p50 * 1000:5.1f} ms, p99 {load.p99 * 1000:6.1f} ms | "
        f"{answers} | {held}{measured.refused} refused"
        f" | load average {measured.run.quiet.load_average[0]:.2f}{causes}"
    )


@dataclass(frozen=True, kw_only=True)
class Measured:
    """The runs of one configuration, and each measure's median and spread over them."""

    configuration: Configuration
    runs: list[PoolingRun]

    def spread(self, measure: Callable[[PoolingRun], float]) -> Spread:
        return Spread.of([measure(run) for run in self.runs])

    @property
    def throughput(self) -> Spread:
        """OK answers per second."""
        return self.spread(lambda run: run.run.load.throughput)

    def latency_ms(self, quantile: str) -> Spread:
        """The OK answers' latency: "p50" or "p99"."""
        return self.spread(lambda run: float(getattr(run.run.load, quantile)) * 1000)

    def share(self, answer: str) -> Spread:
        return self.spread(lambda run: run.share(answer))

    def cores(self, prefix: str) -> Spread:
        """Cores' worth of CPU the processes named `prefix…` used together: "instance", POSTGRES…"""
        return self.spread(lambda run: sum(v for k, v in run.run.cores.items() if k.startswith(prefix)))

    @property
    def connections_held(self) -> Spread:
        """The most connections open to the database at once (PgBouncer's, behind it)."""
        return self.spread(lambda run: run.run.database.open if run.run.database else 0)

    @property
    def sessions_per_1000(self) -> Spread:
        """Connections opened to the database per 1,000 OK answers: a pool that keeps its own opens none."""
        return self.spread(
            lambda run: (
                (run.run.database.sessions_opened if run.run.database else 0) / max(1, run.run.load.ok) * 1000
            )
        )

    def pooled_shares(self) -> dict[str, float]:
        """Each answer's share of all the runs' answers together, in %: what a stacked bar shows."""
        totals = Counter[str]()
        for run in self.runs:
            totals.update(run.answers())
        return {answer: 100 * totals[answer] / max(1, totals.total()) for answer in ANSWERS}

    def server_errors(self) -> dict[str, int]:
        """The instances' 500s over all the runs, by cause."""
        return _sum(run.server_errors for run in self.runs)

    def postgres_errors(self) -> dict[str, int]:
        """What PostgreSQL logged as an error over all the runs, by message."""
        return _sum(run.postgres_errors for run in self.runs)


def _sum(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    totals = Counter[str]()
    for each in counts:
        totals.update(each)
    return dict(totals)


def by_configuration(configurations: Sequence[Configuration], runs: Sequence[PoolingRun]) -> list[Measured]:
    return [Measured(configuration=c, runs=[r for r in runs if r.configuration == c]) for c in configurations]
