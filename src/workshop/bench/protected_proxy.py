"""The protected-proxy benchmark: what step 09's framework costs on its read path, and on a stream.

Two comparisons, side by side in one run (`notebooks/protected-proxy.ipynb`, and
`python -m workshop.bench protected-proxy`):

- **the read path**: an authenticated `GET /v1/usage?limit=5` on the step (FastAPI, SQLAlchemy Core,
  pydantic) against `raw_usage.py` (bare Starlette, asyncpg, redis.asyncio) doing the same work on the
  same database and the same Redis: closed-loop load from the load generator (`load.py`), the two apps
  in alternate runs, each round's throughputs as a ratio (`compare_read_path`);
- **the proxy's overhead**: the time to first token of `POST /v1/chat/stream` through the step against
  the same call sent straight to the fake upstream (`first_token.py`), the two alternating call by call
  (`compare_first_tokens`).

`start` sets the stage: an embedded Valkey, the kit's WorkOS emulator (in a thread of this process),
the fake upstream and the step under uvicorn (each a process of its own), Ada signed in, a few thousand
usage rows (`usage_rows.py`), then the raw app, configured to mirror what the step does, and a check
that both apps give the same answer. Everything started is entered on the caller's `ExitStack`, so the
caller stops it all, whatever happens.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from workshop.bench.clients import CHAT_BODY
from workshop.bench.first_token import StreamedCall
from workshop.bench.machine import wait_until_quiet
from workshop.bench.processes import (
    Served,
    embedded_valkey_pid,
    free_port,
    serve_fake_llm,
    serve_raw_usage,
    serve_step,
)
from workshop.bench.series import UVICORN_OPTIONS, Run, Spread, measure_once
from workshop.bench.usage_rows import Owner, Seeded, seed_usage_rows
from workshop.steps import Step

if TYPE_CHECKING:
    from workshop.workos_emulator import WorkOSEmulator

ADA = "ada@analytical-engines.example"  # a seeded user of the emulator, in one organization
READ_PATH = "/v1/usage?limit=5"
READ_EXPECT = b'"totals":{"calls":'  # in every right answer of both apps
STREAM_PATH = "/v1/chat/stream"
UPSTREAM_STREAM_PATH = "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
GEMINI_BODY = {"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]}  # CHAT_BODY, as Gemini's
NO_LIMIT = 10**9
"""Per-user requests per minute and daily tokens per organization: more than any run spends."""
TOKEN_SECONDS = 3 * 60 * 60
"""How long the emulator's access tokens live: longer than a run, so that no session is re-checked with
WorkOS (once per token life) in the middle of a timed window."""
READ_RATIO_GOAL = 0.5
FIRST_TOKEN_OVERHEAD_GOAL = 0.005  # seconds, at the median
Side = Literal["step", "raw"]
Target = Literal["proxy", "direct"]
"""Where a streamed call goes: through the step, or straight to the upstream."""


@dataclass(frozen=True, kw_only=True)
class Stage:
    """Everything `start` started, and what the benchmark needs to know of it."""

    step: Step
    app: Served
    raw: Served
    upstream: Served
    cookie: str
    """The `Cookie` header that carries Ada's session: `__Host-session=…`."""
    session: dict[str, str]
    """Ada's session as Redis holds it (user id, organization id, …)."""
    seeded: Seeded
    protected: bool
    """Whether the step's `/v1/usage` wants a session (step 09) or answers anyone (before it)."""
    owner_columns: tuple[str, ...]
    """What the raw app matches the caller's rows on: what the step's rows say of their owner."""
    valkey_pid: int | None
    redis_version: str

    def served(self, side: Side) -> Served:
        return self.app if side == "step" else self.raw


async def start(
    step: Step, running: ExitStack, *, rows: int = 4000, uvicorn_options: Sequence[str] = UVICORN_OPTIONS
) -> Stage:
    """Starts everything, signs Ada in, seeds `rows` usage records, and checks both apps agree."""
    import redis
    from workshop import services
    from workshop.server import serve_in_thread
    from workshop.workos_emulator import WorkOSEmulator, load_seeds

    redis_url = services.redis_url()  # starts the embedded Valkey, unless REDIS_URL names a server
    emulator = WorkOSEmulator(seeds=load_seeds(step.directory / "workos-seed.toml"))
    emulator.behaviour.access_token_ttl = TOKEN_SECONDS
    emulator.base_url = running.enter_context(serve_in_thread(emulator.app()))
    # In threads: they wait for each server to answer, and serve_step migrates the database with
    # `asyncio.run`, which cannot run inside a running event loop (a notebook's).
    upstream = await asyncio.to_thread(running.enter_context, serve_fake_llm(latency=0.0))
    port = free_port()  # WorkOS' redirect URI names it, so it is chosen before the app starts
    env = {
        "WORKOS_API_KEY": emulator.api_key,
        "WORKOS_CLIENT_ID": emulator.client_id,
        "WORKOS_BASE_URL": emulator.base_url,
        "WORKOS_REDIRECT_URI": f"http://127.0.0.1:{port}/auth/callback",
        "SESSION_COOKIE_PASSWORD": _fernet_key(),
        "REDIS_URL": redis_url,
        "REQUESTS_PER_MINUTE": str(NO_LIMIT),
        "DAILY_TOKEN_BUDGET": str(NO_LIMIT),
    }
    # The home page answers everyone; from step 09 on, /v1/* answers a session only.
    served = serve_step(step, upstream.base_url, uvicorn_options, env=env, port=port, ready_path="/")
    app = await asyncio.to_thread(running.enter_context, served)

    cookie = await sign_in(app.base_url, emulator, ADA)
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        session = client.hgetall(f"session:{_handle(cookie)}")
        info = client.info("server")
    caller = Owner(user_id=session["user_id"], organization_id=session["organization_id"])
    assert app.database is not None
    database_url = services.with_database(services.postgres_url(), app.database)
    seeded = await asyncio.to_thread(seed_usage_rows, database_url, caller, rows)

    protected, fields = await _read_path_shape(app.base_url, cookie)
    owner_columns = seeded.owner_columns if protected else ()
    raw_env = {
        "RAW_USAGE_REDIS_URL": redis_url if protected else "",
        "RAW_USAGE_STEP_DIRECTORY": str(step.directory),
        "RAW_USAGE_IDLE_SECONDS": str(_default(step, "session_idle_seconds", 30 * 60)),
        "RAW_USAGE_OWNER_COLUMNS": ",".join(owner_columns),
        "RAW_USAGE_COLUMNS": ",".join(fields),
    }
    raw = await asyncio.to_thread(
        running.enter_context, serve_raw_usage(app.database, uvicorn_options, env=raw_env)
    )
    stage = Stage(
        step=step,
        app=app,
        raw=raw,
        upstream=upstream,
        cookie=cookie,
        session=session,
        seeded=seeded,
        protected=protected,
        owner_columns=owner_columns,
        valkey_pid=embedded_valkey_pid(redis_url),
        redis_version=info.get("valkey_version") or info["redis_version"],
    )
    await check_same_answers(stage)
    return stage


async def sign_in(base_url: str, emulator: WorkOSEmulator, email: str) -> str:
    """Signs a seeded user in as a browser does; returns the `Cookie` header of their session.

    By hand, not through httpx's cookie jar: the cookies are `Secure`, and the jar keeps a secure cookie
    off plain `http://` (browsers make an exception for 127.0.0.1; the jar does not)."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url) as browser:
        login = await browser.get("/auth/login")  # a redirect to AuthKit's page, and the sign-in cookie
        assert login.status_code == 302, login.text
        sign_in_cookie = login.headers["set-cookie"].split(";")[0]
        back_to_the_app = await emulator.authorize(login.headers["location"], email=email)
        callback = await browser.get(back_to_the_app, headers={"cookie": sign_in_cookie})
        assert callback.status_code == 303, callback.text
    [session] = [
        header.split(";")[0]
        for header in callback.headers.get_list("set-cookie")
        if header.startswith("__Host-session=")
    ]
    return session


async def check_same_answers(stage: Stage) -> None:
    """Both apps must answer `GET /v1/usage?limit=5` alike: the same rows, totals and cursor, or the
    comparison would compare different work."""
    import httpx

    answers = []
    async with httpx.AsyncClient(headers={"cookie": stage.cookie}) as client:
        for served in (stage.app, stage.raw):
            response = await client.get(f"{served.base_url}{READ_PATH}")
            assert response.status_code == 200, f"{served.name}: {response.status_code} {response.text}"
            answers.append(_comparable(response.json()))
    step_answer, raw_answer = answers
    if step_answer != raw_answer:
        raise AssertionError(f"the two apps disagree:\nstep: {step_answer}\nraw:  {raw_answer}")
    if not step_answer["items"]:
        raise AssertionError("the page is empty: the read path would do no work")


# The read path ---------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReadRound:
    """One run of each app, back to back."""

    step: Run
    raw: Run

    @property
    def ratio(self) -> float:
        """The step's throughput as a share of the raw app's: 1.0 would be no cost at all."""
        return self.step.load.throughput / self.raw.load.throughput


def measure_read_path(
    stage: Stage,
    side: Side,
    *,
    concurrency: int,
    window: float,
    min_warmup: float,
    quiet_below: float = 0.25,
    quiet_timeout: float = 120.0,
) -> Run:
    """One run of closed-loop `GET /v1/usage?limit=5` with Ada's cookie on one app. The app's CPU,
    Valkey's and the whole PostgreSQL server's are counted."""
    served = stage.served(side)
    watch = {"app": served.pid} | ({"Valkey": stage.valkey_pid} if stage.valkey_pid else {})
    return measure_once(
        f"{served.base_url}{READ_PATH}",
        concurrency,
        window=window,
        min_warmup=min_warmup,
        watch=watch,
        database=served.database,
        method="GET",
        headers={"cookie": stage.cookie},
        expect=READ_EXPECT,
        quiet_below=quiet_below,
        quiet_timeout=quiet_timeout,
    )


def compare_read_path(
    stage: Stage,
    *,
    rounds: int,
    concurrency: int,
    window: float,
    min_warmup: float,
    quiet_below: float = 0.25,
    quiet_timeout: float = 120.0,
    report: Callable[[str], None] = print,
) -> list[ReadRound]:
    """`rounds` rounds of one run per app; which app goes first alternates from round to round."""
    measured = []
    for number in range(rounds):
        order: tuple[Side, Side] = ("step", "raw") if number % 2 == 0 else ("raw", "step")
        runs = {
            side: measure_read_path(
                stage,
                side,
                concurrency=concurrency,
                window=window,
                min_warmup=min_warmup,
                quiet_below=quiet_below,
                quiet_timeout=quiet_timeout,
            )
            for side in order
        }
        this = ReadRound(step=runs["step"], raw=runs["raw"])
        measured.append(this)
        report(f"round {number + 1}: {describe_read_round(this)}")
    return measured


def describe_read_round(measured: ReadRound) -> str:
    parts = []
    for side, run in (("step", measured.step), ("raw", measured.raw)):
        load = run.load
        errors = f", {load.errors} errors {load.error_kinds}" if load.errors else ""
        app_ms = run.cpu_seconds.get("app", 0.0) / max(load.ok, 1) * 1000
        opened = run.database.sessions_opened if run.database else 0
        latency = f"p50 {load.p50 * 1000:4.1f} ms"
        parts.append(
            f"{side} {load.throughput:5.0f} req/s ({latency}, {app_ms:.2f} ms CPU, {opened} sessions){errors}"
        )
    return f"{' | '.join(parts)} | step/raw {measured.ratio:.0%}"


# The proxy's overhead on a stream -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FirstTokenRound:
    """Times to first token, in seconds, of one round's calls through the step and straight upstream."""

    proxy: list[float]
    direct: list[float]

    def times(self, side: Target) -> list[float]:
        return self.proxy if side == "proxy" else self.direct

    def p50(self, side: Target) -> float:
        return statistics.median(self.times(side))

    def p99(self, side: Target) -> float:
        times = sorted(self.times(side))
        return times[max(0, math.ceil(0.99 * len(times)) - 1)]  # nearest rank

    @property
    def overhead_p50(self) -> float:
        return self.p50("proxy") - self.p50("direct")

    @property
    def overhead_p99(self) -> float:
        return self.p99("proxy") - self.p99("direct")


def compare_first_tokens(
    stage: Stage,
    *,
    rounds: int,
    calls: int,
    warmup: int = 20,
    quiet_timeout: float = 0.0,
    report: Callable[[str], None] = print,
) -> list[FirstTokenRound]:
    """`rounds` rounds of `calls` streamed calls per target, one at a time, alternating call by call
    (and which goes first, round by round), after `warmup` calls to each that are not counted."""
    through_step = StreamedCall(
        url=f"{stage.app.base_url}{STREAM_PATH}", body=CHAT_BODY, headers={"cookie": stage.cookie}
    )
    from workshop.fake_llm import API_KEY

    upstream = StreamedCall(
        url=f"{stage.upstream.base_url}{UPSTREAM_STREAM_PATH}",
        body=GEMINI_BODY,
        headers={"x-goog-api-key": API_KEY},
    )
    targets = {"proxy": through_step, "direct": upstream}
    measured = []
    try:
        wait_until_quiet(timeout=quiet_timeout)
        for _ in range(warmup):  # connections opened, code paths warm, Redis scripts loaded
            for call in targets.values():
                call.first_token_seconds()
        for number in range(rounds):
            order = ["proxy", "direct"] if number % 2 == 0 else ["direct", "proxy"]
            times: dict[str, list[float]] = {side: [] for side in order}
            for _ in range(calls):
                for side in order:
                    times[side].append(targets[side].first_token_seconds())
            this = FirstTokenRound(proxy=times["proxy"], direct=times["direct"])
            measured.append(this)
            report(
                f"round {number + 1}: first token through the step p50 {this.p50('proxy') * 1000:.2f} ms, "
                f"straight {this.p50('direct') * 1000:.2f} ms: +{this.overhead_p50 * 1000:.2f} ms "
                f"(p99 +{this.overhead_p99 * 1000:.2f} ms)"
            )
    finally:
        for call in targets.values():
            call.close()
    return measured


# What a page may quote ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Each measure's median over the rounds, with the lowest and highest round."""

    read: list[ReadRound]
    first_tokens: list[FirstTokenRound]

    @property
    def read_ratio(self) -> Spread:
        return Spread.of([r.ratio for r in self.read])

    def throughput(self, side: Side) -> Spread:
        return Spread.of([getattr(r, side).load.throughput for r in self.read])

    def read_p50_ms(self, side: Side) -> Spread:
        return Spread.of([getattr(r, side).load.p50 * 1000 for r in self.read])

    def cpu_ms_per_request(self, side: Side, process: str) -> Spread:
        """CPU milliseconds `process` ("app", "Valkey", POSTGRES) used per OK answer."""
        runs: list[Run] = [getattr(r, side) for r in self.read]
        return Spread.of([run.cpu_seconds.get(process, 0.0) / max(run.load.ok, 1) * 1000 for run in runs])

    def first_token_ms(self, side: Target, quantile: Literal["p50", "p99"]) -> Spread:
        return Spread.of([getattr(r, quantile)(side) * 1000 for r in self.first_tokens])

    @property
    def overhead_p50_ms(self) -> Spread:
        return Spread.of([r.overhead_p50 * 1000 for r in self.first_tokens])

    @property
    def overhead_p99_ms(self) -> Spread:
        return Spread.of([r.overhead_p99 * 1000 for r in self.first_tokens])

    def sessions_per_1000(self, side: Side) -> Spread:
        """Database sessions the app opened per 1,000 OK answers: above zero, its pool opens and closes
        connections under the load, and each costs PostgreSQL a new process."""
        runs: list[Run] = [getattr(r, side) for r in self.read]
        return Spread.of(
            [
                (run.database.sessions_opened if run.database else 0) / max(run.load.ok, 1) * 1000
                for run in runs
            ]
        )

    @property
    def errors(self) -> int:
        return sum(run.load.errors for r in self.read for run in (r.step, r.raw))


def summary_table(summary: Summary, stage: Stage) -> str:
    """The results as one Markdown table: the goals, met or not, in its last column."""
    from workshop.bench.series import POSTGRES

    step = f"step {stage.step.number}"
    ratio = summary.read_ratio
    overhead = summary.overhead_p50_ms
    goal_ms = FIRST_TOKEN_OVERHEAD_GOAL * 1000
    met = {True: "met", False: "not met"}
    rows = [
        f"| | {step} | raw app | {step} vs raw | goal |",
        "|---|---:|---:|---:|---|",
        f"| `GET {READ_PATH}`, throughput | {summary.throughput('step'):.0f} req/s "
        f"| {summary.throughput('raw'):.0f} req/s | {ratio * 100:.0f} % "
        f"| ≥ {READ_RATIO_GOAL * 100:.0f} %: {met[ratio.median >= READ_RATIO_GOAL]} |",
        f"| … latency p50 under that load | {summary.read_p50_ms('step'):.1f} ms "
        f"| {summary.read_p50_ms('raw'):.1f} ms | | |",
        f"| … app CPU per request | {summary.cpu_ms_per_request('step', 'app'):.2f} ms "
        f"| {summary.cpu_ms_per_request('raw', 'app'):.2f} ms | | |",
        f"| … PostgreSQL CPU per request | {summary.cpu_ms_per_request('step', POSTGRES):.2f} ms "
        f"| {summary.cpu_ms_per_request('raw', POSTGRES):.2f} ms | | |",
        f"| … Valkey CPU per request | {summary.cpu_ms_per_request('step', 'Valkey'):.3f} ms "
        f"| {summary.cpu_ms_per_request('raw', 'Valkey'):.3f} ms | | |",
        f"| … database sessions opened per 1,000 requests | {summary.sessions_per_1000('step'):.0f} "
        f"| {summary.sessions_per_1000('raw'):.0f} | | |",
        "| | through the step | straight to the upstream | overhead | |",
        f"| `POST {STREAM_PATH}`, time to first token p50 | {summary.first_token_ms('proxy', 'p50'):.2f} ms "
        f"| {summary.first_token_ms('direct', 'p50'):.2f} ms | +{overhead:.2f} ms "
        f"| ≤ {goal_ms:.0f} ms: {met[overhead.median <= goal_ms]} |",
        f"| … p99 | {summary.first_token_ms('proxy', 'p99'):.2f} ms "
        f"| {summary.first_token_ms('direct', 'p99'):.2f} ms | +{summary.overhead_p99_ms:.2f} ms | |",
    ]
    return "\n".join(rows)


# Helpers ---------------------------------------------------------------------------------------------


async def _read_path_shape(base_url: str, cookie: str) -> tuple[bool, tuple[str, ...]]:
    """Whether the step's read path wants a session, and the fields of an item as it returns them."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url) as client:
        anonymous = await client.get(READ_PATH)
        signed_in = await client.get(READ_PATH, headers={"cookie": cookie})
    assert signed_in.status_code == 200, signed_in.text
    items = signed_in.json()["items"]
    assert items, "no usage row for the caller: was the table seeded?"
    return anonymous.status_code == 401, tuple(items[0])


def _comparable(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer with its timestamps as instants: `…Z` and `…+00:00` are the same time."""
    items = [
        {
            name: datetime.fromisoformat(value) if name == "created_at" else value
            for name, value in item.items()
        }
        for item in answer["items"]
    ]
    return {**answer, "items": items}


def _handle(cookie: str) -> str:
    import hashlib

    return hashlib.sha256(cookie.partition("=")[2].encode()).hexdigest()


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def _default(step: Step, setting: str, fallback: int) -> int:
    """A setting's default in the step's `Settings` (the benchmark does not override it)."""
    field = step.settings_class().model_fields.get(setting)
    return int(field.default) if field is not None else fallback


def run_from_command_line(
    step_name: str,
    *,
    rounds: int,
    concurrency: int,
    window: float,
    min_warmup: float,
    calls: int,
    rows: int,
    quiet_timeout: float,
) -> Summary:
    """`python -m workshop.bench protected-proxy`: the notebook's measures, printed."""
    import logging
    import os

    from workshop.bench.machine import describe_machine
    from workshop.steps import find_step

    step, machine = find_step(step_name), describe_machine()
    print(f"{machine}; load average now {os.getloadavg()[0]:.2f}")
    with ExitStack() as running:
        logging.disable(logging.INFO)  # the migrations' progress lines
        stage = asyncio.run(start(step, running, rows=rows))
        logging.disable(logging.NOTSET)
        print(
            f"step {step.name} and the raw app, one uvicorn worker each ({' '.join(UVICORN_OPTIONS)}); "
            f"{stage.seeded.rows:,} usage rows, {stage.seeded.callers_rows:,} of them Ada's; "
            f"Valkey {stage.redis_version}",
            flush=True,
        )
        print(f"read path: {concurrency} clients, {rounds} rounds of at least {window:g} s per app")
        read = compare_read_path(
            stage,
            rounds=rounds,
            concurrency=concurrency,
            window=window,
            min_warmup=min_warmup,
            quiet_timeout=quiet_timeout,
            report=lambda line: print(line, flush=True),
        )
        print(f"time to first token: {rounds} rounds of {calls} calls per target, alternating")
        first_tokens = compare_first_tokens(
            stage,
            rounds=rounds,
            calls=calls,
            quiet_timeout=min(quiet_timeout, 10.0),
            report=lambda line: print(line, flush=True),
        )
    summary = Summary(read=read, first_tokens=first_tokens)
    print(f"median (lowest-highest) of {rounds} rounds, {machine.date}:")
    print(summary_table(summary, stage))
    return summary
