"""The machine a benchmark ran on, and how busy others kept it: what a reader needs to judge a number.

A figure without its machine and date cannot be checked, and one measured while something else took the
cores measures that something too. So each run records the load average before it, and the share of the
machine's CPU that processes other than the benchmark's own used during its window (see `series.py`).

A core is not always as fast as itself, either: on a virtual machine whose host is busy, the same Python
code can take twice as long from one second to the next, with no other process to blame and no `steal`
time reported. So each run also times a fixed loop of pure Python just before it starts
(`reference_ms`): a run with a slow reference ran on slow cores, and a reader can time the same loop on
their own machine to know what to expect.
"""

from __future__ import annotations

import datetime
import math
import os
import platform
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil  # type: ignore[import-untyped]


@dataclass(frozen=True, kw_only=True)
class Machine:
    """Where and when a benchmark ran."""

    cpu_model: str
    """The CPU's model name, as `lscpu` reports it (what a reader compares with their own)."""
    cores: int
    """Logical CPUs the operating system schedules on (`os.cpu_count()`)."""
    date: str
    """The day of the run, UTC, as YYYY-MM-DD."""
    python: str

    def __str__(self) -> str:
        return f"{self.cpu_model}, {self.cores} cores, Python {self.python}, {self.date} (UTC)"


def describe_machine() -> Machine:
    return Machine(
        cpu_model=cpu_model(),
        cores=os.cpu_count() or 1,
        date=datetime.datetime.now(datetime.UTC).date().isoformat(),
        python=platform.python_version(),
    )


def cpu_model() -> str:
    """The CPU's model name: `lscpu`'s "Model name", else /proc/cpuinfo's, else what Python knows."""
    if lscpu := shutil.which("lscpu"):
        output = subprocess.run([lscpu], capture_output=True, text=True, check=False).stdout
        for line in output.splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "Model name" and value.strip():
                return value.strip()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == "model name" and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown CPU"


@dataclass(frozen=True, kw_only=True)
class Quiet:
    """How busy the machine was just before a run, and how long the run waited for it to calm down."""

    busy: float
    """Share of the machine's CPU capacity (all cores) busy over the last second of waiting, 0..1."""
    waited: float
    """Seconds spent waiting for the machine to become quiet."""
    load_average: tuple[float, float, float]
    """`os.getloadavg()` just before the run: 1, 5 and 15 minutes."""
    reference_ms: float = math.nan
    """What `reference_ms()` measured just before the run: how fast the cores were then."""


def wait_until_quiet(*, busy_below: float = 0.25, timeout: float = 120.0) -> Quiet:
    """Waits, up to `timeout` seconds, until the machine is less than `busy_below` busy over a second.

    Other people's processes on the same cores (a test suite, a build) take CPU from the benchmark's, and
    a run measured then measures them too. Waiting avoids the worst of it; what is left is recorded per
    run, and reported, rather than hidden. With no time to wait (`timeout=0`, the notebooks' quick mode)
    a tenth of a second is enough to note how busy the machine was.
    """
    started = time.monotonic()
    sample = 1.0 if timeout > 0 else 0.1
    while True:
        busy = psutil.cpu_percent(interval=sample) / 100
        if busy < busy_below or time.monotonic() - started >= timeout:
            waited, load_average = time.monotonic() - started, os.getloadavg()
            return Quiet(busy=busy, waited=waited, load_average=load_average, reference_ms=reference_ms())


def _reference_loop() -> int:
    """The reference: a million multiplications and additions of Python ints, in a function's locals."""
    total = 0
    for i in range(1_000_000):
        total += i * i
    return total


def reference_ms(times: int = 3) -> float:
    """Milliseconds `_reference_loop` takes on this machine now: the median of `times` runs.

    To time it on another machine, or at another moment:
    `uv run python -c "from workshop.bench import reference_ms; print(reference_ms())"`.
    """
    durations = []
    for _ in range(times):
        started = time.perf_counter()
        _reference_loop()
        durations.append((time.perf_counter() - started) * 1000)
    return statistics.median(durations)
