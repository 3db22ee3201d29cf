"""What the root tests share: the docs site, built once per run and from its start (tests/test_docs.py
checks the build, tests/test_site.py reads the result in a browser); and the environment's modules,
compiled once."""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest
from workshop.steps import REPO_ROOT


@pytest.fixture(scope="session", autouse=True)
def site_build(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, subprocess.Popen[str]] | None]:
    """`mkdocs build --strict` into a folder of the run's own, started before the first test when a test
    of the run reads the site. The build keeps one core busy for ~15 s, and the first tests (the CLI's,
    which mostly wait on the servers they start) leave one free: by the docs' tests, it is done."""
    if not any("built_site" in item.fixturenames for item in request.session.items):
        yield None
        return
    site = tmp_path_factory.mktemp("site")
    build = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"NO_MKDOCS_2_WARNING": "1"},
    )
    yield site, build
    if build.poll() is None:  # the run ended before any test read the site
        build.kill()
        build.communicate()


@pytest.fixture(scope="session")
def built_site(
    site_build: tuple[Path, subprocess.Popen[str]] | None,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The site built with `mkdocs build --strict`, and how the build went."""
    assert site_build is not None, "site_build starts the build for every test that asks for built_site"
    site, build = site_build
    stdout, stderr = build.communicate(timeout=180)
    return site, subprocess.CompletedProcess(build.args, build.returncode, stdout, stderr)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Where PYTHONDONTWRITEBYTECODE is set (some CI images and containers), no Python process keeps
    the modules it compiles, and each of the ~50 processes this suite starts (the steps' suites, the
    fuzz, the notebooks' kernels, the apps under uvicorn) would compile everything it imports again:
    about 3 s each. So the environment's packages are compiled once, first, as pip does at install."""
    if sys.flags.dont_write_bytecode:
        packages = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), str(REPO_ROOT / "src")}
        for directory in packages:
            compileall.compile_dir(directory, quiet=1, workers=os.cpu_count() or 1)
