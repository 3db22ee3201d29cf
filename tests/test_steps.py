"""Every step's own suite, each in a process of its own, as a reader runs it: `cd steps/NN && pytest`.

A process per step is not only faithful, it is necessary: every step's package is named `app`.
"""

import subprocess
import sys

import pytest
from workshop.steps import Step, all_steps


@pytest.mark.parametrize("step", all_steps(), ids=lambda step: step.name)
def test_the_step_suite_passes(step: Step) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=step.directory,
        capture_output=True,
        text=True,
        timeout=300,
    )

    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, f"{step.name} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    assert " passed" in summary and "failed" not in summary, summary
