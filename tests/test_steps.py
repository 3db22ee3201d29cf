"""Every step's own suite, each in a process of its own, as a reader runs it: `cd steps/NN && pytest`.

A process per step is not only faithful, it is necessary: every step's package is named `app`.

The suites run two at a time, all started by the first test that asks, as the fuzz does
(tests/test_fuzz.py): a suite spends much of its time waiting (on PostgreSQL, on a timeout it tests,
on a token it lets expire), so two of them share the machine's two cores with little loss, and the
repo's test command stays under ten minutes. The newest step starts first: each step adds to the one
before, so the later the step, the longer its suite; started first, the longest ones do not leave a
core idle at the end, waiting for the last of them.
"""

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from workshop.steps import Step, all_steps

SuiteRun = Future[subprocess.CompletedProcess[str]]


def run_suite(step: Step) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=step.directory,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def suite_runs(request: pytest.FixtureRequest) -> Iterator[dict[str, SuiteRun]]:
    """The suite of every step this run selected, started at once, two at a time."""
    selected = [
        item.callspec.params["step"] for item in request.session.items if item.module is request.module
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {step.name: pool.submit(run_suite, step) for step in reversed(selected)}  # the newest first


@pytest.mark.parametrize("step", all_steps(), ids=lambda step: step.name)
def test_the_step_suite_passes(step: Step, suite_runs: dict[str, SuiteRun]) -> None:
    result = suite_runs[step.name].result()

    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, f"{step.name} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    assert " passed" in summary and "failed" not in summary, summary
