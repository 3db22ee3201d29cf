"""Load-testing a step: serve it the way it is deployed, drive it from another process, measure.

Used by `notebooks/sync-vs-async.ipynb`. Each part runs in a process of its own, so that no part's CPU
is counted in another's and the notebook's kernel only waits:

- the fake LLM upstream: `workshop fake-llm --port P --latency L`;
- the step's app: `uvicorn app.main:create_app --factory --app-dir steps/NN-… --workers 1`, with a
  database of its own (created here, dropped afterwards);
- the load generator: `python -m workshop.bench load --url … --concurrency N …`, which prints what it
  measured as one line of JSON.

The load generator is closed-loop: each virtual client sends its next request as soon as the previous
answer arrives, so `concurrency` is the number of requests in flight. By default each client holds one
keep-alive HTTP/1.1 connection and speaks raw HTTP over asyncio streams, because an HTTP client library
would cost more CPU per request than the app under test, on the same cores. `--client httpx` and
`--client aiohttp` use those libraries instead, to measure what the libraries themselves cost.

`python -m workshop.bench notebook PATH` runs a notebook in full (not quick) mode and saves its outputs.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import math
import os
import secrets
import socket
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Literal
from urllib.parse import urlsplit

import psutil  # type: ignore[import-untyped]
from workshop.steps import Step

Client = Literal["raw", "httpx", "aiohttp"]
Post = Callable[[], Awaitable[bool]]
"""Sends one request and tells whether its answer was right."""
Answer = tuple[float, float, bool]
"""What a virtual client notes of each answer: when it came, the request's latency, whether it was right."""

CHAT_BODY = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello"}]}
EXPECTED_REPLY = b"You said: Hello"  # the fake upstream's answer, which every right answer carries


@dataclass(frozen=True)
class LoadResult:
    """One level of load: what the clients saw during the measuring window."""

    concurrency: int
    window_seconds: float
    warmup_seconds: float
    ok: int
    errors: int
    """Answers in the window that were not a 200 with the expected reply, or no answer at all."""
    throughput: float
    """OK answers per second, counted client by client: each client's OK answers after its first one in
    the window, over the time from its first answer to its last, summed over the clients. A server that
    answers in bursts (the sync step does) would otherwise be over- or under-counted by where the window
    happens to start and end; this way each client's own request rate is measured whole."""
    p50: float
    p99: float
    """Latency percentiles, in seconds, of the OK answers completed in the window."""
    timeline: list[int] = field(default_factory=list)
    """OK answers completed in each second of the window."""
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    """CPU time each watched process, and the load generator itself, used during the window."""
    machine_busy: float = 0.0
    """Share of the machine's CPU capacity (all cores) that was busy during the window, 0..1."""


@dataclass(frozen=True)
class Served:
    """A process started for the benchmark, and where it listens."""

    name: str
    base_url: str
    pid: int
    database: str | None = None


# --- starting and stopping the processes under test ---------------------------------------------


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
def serve_step(step: Step, llm_base_url: str, uvicorn_options: Sequence[str] = ()) -> Iterator[Served]:
    """The step's app under uvicorn (one worker), with a fresh database that is dropped afterwards."""
    # Imported here, not at the top: the load generator's process needs none of them, and they take
    # a second or two to import.
    from workshop import services
    from workshop.databases import create_database, drop_database
    from workshop.fake_llm import API_KEY

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
        env = {
            "LLM_BASE_URL": llm_base_url,
            "LLM_API_KEY": API_KEY,
            "DATABASE_URL": services.with_driver(url, step.database_driver),
        }
        port = free_port()
        command = uvicorn_command(step, port, uvicorn_options)
        with _running(step.name, command, port, ready_path="/v1/usage?limit=1", env=env) as served:
            yield Served(served.name, served.base_url, served.pid, database)
    finally:
        drop_database(server, database)


@contextmanager
def _running(
    name: str, command: list[str], port: int, *, ready_path: str, env: Mapping[str, str]
) -> Iterator[Served]:
    """Starts `command`, waits until `GET ready_path` answers 200, and stops it on exit, whatever happens."""
    log: IO[bytes] = tempfile.TemporaryFile()  # a file, not a pipe: a full pipe would block the server
    process = subprocess.Popen(command, env=os.environ | dict(env), stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_ready(name, process, port, ready_path, log)
        yield Served(name, f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()  # SIGTERM: uvicorn shuts down gracefully and runs the app's lifespan exit
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_until_ready(
    name: str, process: subprocess.Popen[bytes], port: int, path: str, log: IO[bytes]
) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{output}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass  # not listening yet
        finally:
            connection.close()
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not answer GET {path} within 30 s")


# --- what the database sees ------------------------------------------------------------------------


@dataclass
class ConnectionCount:
    """The most connections a database had open at once, and the most of them running a statement."""

    open: int = 0
    active: int = 0


@contextmanager
def watch_connections(database: str, every: float = 0.05) -> Iterator[ConnectionCount]:
    """Polls `pg_stat_activity` in a background thread while the block runs."""
    import psycopg
    from workshop import services

    count = ConnectionCount()
    stop = threading.Event()
    query = (
        "SELECT count(*), count(*) FILTER (WHERE state = 'active') FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()"
    )

    def poll() -> None:
        with psycopg.connect(services.postgres_url(), autocommit=True) as conn:
            while not stop.wait(every):
                row = conn.execute(query, (database,)).fetchone()
                assert row is not None
                count.open, count.active = max(count.open, row[0]), max(count.active, row[1])

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield count
    finally:
        stop.set()
        thread.join()


# --- the load generator, as the notebook calls it ---------------------------------------------------


def run_load(
    url: str,
    concurrency: int,
    *,
    window: float,
    min_warmup: float,
    client: Client = "raw",
    body: object = CHAT_BODY,
    headers: Mapping[str, str] | None = None,
    watch: Mapping[str, int] | None = None,
    timeout: float = 120.0,
) -> LoadResult:
    """Runs the load generator in a process of its own and returns what it measured.

    Each request POSTs `body` as JSON to `url`. `watch` names processes (name -> pid) whose CPU time
    during the window is reported next to the load generator's own.
    """
    command = [
        sys.executable, "-m", "workshop.bench", "load", "--url", url, "--concurrency", str(concurrency),
        "--window", str(window), "--min-warmup", str(min_warmup), "--timeout", str(timeout),
        "--client", client, "--body", json.dumps(body),
    ]  # fmt: skip
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    for name, pid in (watch or {}).items():
        command += ["--watch", f"{name}={pid}"]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"the load generator failed ({finished.returncode}):\n{finished.stderr}")
    return LoadResult(**json.loads(finished.stdout))


# --- the load generator itself (runs in its own process) ----------------------------------------------


@dataclass
class _Clients:
    """What the virtual clients report: for each client, its answers in order."""

    answers: list[list[Answer]]
    stopping: bool = False

    def all_answered(self, times: int, since: float) -> bool:
        """Whether every client has had at least `times` answers since `since`."""
        return all(len(answers) >= times and answers[-times][0] >= since for answers in self.answers)


async def _virtual_client(
    post: Post, answers: list[Answer], clients: _Clients, request_timeout: float
) -> None:
    """One virtual user: a request, wait for the answer, the next request, until told to stop."""
    while not clients.stopping:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(request_timeout):
                ok = await post()
        except Exception:  # any failure is an error of this level: count it and carry on
            ok = False
            await asyncio.sleep(0.05)  # a refused or broken connection: don't spin
        finished = time.perf_counter()
        answers.append((finished, finished - started, ok))


class _RawConnection:
    """A keep-alive HTTP/1.1 connection that sends one prepared request, again and again."""

    def __init__(self, host: str, port: int, request: bytes) -> None:
        self._host, self._port, self._request = host, port, request
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self) -> bool:
        try:
            if self._reader is None or self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
            self._writer.write(self._request)
            status, body, keep_alive = await _read_response(self._reader)
        except BaseException:
            self.close()  # whatever happened, the connection is in an unknown state
            raise
        if not keep_alive:
            self.close()
        return status == 200 and EXPECTED_REPLY in body

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body and whether the connection stays open. Only Content-Length bodies: what apps send."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise ValueError(f"no Content-Length in the response: {headers}")
    body = await reader.readexactly(int(headers["content-length"]))
    return status, body, headers.get("connection", "").lower() != "close"


@asynccontextmanager
async def _posts(
    client: Client, url: str, body: bytes, headers: dict[str, str], concurrency: int
) -> AsyncIterator[Callable[[], Post]]:
    """Yields a factory of one `post` per virtual client, for the chosen HTTP client."""
    headers = {"content-type": "application/json", **headers}
    if client == "raw":
        parts = urlsplit(url)
        head = f"POST {parts.path or '/'} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        yield lambda: _RawConnection(host, port, request).post
    elif client == "httpx":
        import httpx

        # Room for every client at once, and a kept-alive connection for each, so the pool never waits.
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=None) as httpx_client:

            async def post_with_httpx() -> bool:
                response = await httpx_client.post(url, content=body, headers=headers)
                return response.status_code == 200 and EXPECTED_REPLY in response.content

            yield lambda: post_with_httpx
    else:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout()
        ) as aiohttp_client:

            async def post_with_aiohttp() -> bool:
                async with aiohttp_client.post(url, data=body, headers=headers) as response:
                    return response.status == 200 and EXPECTED_REPLY in await response.read()

            yield lambda: post_with_aiohttp


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q of the values at or below it."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


def _cpu_seconds(processes: Mapping[str, psutil.Process]) -> dict[str, float]:
    seconds = {}
    for name, process in processes.items():
        times = process.cpu_times()
        seconds[name] = times.user + times.system
    return seconds


def _busy_seconds(times: psutil._common.scputimes) -> float:
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


async def _wait_until(condition: Callable[[], bool], deadline: float) -> None:
    while not condition() and time.perf_counter() < deadline:  # noqa: ASYNC110 - a cheap check, 10 per second
        await asyncio.sleep(0.1)


def _throughput(answers: Sequence[Answer]) -> float:
    """One client's OK answers per second: those after its first answer, over first-to-last."""
    if len(answers) < 2:
        return 0.0
    return sum(ok for _, _, ok in answers[1:]) / (answers[-1][0] - answers[0][0])


async def _measure(
    posts: Callable[[], Post],
    concurrency: int,
    *,
    window: float,
    min_warmup: float,
    request_timeout: float,
    watch: Mapping[str, int],
) -> LoadResult:
    processes = {name: psutil.Process(pid) for name, pid in watch.items()}
    processes["load generator"] = psutil.Process()
    clients = _Clients([[] for _ in range(concurrency)])
    started = time.perf_counter()
    tasks = [
        asyncio.create_task(_virtual_client(posts(), answers, clients, request_timeout))
        for answers in clients.answers
    ]
    # Warm-up: at least `min_warmup`, and until every client has had an answer, so that a queue in
    # the server (requests waiting for a thread, say) has grown to its steady length.
    await asyncio.sleep(min_warmup)
    await _wait_until(lambda: clients.all_answered(1, since=started), started + request_timeout)

    # The window: at least `window`, and until every client has had 3 answers in it, so that even a
    # server that answers in slow bursts shows each client's request rate over two whole cycles.
    window_start = time.perf_counter()
    cpu_before, machine_before = _cpu_seconds(processes), psutil.cpu_times()
    await asyncio.sleep(window)
    await _wait_until(lambda: clients.all_answered(3, since=window_start), window_start + request_timeout)
    window_end = time.perf_counter()
    cpu_after, machine_after = _cpu_seconds(processes), psutil.cpu_times()

    # Stop sending, and let the requests in flight finish: a server still busy with abandoned requests
    # would slow down whatever is measured next.
    clients.stopping = True
    _, unfinished = await asyncio.wait(tasks, timeout=request_timeout)
    for task in unfinished:
        task.cancel()

    in_window = [[a for a in answers if window_start <= a[0] < window_end] for answers in clients.answers]
    latencies = sorted(latency for answers in in_window for _, latency, ok in answers if ok)
    errors = sum(not ok for answers in in_window for _, _, ok in answers)
    timeline = [0] * math.ceil(window_end - window_start)
    for answers in in_window:
        for end, _, ok in answers:
            timeline[int(end - window_start)] += ok
    machine_seconds = sum(machine_after) - sum(machine_before)
    return LoadResult(
        concurrency=concurrency,
        window_seconds=window_end - window_start,
        warmup_seconds=window_start - started,
        ok=len(latencies),
        errors=errors,
        throughput=sum(_throughput(answers) for answers in in_window),
        p50=_percentile(latencies, 0.50),
        p99=_percentile(latencies, 0.99),
        timeline=timeline,
        cpu_seconds={name: cpu_after[name] - cpu_before[name] for name in processes},
        machine_busy=(_busy_seconds(machine_after) - _busy_seconds(machine_before)) / machine_seconds,
    )


async def _load(args: argparse.Namespace) -> LoadResult:
    headers = dict(
        (name.strip(), value.strip()) for name, _, value in (h.partition(":") for h in args.header)
    )
    watch = {name: int(pid) for name, _, pid in (item.partition("=") for item in args.watch)}
    body = args.body.encode()
    async with _posts(args.client, args.url, body, headers, args.concurrency) as posts:
        return await _measure(
            posts,
            args.concurrency,
            window=args.window,
            min_warmup=args.min_warmup,
            request_timeout=args.timeout,
            watch=watch,
        )


def run_notebook(path: Path, timeout: int = 3600) -> None:
    """Executes a notebook in place, in full mode, as the committed copy is made."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.pop("NOTEBOOK_QUICK", None)  # the kernel inherits the environment: full sizes
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # no timestamps in the saved copy
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    nbformat.write(notebook, path)  # type: ignore[no-untyped-call]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workshop.bench", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="drive an endpoint; print what was measured as JSON")
    load.add_argument("--url", required=True, help="where to POST each request")
    load.add_argument("--concurrency", type=int, required=True, help="virtual clients, each one in flight")
    load.add_argument("--window", type=float, default=10.0, help="seconds of measuring")
    load.add_argument("--min-warmup", type=float, default=2.0, help="seconds of load before measuring")
    load.add_argument("--timeout", type=float, default=120.0, help="seconds before a request is an error")
    load.add_argument("--client", choices=["raw", "httpx", "aiohttp"], default="raw")
    load.add_argument("--body", default=json.dumps(CHAT_BODY), help="the JSON body of every request")
    load.add_argument("--header", action="append", default=[], help="'Name: value', sent with every request")
    load.add_argument("--watch", action="append", default=[], help="NAME=PID: report its CPU time too")
    notebook = commands.add_parser("notebook", help="run a notebook in full mode and save its outputs")
    notebook.add_argument("path", type=Path)
    args = parser.parse_args(argv)

    if args.command == "load":
        print(json.dumps(asdict(asyncio.run(_load(args)))))
    else:
        run_notebook(args.path)


if __name__ == "__main__":
    main()
