"""What the root tests share: the docs site, built once per run (tests/test_docs.py checks the build,
tests/test_site.py reads the result in a browser)."""

from __future__ import annotations

import os
import subprocess
import sys
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
