"""The pooling benchmark's table, and its command: `python -m workshop.bench pooling`.

The notebook (`notebooks/pooling.ipynb`) writes the same table to `docs/assets/pooling.md`; the command
prints it, after one line per run, for a rerun without the notebook.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack

from workshop.bench.pooling import Configuration
from workshop.bench.pooling_results import ANSWERS, Measured
from workshop.bench.series import Spread


def summary_table(measured: Sequence[Measured], *, instances: int, app_connections: int) -> str:
    """The medians (lowest-highest run) as one Markdown table, a row per configuration."""
    rows = [
        "| configuration | connections at most | req/s | p50 ms | p99 ms | "
        + " | ".join(f"{answer} %" for answer in ANSWERS)
        + " | connections held | sessions opened per 1,000 answers |",
        "|---|---|" + "---:|" * (5 + len(ANSWERS)),
    ]
    for each in measured:
        answers = " | ".join(_percent(each.share(answer)) for answer in ANSWERS)
        rows.append(
            f"| {each.configuration.name} | {bound(each.configuration, instances, app_connections)} "
            f"| {each.throughput:.0f} | {each.latency_ms('p50'):.0f} | {each.latency_ms('p99'):.0f} "
            f"| {answers} | {each.connections_held:.0f} | {each.sessions_per_1000:.0f} |"
        )
    return "\n".join(rows)


def bound(configuration: Configuration, instances: int, app_connections: int) -> str:
    """The most connections the configuration may open, against the most the app's role may have."""
    most = configuration.most_connections(instances)
    if configuration.pgbouncer_pool is not None:
        return f"{most}: PgBouncer's pool"
    if most is None:
        return "one per request in flight"
    fits = "≤" if most <= app_connections else ">"
    return f"{instances} x {most // instances} = {most} {fits} {app_connections}"


def _percent(share: Spread) -> str:
    return "0" if share.high == 0 else f"{share:.1f}"


def run_from_command_line(
    step_name: str,
    *,
    instances: int,
    max_connections: int,
    concurrency: int,
    rounds: int,
    window: float,
    min_warmup: float,
    pgbouncer_pool: int,
    quiet_timeout: float,
) -> list[Measured]:
    """`python -m workshop.bench pooling`: the notebook's runs, printed, then its table."""
    import asyncio
    import logging
    import os

    from workshop.bench.machine import describe_machine
    from workshop.bench.pgbouncer import pgbouncer_path, pgbouncer_version
    from workshop.bench.pooling import configurations, start
    from workshop.bench.pooling_results import by_configuration
    from workshop.bench.pooling_runs import Load, measure_rounds
    from workshop.steps import find_step

    step, machine = find_step(step_name), describe_machine()
    print(f"{machine}; load average now {os.getloadavg()[0]:.2f}")
    with_pgbouncer = pgbouncer_path() is not None
    print(
        pgbouncer_version() if with_pgbouncer else "pgbouncer is not on PATH: its configurations are skipped"
    )
    compared = configurations(pgbouncer_pool=pgbouncer_pool if with_pgbouncer else None)
    with ExitStack() as running:
        logging.disable(logging.INFO)  # the migrations' progress lines
        stage = asyncio.run(start(step, running, max_connections=max_connections))
        logging.disable(logging.NOTSET)
        postgres = stage.postgres
        print(
            f"PostgreSQL {postgres.version}, max_connections {postgres.max_connections}, of which "
            f"{postgres.reserved} reserved for superusers: {postgres.app_connections} for the app; "
            f"{instances} instances of step {step.name}, {concurrency} clients in all",
            flush=True,
        )
        load = Load(
            instances=instances,
            concurrency=concurrency,
            window=window,
            min_warmup=min_warmup,
            quiet_timeout=quiet_timeout,
        )
        runs = measure_rounds(
            stage, compared, load, rounds=rounds, report=lambda line: print(line, flush=True)
        )
    measured = by_configuration(compared, runs)
    print(f"median (lowest-highest) of {rounds} runs, {machine.date}:")
    print(summary_table(measured, instances=instances, app_connections=postgres.app_connections))
    return measured
