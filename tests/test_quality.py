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


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One cache for every mypy run of the session: the libraries (FastAPI, SQLAlchemy, pydantic) are
    analysed once, not once per step, so the later runs take a fraction of the first. mypy keys its
    cache by file path and content, so each step's `app` is still checked as itself."""
    return str(tmp_path_factory.mktemp("mypy-cache"))


def test_mypy_is_clean_on_the_kit_and_the_docs_hooks(mypy_cache: str) -> None:
    result = run("mypy", "--cache-dir", mypy_cache, "src", "docs/hooks")
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("step", all_steps(), ids=lambda step: step.name)
def test_mypy_is_clean_on_the_app(step: Step, mypy_cache: str) -> None:
    # One run per step: every step's package is named `app`.
    result = run("mypy", "--cache-dir", mypy_cache, "app", cwd=step.directory)
    assert result.returncode == 0, result.stdout
