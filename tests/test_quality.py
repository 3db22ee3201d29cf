"""The code stays ruff- and mypy-clean: checked here so the one test command checks everything."""

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from workshop.steps import REPO_ROOT, Step, all_steps

MypyRun = Future[subprocess.CompletedProcess[str]]
KIT = "the kit and the docs' hooks"


def run(*command: str, cwd: object = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=cwd, capture_output=True, text=True)


def test_ruff_finds_nothing() -> None:
    result = run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout


def test_the_code_is_ruff_formatted() -> None:
    result = run("ruff", "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout


def mypy(cache: Path, *targets: str, cwd: object = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return run("mypy", "--cache-dir", str(cache), *targets, cwd=cwd)


@pytest.fixture(scope="module")
def mypy_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, MypyRun]]:
    """Every mypy run this run selected, started at once in two lanes, each with a cache of its own:
    the kit and the docs' hooks in one, the steps in the other, one after another.

    mypy caches what it learnt of each module under the module's name, and every step's package is
    named `app`. One after another, the steps can share a cache: mypy checks each module's source
    against the hash it cached and checks again what changed and what depends on it, as after a `git
    checkout`, so each step's `app` is checked as itself, and the libraries (FastAPI, SQLAlchemy,
    pydantic) are analysed once for all the steps. Two mypy processes at once must not share one: their
    writes of `app.main` could interleave. The two lanes take about as long as each other (~30 s, the
    libraries analysed in each), and together half as long as one after the other.
    """
    selected = [item for item in request.session.items if item.module is request.module]
    kit = any(item.name == "test_mypy_is_clean_on_the_kit_and_the_docs_hooks" for item in selected)
    steps = [item.callspec.params["step"] for item in selected if hasattr(item, "callspec")]
    kit_cache, steps_cache = tmp_path_factory.mktemp("mypy-kit"), tmp_path_factory.mktemp("mypy-steps")
    with ThreadPoolExecutor(max_workers=1) as kit_lane, ThreadPoolExecutor(max_workers=1) as steps_lane:
        runs = {KIT: kit_lane.submit(mypy, kit_cache, "src", "docs/hooks")} if kit else {}
        for step in steps:  # one run per step: every step's package is named `app`
            runs[step.name] = steps_lane.submit(mypy, steps_cache, "app", cwd=step.directory)
        yield runs


def test_mypy_is_clean_on_the_kit_and_the_docs_hooks(mypy_runs: dict[str, MypyRun]) -> None:
    result = mypy_runs[KIT].result()
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("step", all_steps(), ids=lambda step: step.name)
def test_mypy_is_clean_on_the_app(step: Step, mypy_runs: dict[str, MypyRun]) -> None:
    result = mypy_runs[step.name].result()
    assert result.returncode == 0, result.stdout
