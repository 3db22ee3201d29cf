"""Load-testing a step: serve it the way it is deployed, drive it from another process, measure.

Used by `notebooks/sync-vs-async.ipynb`. Each part runs in a process of its own, so that no part's CPU
is counted in another's and the notebook's kernel only waits:

- the fake LLM upstream and the step's app under uvicorn, with a database of its own: `processes.py`;
- the load generator, `python -m workshop.bench load …`: `load.py`, which `launcher.py` starts and
  whose HTTP clients are in `clients.py`.

`connections.py` watches how many connections the database has open meanwhile; `notebook.py` runs a
notebook in full mode (`python -m workshop.bench notebook PATH`, see `__main__.py`).
"""

from workshop.bench.connections import watch_connections
from workshop.bench.launcher import run_load
from workshop.bench.load import LoadResult
from workshop.bench.processes import serve_fake_llm, serve_step

__all__ = ["LoadResult", "run_load", "serve_fake_llm", "serve_step", "watch_connections"]
