"""Every notebook runs top to bottom, in its quick mode, so none of them can rot.

A notebook reads `NOTEBOOK_QUICK=1` from the environment and shrinks its sizes (fewer clients, shorter
runs); the committed copy carries the outputs of a full run, which this test leaves untouched.

The notebooks run two at a time, all started by the first test that asks, as the steps' suites do
(tests/test_steps.py): a kernel spends much of its time waiting (on its servers, on a token it lets
expire), so two of them share the machine's two cores with little loss. In quick mode no notebook
asserts anything about speed, so sharing the machine changes no result.
"""

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from workshop.steps import REPO_ROOT

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def run_quick(path: Path) -> nbformat.NotebookNode:
    """The notebook at `path`, executed; raises CellExecutionError, naming the cell and its traceback,
    if any cell fails."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    return notebook


@pytest.fixture(scope="module")
def notebook_runs(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[nbformat.NotebookNode]]]:
    """The run of every notebook this run selected, started at once, two at a time."""
    selected = [
        item.callspec.params["path"] for item in request.session.items if item.module is request.module
    ]
    with pytest.MonkeyPatch.context() as env, ThreadPoolExecutor(max_workers=2) as pool:
        env.setenv("NOTEBOOK_QUICK", "1")  # the kernels inherit the environment
        yield {path.name: pool.submit(run_quick, path) for path in selected}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_the_notebook_runs_in_quick_mode(
    path: Path, notebook_runs: dict[str, Future[nbformat.NotebookNode]]
) -> None:
    notebook = notebook_runs[path.name].result()

    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code_cells, "a notebook with no code proves nothing"
    assert all(cell.execution_count for cell in code_cells)
