"""Bad input never gets a 500: every step's API fuzzed by Schemathesis, each step in a process of its own.

The fuzz is the kit's `workshop/fuzzing.py`, run by pytest from inside the step directory with the
step's `tests/conftest.py` loaded as a plugin, so the app, its settings and its migrated database are
built exactly as in the step's own tests: `fuzzing.command()` says how. A process per step is
necessary, as for the steps' suites: every step's package is named `app`.

The steps are fuzzed two at a time, all started by the first test that asks: a fuzz is not timed, so
sharing the machine's two cores changes no result, and it shortens the run. The newest step starts
first: each step adds operations to the one before, so the later the step, the longer its fuzz;
started first, the longest ones do not leave a core idle at the end, waiting for the last of them.
"""

import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from workshop import fuzzing
from workshop.steps import Step, all_steps

STEPS = all_steps()
FuzzRun = Future[tuple[subprocess.CompletedProcess[str], Path]]


def fuzz(
    step: Step, directory: Path, hypothesis_storage: Path
) -> tuple[subprocess.CompletedProcess[str], Path]:
    report_file = directory / "fuzz.json"
    env = {
        **os.environ,
        fuzzing.REPORT_ENV: str(report_file),
        "HYPOTHESIS_STORAGE_DIRECTORY": str(hypothesis_storage),
    }
    command = fuzzing.command()
    result = subprocess.run(command, cwd=step.directory, env=env, capture_output=True, text=True, timeout=300)
    return result, report_file


@pytest.fixture(scope="module")
def fuzz_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, FuzzRun]]:
    """The fuzz of every step this run selected, started at once, two at a time."""
    selected = [
        item.callspec.params["step"] for item in request.session.items if item.module is request.module
    ]
    # Hypothesis keeps caches even without an example database: the table of the characters UTF-8 can
    # encode, which it draws text from (~3 s of CPU to build), and the constants it finds in the code
    # under test (by the hash of each file). One directory of the run's own holds them for every step,
    # rather than a `.hypothesis/` inside each step; Hypothesis writes them atomically, for processes
    # that share them.
    hypothesis_storage = tmp_path_factory.mktemp("hypothesis")
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {
            step.name: pool.submit(fuzz, step, tmp_path_factory.mktemp(step.name), hypothesis_storage)
            for step in reversed(selected)  # the newest, longest first
        }


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.name)
def test_bad_input_never_gets_a_server_error(
    step: Step, fuzz_runs: dict[str, FuzzRun], capsys: pytest.CaptureFixture[str]
) -> None:
    result, report_file = fuzz_runs[step.name].result()

    assert result.returncode == 0, f"{step.name}:\n{result.stdout[-8000:]}\n{result.stderr[-3000:]}"
    report = json.loads(report_file.read_text())
    with capsys.disabled():  # the case counts belong in the run's output
        print(f"\n{fuzzing.summary(step.name, report)}")
    counts: dict[str, int] = report["cases"]
    assert counts, "the schema has no operations"
    # An operation that takes nothing (a health probe) has only a few distinct cases to make; it is
    # called at least once, and every other one as many times as asked.
    without_input = set(report["without_input"])
    assert all(counts[label] >= 1 for label in without_input), counts
    assert all(
        count >= fuzzing.MAX_EXAMPLES for label, count in counts.items() if label not in without_input
    ), counts
