"""The load generator: runs in a process of its own (`python -m workshop.bench load …`), measures.

It is closed-loop: each virtual client sends its next request as soon as the previous answer arrives, so
`concurrency` is the number of requests in flight. How a client sends a request is in `clients.py`.

With `ramp_up`, the clients start one after the other, spread evenly over that many seconds, rather
than all at once. Against an upstream that always takes the same time, clients started together stay
together: every request of a level comes back in the same instant, and the app meets a wave of them
each cycle, which real users, arriving on their own, do not make. Spread over one upstream latency,
they keep arriving spread.

Given several requests (the same call to several instances of an app), the clients take them in turn:
client i sends the i-th modulo their number, as a load balancer spreads its connections over instances.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import psutil  # type: ignore[import-untyped]
from workshop.bench.clients import Client, Request, Send, open_senders

Answer = tuple[float, float, str | None]
"""What a virtual client notes of each answer: when it came, the request's latency, and what was wrong
with it (None: nothing)."""


@dataclass(frozen=True, kw_only=True)
class LoadResult:
    """One level of load: what the clients saw during the measuring window."""

    concurrency: int
    window_seconds: float
    warmup_seconds: float
    ramp_up_seconds: float = 0.0
    """Over how long the clients were started, one after the other."""
    ok: int
    errors: int
    """Answers in the window that were not a 200 with the expected reply, or no answer at all."""
    error_kinds: dict[str, int] = field(default_factory=dict)
    """The errors by what went wrong: "HTTP 500", "HTTP 503: The database is unavailable." (an error's
    JSON `detail`, see `clients.judge`), "TimeoutError", "ConnectionResetError"…"""
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
    machine_interrupts: float = 0.0
    """The part of `machine_busy` spent in interrupts and softirqs, which no process is charged for: on
    loopback, much of it is the kernel carrying the benchmark's own packets."""
    window_started_at: float = 0.0
    window_ended_at: float = 0.0
    """The window's edges as `time.time()`, so other processes' samples can be cut to it."""


async def generate(
    request: Request | Sequence[Request],
    concurrency: int,
    *,
    window: float,
    min_warmup: float,
    request_timeout: float,
    client: Client,
    watch: Mapping[str, int],
    ramp_up: float = 0.0,
) -> LoadResult:
    """Sends `request` from `concurrency` virtual clients, again and again; measures one window of it.
    Several requests are shared out among the clients in turn (see the module's docstring)."""
    requests = [request] if isinstance(request, Request) else list(request)
    async with AsyncExitStack() as opened:
        factories = [
            await opened.enter_async_context(open_senders(client, each, concurrency)) for each in requests
        ]
        in_turn = itertools.cycle(factories)
        return await _measure(
            lambda: next(in_turn)(),
            concurrency,
            window=window,
            min_warmup=min_warmup,
            ramp_up=ramp_up,
            request_timeout=request_timeout,
            watch=watch,
        )


@dataclass
class _Clients:
    """What the virtual clients report: for each client, its answers in order."""

    answers: list[list[Answer]]
    stopping: bool = False

    def all_answered(self, times: int, since: float) -> bool:
        """Whether every client has had at least `times` answers since `since`."""
        return all(len(answers) >= times and answers[-times][0] >= since for answers in self.answers)


async def _virtual_client(
    send: Send, answers: list[Answer], clients: _Clients, request_timeout: float, start_after: float
) -> None:
    """One virtual user: a request, wait for the answer, the next request, until told to stop."""
    await asyncio.sleep(start_after)
    while not clients.stopping:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(request_timeout):
                wrong = await send()
        except Exception as error:  # any failure is an error of this level: count it and carry on
            wrong = type(error).__name__
            await asyncio.sleep(0.05)  # a refused or broken connection: don't spin
        finished = time.perf_counter()
        answers.append((finished, finished - started, wrong))


async def _measure(
    senders: Callable[[], Send],
    concurrency: int,
    *,
    window: float,
    min_warmup: float,
    ramp_up: float,
    request_timeout: float,
    watch: Mapping[str, int],
) -> LoadResult:
    processes = {name: psutil.Process(pid) for name, pid in watch.items()}
    processes["load generator"] = psutil.Process()
    clients = _Clients([[] for _ in range(concurrency)])
    started = time.perf_counter()
    tasks = [
        asyncio.create_task(
            _virtual_client(senders(), answers, clients, request_timeout, ramp_up * index / concurrency)
        )
        for index, answers in enumerate(clients.answers)
    ]
    # Warm-up: at least `min_warmup` after the last client started, and until every client has had an
    # answer, so that a queue in the server (requests waiting for a thread, say) has grown to its
    # steady length.
    await asyncio.sleep(ramp_up + min_warmup)
    await _wait_until(lambda: clients.all_answered(1, since=started), started + request_timeout)

    # The window: at least `window`, and until every client has had 3 answers in it, so that even a
    # server that answers in slow bursts shows each client's request rate over two whole cycles.
    window_start, window_started_at = time.perf_counter(), time.time()
    cpu_before, machine_before = _cpu_seconds(processes), psutil.cpu_times()
    await asyncio.sleep(window)
    await _wait_until(lambda: clients.all_answered(3, since=window_start), window_start + request_timeout)
    window_end, window_ended_at = time.perf_counter(), time.time()
    cpu_after, machine_after = _cpu_seconds(processes), psutil.cpu_times()

    # Stop sending, and let the requests in flight finish: a server still busy with abandoned requests
    # would slow down whatever is measured next.
    clients.stopping = True
    _, unfinished = await asyncio.wait(tasks, timeout=request_timeout)
    for task in unfinished:
        task.cancel()

    in_window = [[a for a in answers if window_start <= a[0] < window_end] for answers in clients.answers]
    latencies = sorted(latency for answers in in_window for _, latency, wrong in answers if wrong is None)
    error_kinds = Counter(wrong for answers in in_window for _, _, wrong in answers if wrong is not None)
    timeline = [0] * math.ceil(window_end - window_start)
    for answers in in_window:
        for end, _, wrong in answers:
            timeline[int(end - window_start)] += wrong is None
    machine_seconds = _all_seconds(machine_after) - _all_seconds(machine_before)
    return LoadResult(
        concurrency=concurrency,
        window_seconds=window_end - window_start,
        warmup_seconds=window_start - started,
        ramp_up_seconds=ramp_up,
        ok=len(latencies),
        errors=error_kinds.total(),
        error_kinds=dict(error_kinds),
        throughput=sum(_throughput(answers) for answers in in_window),
        p50=_percentile(latencies, 0.50),
        p99=_percentile(latencies, 0.99),
        timeline=timeline,
        cpu_seconds={name: cpu_after[name] - cpu_before[name] for name in processes},
        machine_busy=(_busy_seconds(machine_after) - _busy_seconds(machine_before)) / machine_seconds,
        machine_interrupts=(_interrupt_seconds(machine_after) - _interrupt_seconds(machine_before))
        / machine_seconds,
        window_started_at=window_started_at,
        window_ended_at=window_ended_at,
    )


async def _wait_until(condition: Callable[[], bool], deadline: float) -> None:
    while not condition() and time.perf_counter() < deadline:  # noqa: ASYNC110 - a cheap check, 10 per second
        await asyncio.sleep(0.1)


def _throughput(answers: Sequence[Answer]) -> float:
    """One client's OK answers per second: those after its first answer, over first-to-last."""
    if len(answers) < 2:
        return 0.0
    return sum(wrong is None for _, _, wrong in answers[1:]) / (answers[-1][0] - answers[0][0])


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


def _all_seconds(times: psutil._common.scputimes) -> float:
    # Linux counts a guest's time in `user` and `nice` as well as in `guest` and `guest_nice`.
    return float(sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0))


def _interrupt_seconds(times: psutil._common.scputimes) -> float:
    return float(getattr(times, "irq", 0.0) + getattr(times, "softirq", 0.0))


def _busy_seconds(times: psutil._common.scputimes) -> float:
    """All but idle: `steal` too, the time the hypervisor gave this machine's cores to someone else."""
    return _all_seconds(times) - float(times.idle + getattr(times, "iowait", 0.0))
