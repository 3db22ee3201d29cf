"""Running a notebook in full (not quick) mode and saving its outputs, as the committed copy is made."""

from __future__ import annotations

import os
from pathlib import Path


def run_notebook(path: Path, timeout: int = 4 * 3600) -> None:
    """Executes a notebook in place, in full mode, as the committed copy is made.

    `timeout` bounds each cell: a benchmark's cell runs every level several times, each run possibly
    waiting for the machine to be quiet first, so it is hours, not minutes."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.pop("NOTEBOOK_QUICK", None)  # the kernel inherits the environment: full sizes
    notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # no timestamps in the saved copy
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    nbformat.write(notebook, path)  # type: ignore[no-untyped-call]
