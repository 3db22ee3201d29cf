"""Bad input never gets a 500: every step's API fuzzed by Schemathesis, each step in a process of its own.

The fuzz is the kit's `workshop/fuzzing.py`, run by pytest from inside the step directory with the
step's `tests/conftest.py` loaded as a plugin, so the app, its settings and its migrated database are
built exactly as in the step's own tests: `fuzzing.command()` says how. A process per step is
necessary, as for the steps' suites: every step's package is named `app`.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
from workshop import fuzzing
from workshop.steps import Step, all_steps


@pytest.mark.parametrize("step", all_steps(), ids=lambda step: step.name)
def test_bad_input_never_gets_a_server_error(
    step: Step, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_file = tmp_path / "fuzz.json"
    # Hypothesis keeps caches even without an example database: here, in the test's own directory,
    # rather than in a `.hypothesis/` inside the step.
    env = {**os.environ, fuzzing.REPORT_ENV: str(report_file), "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path)}
    result = subprocess.run(
        fuzzing.command(),
        cwd=step.directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, f"{step.name}:\n{result.stdout[-8000:]}\n{result.stderr[-3000:]}"
    report = json.loads(report_file.read_text())
    with capsys.disabled():  # the case counts belong in the run's output
        print(f"\n{fuzzing.summary(step.name, report)}")
    counts: dict[str, int] = report["cases"]
    assert counts, "the schema has no operations"
    assert all(count >= fuzzing.MAX_EXAMPLES for count in counts.values()), counts
    assert sum(counts.values()) >= fuzzing.MAX_EXAMPLES * len(counts)
