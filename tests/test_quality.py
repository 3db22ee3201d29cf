"""The code stays ruff- and mypy-clean: checked here so the one test command checks everything."""

import subprocess
import sys

import pytest
from workshop.steps import REPO_ROOT, Step, all_steps


def run(*command: str, cwd: object = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=cwd, capture_output=True, text=True)


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout


def test_the_code_is_ruff_formatted() -> None:
    result = run("ruff", "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout


def test_mypy_is_clean_on_the_kit() -> None:
    result = run("mypy", "src")
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("step", all_steps(), ids=lambda step: step.name)
def test_mypy_is_clean_on_the_app(step: Step) -> None:
    # One run per step: every step's package is named `app`.
    result = run("mypy", "app", cwd=step.directory)
    assert result.returncode == 0, result.stdout
