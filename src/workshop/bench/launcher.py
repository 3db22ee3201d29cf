"""The load generator as the notebook calls it: `python -m workshop.bench load …` in a process of its own.

In its own process none of its CPU is counted in the app's, and the notebook's kernel only waits. It
prints what it measured as one line of JSON, which becomes a `LoadResult` here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence

from workshop.bench.clients import CHAT_BODY, EXPECTED_REPLY, Client, Method
from workshop.bench.load import LoadResult


def run_load(
    url: str | Sequence[str],
    concurrency: int,
    *,
    window: float,
    min_warmup: float,
    ramp_up: float = 0.0,
    client: Client = "raw",
    method: Method = "POST",
    body: object = CHAT_BODY,
    headers: Mapping[str, str] | None = None,
    expect: bytes = EXPECTED_REPLY,
    watch: Mapping[str, int] | None = None,
    timeout: float = 120.0,
) -> LoadResult:
    """Runs the load generator in a process of its own and returns what it measured.

    Each request POSTs `body` as JSON to `url`, or, with `method="GET"`, GETs `url` (the body is then
    not sent); an answer is right when it is a 200 whose body contains `expect`. The clients start
    spread over `ramp_up` seconds (see `load.py`). `watch` names processes (name -> pid) whose CPU time
    during the window is reported next to the load generator's own. Several URLs (the instances of an
    app) are shared out among the clients in turn, as a load balancer would.
    """
    urls = [url] if isinstance(url, str) else list(url)
    command = [
        sys.executable, "-m", "workshop.bench", "load", "--concurrency", str(concurrency),
        *(argument for each in urls for argument in ("--url", each)),
        "--window", str(window), "--min-warmup", str(min_warmup), "--ramp-up", str(ramp_up),
        "--timeout", str(timeout), "--client", client, "--method", method,
        "--expect", expect.decode(),
    ]  # fmt: skip
    if method == "POST":
        command += ["--body", json.dumps(body)]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    for name, pid in (watch or {}).items():
        command += ["--watch", f"{name}={pid}"]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"the load generator failed ({finished.returncode}):\n{finished.stderr}")
    return LoadResult(**json.loads(finished.stdout))
