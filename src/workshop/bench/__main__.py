"""Load-testing a step: serve it the way it is deployed, drive it from another process, measure.

The command line:

- `python -m workshop.bench step 03 --clients 400` reruns one point of the sync-vs-async notebook:
  the fake upstream and the step's app each in a process of their own, as the notebook serves them,
  three runs after a quiet moment each, and the median and spread of what they measured, with the
  machine, the date and the load;
- `python -m workshop.bench protected-proxy` reruns `notebooks/protected-proxy.ipynb`'s measures and
  prints its table: step 09's authenticated `GET /v1/usage?limit=5` against a raw Starlette + asyncpg
  + redis.asyncio app doing the same work (throughput, as a ratio), and the time to first token of
  `POST /v1/chat/stream` through step 09 against straight to the fake upstream; `--quick` for a
  smoke run of a few seconds;
- `python -m workshop.bench cold-start` reruns `notebooks/cold-start.ipynb`'s measures and prints its
  table: wall time from the process's start to the first 200 of step 10's `GET /health/live` and
  `GET /health/ready` against a bare FastAPI app's, under the same uvicorn command line, started in
  turn (`--pairs N`, default 7, after one unmeasured start of each); `--bytecode` adds the step without
  bytecode; `--quick` for a smoke run;
- `python -m workshop.bench pooling` reruns `notebooks/pooling.ipynb`'s measures and prints its table:
  N instances of step 10 (uvicorn processes, `--instances`, default 4) against one private PostgreSQL
  with a small `max_connections` (`--max-connections`, default 20), under load spread over them, for
  several pool settings, `NullPool`, and PgBouncer in transaction mode when `pgbouncer` is on PATH:
  throughput, p50 and p99, and what share of the answers were 200s, 503s (busy or unavailable) and
  500s; `--quick` for a smoke run;
- `python -m workshop.bench load --url … --concurrency N …` is the load generator (what `run_load`
  starts in a process of its own), which prints what it measured as one line of JSON;
- `python -m workshop.bench notebook PATH` runs a notebook in full (not quick) mode and saves its outputs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import asdict
from pathlib import Path

from workshop.bench.clients import CHAT_BODY, EXPECTED_REPLY, Request
from workshop.bench.load import LoadResult, generate
from workshop.bench.notebook import run_notebook


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workshop.bench", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    step = commands.add_parser("step", help="measure one step at one level of load, as the notebook does")
    step.add_argument("step", help="step number or name, e.g. 03")
    step.add_argument("--clients", type=int, default=400, help="virtual clients, each one in flight")
    step.add_argument("--runs", type=int, default=3, help="runs of the level; the median and spread")
    step.add_argument("--window", type=float, default=10.0, help="seconds of measuring per run")
    step.add_argument("--latency", type=float, default=1.0, help="seconds the fake upstream takes")
    step.add_argument("--quiet-timeout", type=float, default=120.0, help="longest wait for a quiet machine")
    protected = commands.add_parser(
        "protected-proxy",
        help="step 09's read path vs a raw app, and its time to first token vs the upstream's",
        description="Measures, in one run: (1) throughput of an authenticated GET /v1/usage?limit=5 on "
        "the step against a raw Starlette + asyncpg + redis.asyncio app doing the same work (the same "
        "Lua script in Redis, the same two queries in one REPEATABLE READ transaction), as a ratio, "
        "in rounds that alternate the two; (2) the time to first token of POST /v1/chat/stream through "
        "the step against the same call straight to the fake upstream, calls alternating one by one. "
        "Prints each round, then the medians (lowest-highest round) as a Markdown table.",
    )
    protected.add_argument("--step", default="09", help="step number or name (default: 09)")
    protected.add_argument("--rounds", type=int, default=3, help="rounds of each comparison")
    protected.add_argument("--concurrency", type=int, default=32, help="virtual clients on the read path")
    protected.add_argument("--window", type=float, default=10.0, help="seconds of measuring per run")
    protected.add_argument("--min-warmup", type=float, default=2.0, help="seconds of load before measuring")
    protected.add_argument("--calls", type=int, default=100, help="streamed calls per target per round")
    protected.add_argument("--rows", type=int, default=4000, help="usage records in the table")
    protected.add_argument(
        "--quiet-timeout", type=float, default=120.0, help="longest wait for a quiet machine"
    )
    protected.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 rounds of 1 s windows and 20 calls, no waiting"
    )
    cold = commands.add_parser(
        "cold-start",
        help="step 10's time from process start to first 200, against a bare FastAPI app's",
        description="Starts step 10's app (every service it talks to up first) and a bare FastAPI app "
        "under the same uvicorn command line, in turn, after one unmeasured start of each to warm the "
        "OS's file cache, and times each from the process's start to its first 200 (step 10: of "
        "GET /health/live, then of GET /health/ready), asking every 10 ms. Prints each pair, then the "
        "medians (lowest-highest pair) and the ratios to the bare app as a Markdown table.",
    )
    cold.add_argument("--pairs", type=int, default=7, help="starts of each app, alternating (default: 7)")
    cold.add_argument(
        "--bytecode",
        action="store_true",
        help="also start the step with no bytecode, and with none for the standard library",
    )
    cold.add_argument(
        "--quiet-timeout", type=float, default=30.0, help="longest wait for a quiet machine before each start"
    )
    cold.add_argument("--quick", action="store_true", help="a smoke run: 2 pairs, no waiting")
    pooling = commands.add_parser(
        "pooling",
        help="N instances of step 10 against a PostgreSQL with few connections: pool settings compared",
        description="Starts a private PostgreSQL with a small max_connections, then, for each "
        "configuration (pool 2 + 0, 3 + 1, 5 + 0, 5 + 2, NullPool; behind PgBouncer in transaction mode "
        "with DATABASE_EXTERNAL_POOLER false and true, when pgbouncer is on PATH), N fresh instances of "
        "step 10 under closed-loop load on an authenticated GET /v1/usage?limit=5, the configurations "
        "taking turns round by round. Prints each run, then the medians (lowest-highest run) as a "
        "Markdown table.",
    )
    pooling.add_argument("--step", default="10", help="step number or name (default: 10)")
    pooling.add_argument("--instances", type=int, default=4, help="uvicorn processes, one per instance")
    pooling.add_argument("--max-connections", type=int, default=20, help="the server's max_connections")
    pooling.add_argument("--concurrency", type=int, default=64, help="virtual clients, over all instances")
    pooling.add_argument("--rounds", type=int, default=3, help="runs of each configuration")
    pooling.add_argument("--window", type=float, default=10.0, help="seconds of measuring per run")
    pooling.add_argument("--min-warmup", type=float, default=2.0, help="seconds of load before measuring")
    pooling.add_argument("--pgbouncer-pool", type=int, default=10, help="PgBouncer's server connections")
    pooling.add_argument("--quiet-timeout", type=float, default=10.0, help="longest wait for a quiet machine")
    pooling.add_argument(
        "--quick", action="store_true", help="a smoke run: 2 instances, 1 round of 1 s windows, no waiting"
    )
    load = commands.add_parser("load", help="drive an endpoint; print what was measured as JSON")
    load.add_argument(
        "--url", required=True, action="append", help="where to send each request; repeated: in turn"
    )
    load.add_argument("--concurrency", type=int, required=True, help="virtual clients, each one in flight")
    load.add_argument("--window", type=float, default=10.0, help="seconds of measuring")
    load.add_argument("--min-warmup", type=float, default=2.0, help="seconds of load before measuring")
    load.add_argument("--ramp-up", type=float, default=0.0, help="seconds over which the clients start")
    load.add_argument("--timeout", type=float, default=120.0, help="seconds before a request is an error")
    load.add_argument("--client", choices=["raw", "httpx", "aiohttp"], default="raw")
    load.add_argument("--method", choices=["GET", "POST"], default="POST")
    load.add_argument("--body", default=json.dumps(CHAT_BODY), help="the JSON body of every POST")
    load.add_argument(
        "--expect", default=EXPECTED_REPLY.decode(), help="text every right answer's body contains"
    )
    load.add_argument("--header", action="append", default=[], help="'Name: value', sent with every request")
    load.add_argument("--watch", action="append", default=[], help="NAME=PID: report its CPU time too")
    notebook = commands.add_parser("notebook", help="run a notebook in full mode and save its outputs")
    notebook.add_argument("path", type=Path)
    args = parser.parse_args(argv)

    if args.command == "step":
        from workshop.bench.series import measure_step

        measure_step(
            args.step,
            args.clients,
            runs=args.runs,
            window=args.window,
            latency=args.latency,
            quiet_timeout=args.quiet_timeout,
        )
    elif args.command == "protected-proxy":
        from workshop.bench.protected_proxy import run_from_command_line

        if args.quick:
            args.rounds, args.window, args.min_warmup, args.calls, args.quiet_timeout = 2, 1.0, 0.5, 20, 0.0
        run_from_command_line(
            args.step,
            rounds=args.rounds,
            concurrency=args.concurrency,
            window=args.window,
            min_warmup=args.min_warmup,
            calls=args.calls,
            rows=args.rows,
            quiet_timeout=args.quiet_timeout,
        )
    elif args.command == "cold-start":
        from workshop.bench.cold_start import run_from_command_line as run_cold_start

        if args.quick:
            args.pairs, args.quiet_timeout = 2, 0.0
        run_cold_start(rounds=args.pairs, bytecode=args.bytecode, quiet_timeout=args.quiet_timeout)
    elif args.command == "pooling":
        from workshop.bench.pooling_report import run_from_command_line as run_pooling

        if args.quick:
            args.instances, args.rounds, args.window, args.min_warmup, args.quiet_timeout = (
                2,
                1,
                1.0,
                0.5,
                0.0,
            )
        run_pooling(
            args.step,
            instances=args.instances,
            max_connections=args.max_connections,
            concurrency=args.concurrency,
            rounds=args.rounds,
            window=args.window,
            min_warmup=args.min_warmup,
            pgbouncer_pool=args.pgbouncer_pool,
            quiet_timeout=args.quiet_timeout,
        )
    elif args.command == "load":
        print(json.dumps(asdict(asyncio.run(_load(args)))))
    else:
        run_notebook(args.path)


async def _load(args: argparse.Namespace) -> LoadResult:
    headers = dict(
        (name.strip(), value.strip()) for name, _, value in (h.partition(":") for h in args.header)
    )
    watch = {name: int(pid) for name, _, pid in (item.partition("=") for item in args.watch)}
    requests = [
        Request(
            url=url,
            method=args.method,
            body=args.body.encode() if args.method == "POST" else b"",
            headers=headers,
            expect=args.expect.encode(),
        )
        for url in args.url
    ]
    return await generate(
        requests,
        args.concurrency,
        window=args.window,
        min_warmup=args.min_warmup,
        ramp_up=args.ramp_up,
        request_timeout=args.timeout,
        client=args.client,
        watch=watch,
    )


if __name__ == "__main__":
    main()
