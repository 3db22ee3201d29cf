"""Every notebook runs top to bottom, in its quick mode, so none of them can rot.

A notebook reads `NOTEBOOK_QUICK=1` from the environment and shrinks its sizes (fewer clients, shorter
runs); the committed copy carries the outputs of a full run, which this test leaves untouched.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from workshop.steps import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_notebook_runs_in_quick_mode(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTEBOOK_QUICK", "1")  # the kernel inherits the environment
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )

    client.execute()  # raises CellExecutionError, naming the cell and its traceback, if any cell fails

    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells, "a notebook with no code proves nothing"
    assert all(cell.execution_count for cell in code_cells)
