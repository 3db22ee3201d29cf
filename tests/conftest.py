"""What the root tests share: the docs site, built once per run (tests/test_docs.py checks the build,
tests/test_site.py reads the result in a browser); and the environment's modules, compiled once."""

from __future__ import annotations

import compileall
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from workshop.steps import REPO_ROOT


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """The site built with `mkdocs build --strict`, and how the build went."""
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=os.environ | {"NO_MKDOCS_2_WARNING": "1"},
        timeout=180,
    )
    return site, result


def pytest_sessionstart(session: pytest.Session) -> None:
    """Where PYTHONDONTWRITEBYTECODE is set (some CI images and containers), no Python process keeps
    the modules it compiles, and each of the ~50 processes this suite starts (the steps' suites, the
    fuzz, the notebooks' kernels, the apps under uvicorn) would compile everything it imports again:
    about 3 s each. So the environment's packages are compiled once, first, as pip does at install."""
    if sys.flags.dont_write_bytecode:
        packages = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib"), str(REPO_ROOT / "src")}
        for directory in packages:
            compileall.compile_dir(directory, quiet=1, workers=os.cpu_count() or 1)
