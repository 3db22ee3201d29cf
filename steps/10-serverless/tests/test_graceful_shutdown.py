"""SIGTERM, as Cloud Run sends it before it stops an instance (and SIGKILLs it 10 s later), sent to a
real uvicorn process running the app: the streams in flight end at once, each with a last event saying
why and its usage recorded, and the app shuts down cleanly, its pool closed, well inside the 10 s."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import Connection
from workshop.bench.processes import free_port
from workshop.fake_llm import FakeLLM

from app.llm import SHUT_DOWN
from app.settings import Settings

from .environment import environment_of
from .signing_in import session_of
from .test_metering import STREAM, records
from .test_quotas import counters

STEP = Path(__file__).parents[1]


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """uvicorn serving the app in a process of its own, the way the Dockerfile starts it; its URL."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--timeout-graceful-shutdown", "7"],
        cwd=STEP,
        env=os.environ | environment_of(settings),
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_alive(base_url, process)
        yield process, base_url
    finally:
        process.kill()
        process.wait()


def wait_until_alive(base_url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60  # an app's start, on a busy machine
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base_url}/health/live").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not start: {process.stderr.read() if process.stderr else ''}")


def test_sigterm_mid_stream_ends_it_with_a_last_event_and_records_what_it_cost(
    server: tuple[subprocess.Popen[str], str],
    ada: httpx.AsyncClient,
    fake_llm: FakeLLM,
    db: Connection,
    redis_db: redis.Redis,
) -> None:
    process, base_url = server
    fake_llm.behaviour.chunk_delay = 1  # a long answer: it would outlast the shutdown's 7 s

    with httpx.stream("POST", f"{base_url}/v1/chat/stream", json=STREAM, headers=session_of(ada)) as stream:
        lines = stream.iter_lines()
        next(line for line in lines if line.startswith("data:"))
        process.send_signal(signal.SIGTERM)
        rest = list(lines)  # no RemoteProtocolError: the stream ends as a stream should

    assert rest[-3:] == ["event: error", 'data: {"detail": "The server is shutting down; ask again."}', ""]
    _, errors = process.communicate(timeout=10)  # uvicorn exits: nothing is left in flight
    assert "Application shutdown complete." in errors  # the lifespan's end ran: the pool was disposed of
    [record] = records(db)
    assert (record["status_code"], record["completion_tokens"]) == (SHUT_DOWN, 2)  # one chunk: 2 words
    assert counters(redis_db) == {"spent": record["total_tokens"], "held": 0}
