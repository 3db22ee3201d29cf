"""The pooling benchmark's runs (see `pooling.py`): N instances of one configuration, under load.

`measure` makes one run: it starts the N instances afresh with the configuration's settings (and
PgBouncer before them, when the configuration says so: a fresh one, holding no prepared statement
of an earlier run's), drives them with the load generator, its clients spread over the instances in
turn as a load balancer would, and stops them. `measure_rounds` runs every configuration once per round,
each round starting one configuration further down the list, so that no configuration always runs
first or last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from workshop.bench.pgbouncer import PORT as PGBOUNCER_PORT
from workshop.bench.pgbouncer import PgBouncer, serve_pgbouncer
from workshop.bench.pooling import DATABASE, Configuration, Stage
from workshop.bench.pooling_results import PoolingRun, causes_of_server_errors, describe, postgres_errors
from workshop.bench.private_postgres import APP_ROLE, PORT
from workshop.bench.processes import Served, free_port, serve_step_on
from workshop.bench.protected_proxy import READ_EXPECT, READ_PATH
from workshop.bench.series import UVICORN_OPTIONS, measure_once
from workshop.bench.together import enter_together

READY_PATH = "/health/ready"  # step 10's readiness: a 200 once the database and Redis both answer


@dataclass(frozen=True, kw_only=True)
class Instances:
    apps: list[Served]
    pgbouncer: PgBouncer | None


@contextmanager
def serve_instances(
    stage: Stage, configuration: Configuration, instances: int, *, ready_path: str = READY_PATH
) -> Iterator[Instances]:
    """`instances` processes of the step configured so (and PgBouncer before them, if it says so),
    started at once and stopped at once."""
    with ExitStack() as running:
        pgbouncer, database_port = None, PORT
        if configuration.pgbouncer_pool is not None:
            bouncer = serve_pgbouncer(stage.postgres, DATABASE, APP_ROLE, configuration.pgbouncer_pool)
            pgbouncer, database_port = running.enter_context(bouncer), PGBOUNCER_PORT
        database_url = stage.postgres.url(APP_ROLE, DATABASE, port=database_port)
        http_ports = [free_port() for _ in range(instances)]  # WorkOS' redirect URI names each one's
        apps = enter_together(
            [
                serve_step_on(
                    stage.step,
                    database_url,
                    stage.upstream.base_url,
                    UVICORN_OPTIONS,
                    env={
                        **stage.environment,
                        **configuration.environment(),
                        "WORKOS_REDIRECT_URI": f"http://127.0.0.1:{http_port}/auth/callback",
                    },
                    port=http_port,
                    ready_path=ready_path,
                    name=f"instance {number}",
                )
                for number, http_port in enumerate(http_ports, start=1)
            ],
            running,
        )
        yield Instances(apps=apps, pgbouncer=pgbouncer)


@dataclass(frozen=True, kw_only=True)
class Load:
    """How hard, and how long, each run drives the instances."""

    instances: int
    concurrency: int
    window: float
    min_warmup: float
    quiet_below: float = 0.25
    quiet_timeout: float = 120.0


def measure(stage: Stage, configuration: Configuration, load: Load) -> PoolingRun:
    """One run of one configuration: `load.concurrency` clients on Ada's `GET /v1/usage?limit=5`, spread
    over fresh instances. Their CPU, PgBouncer's and the whole PostgreSQL server's are counted."""
    with serve_instances(stage, configuration, load.instances) as started:
        log_offset = stage.postgres.log_size()
        watch = {app.name: app.pid for app in started.apps}
        if started.pgbouncer:
            watch["PgBouncer"] = started.pgbouncer.pid
        run = measure_once(
            [f"{app.base_url}{READ_PATH}" for app in started.apps],
            load.concurrency,
            window=load.window,
            min_warmup=load.min_warmup,
            watch=watch,
            database=DATABASE,
            server_url=stage.postgres.url(),  # a superuser's: it gets in when the app's role cannot
            method="GET",
            headers={"cookie": stage.cookie},
            expect=READ_EXPECT,
            quiet_below=load.quiet_below,
            quiet_timeout=load.quiet_timeout,
        )
        return PoolingRun(
            configuration=configuration,
            run=run,
            postgres_errors=postgres_errors(stage.postgres.log_since(log_offset)),
            server_errors=causes_of_server_errors(app.output(last=10**9) for app in started.apps),
        )


def measure_rounds(
    stage: Stage,
    configurations: Sequence[Configuration],
    load: Load,
    *,
    rounds: int,
    report: Callable[[str], None] = print,
) -> list[PoolingRun]:
    """`rounds` runs of each configuration; round r starts with the r-th configuration."""
    measured = []
    for number in range(rounds):
        first = number % len(configurations)
        for configuration in [*configurations[first:], *configurations[:first]]:
            measured.append(measure(stage, configuration, load))
            report(f"round {number + 1}, {configuration.name}: {describe(measured[-1])}")
    return measured


def answer_when_the_database_is_full(stage: Stage, configuration: Configuration) -> dict[str, object]:
    """What one request gets from a fresh instance while every connection the app's role may open is
    taken (by this process, for the length of the call): its status, `Retry-After` header and body."""
    import httpx
    import psycopg

    # Ready once it answers at all: the readiness check would open (and keep) a connection.
    with serve_instances(stage, configuration, 1, ready_path="/health/live") as started, ExitStack() as held:
        for _ in range(stage.postgres.app_connections):
            held.enter_context(psycopg.connect(stage.postgres.url(APP_ROLE, DATABASE)))
        response = httpx.get(f"{started.apps[0].base_url}{READ_PATH}", headers={"cookie": stage.cookie})
    return {
        "status": response.status_code,
        "Retry-After": response.headers.get("retry-after"),
        "body": response.json(),
    }
