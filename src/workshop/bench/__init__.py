"""Load-testing a step: serve it the way it is deployed, drive it from another process, measure.

Used by `notebooks/sync-vs-async.ipynb` and `notebooks/protected-proxy.ipynb`. Each part runs in a
process of its own, so that no part's CPU is counted in another's and the notebook's kernel only waits:

- the fake LLM upstream and the step's app under uvicorn, with a database of its own: `processes.py`;
- the load generator, `python -m workshop.bench load …`: `load.py`, which `launcher.py` starts and
  whose HTTP clients (a POST or a GET, again and again) are in `clients.py`.

`series.py` makes one run of a level (`measure_once`, `measure_app`) and sums several up (`Point`: the
median and spread of each measure), with the CPU of every process involved; `measure_step` reruns one
point from the command line (`python -m workshop.bench step 03 --clients 400`); `connections.py` watches
the database meanwhile (connections held, sessions opened, the server's CPU); `machine.py` says where
and when it ran and waits for the machine to be quiet; `figures.py` checks a plot stays readable at the
docs' column width; `notebook.py` runs a notebook in full mode (`python -m workshop.bench notebook PATH`,
see `__main__.py`).

The protected-proxy benchmark (`protected_proxy.py`, `python -m workshop.bench protected-proxy`) puts a
step's authenticated `GET /v1/usage` next to `raw_usage.py`, a bare Starlette + asyncpg + redis.asyncio
app doing the same work, on rows that `usage_rows.py` writes, with the Lua script `step_source.py`
reads from the step; and times a streamed call's first token through the step and straight to the
upstream (`first_token.py`).

The pooling benchmark (`pooling.py`, `python -m workshop.bench pooling`) runs N instances of step 10
against a PostgreSQL of its own with a small `max_connections` (`private_postgres.py`), for several
pool settings and behind PgBouncer (`pgbouncer.py`): the runs are in `pooling_runs.py` (the instances
started together, `together.py`), what they add up to in `pooling_results.py`, its table and command
in `pooling_report.py`.

The cold-start benchmark (`cold_start.py`, `python -m workshop.bench cold-start`) times step 10 from
its process's start to its first 200, against a bare FastAPI app (`bare_app/`) under the same uvicorn
command line.
"""

from workshop.bench.connections import DatabaseUse, postgres_server_cpu_seconds, watch_database
from workshop.bench.figures import smallest_text_px
from workshop.bench.launcher import run_load
from workshop.bench.load import LoadResult
from workshop.bench.machine import Machine, Quiet, describe_machine, reference_ms, wait_until_quiet
from workshop.bench.processes import serve_fake_llm, serve_step
from workshop.bench.series import (
    HELPERS,
    INTERRUPTS,
    OTHERS,
    POSTGRES,
    UVICORN_OPTIONS,
    Point,
    Run,
    Spread,
    describe_run,
    measure_app,
    measure_once,
    measure_step,
    summarize,
)

__all__ = [
    "HELPERS",
    "INTERRUPTS",
    "OTHERS",
    "POSTGRES",
    "UVICORN_OPTIONS",
    "DatabaseUse",
    "LoadResult",
    "Machine",
    "Point",
    "Quiet",
    "Run",
    "Spread",
    "describe_machine",
    "describe_run",
    "measure_app",
    "measure_once",
    "measure_step",
    "postgres_server_cpu_seconds",
    "reference_ms",
    "run_load",
    "serve_fake_llm",
    "serve_step",
    "smallest_text_px",
    "summarize",
    "wait_until_quiet",
    "watch_database",
]
