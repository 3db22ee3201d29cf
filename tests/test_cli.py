"""The `workshop` CLI: the list of steps, `up` serving a step end to end, and `doctor`."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil
import pytest
from workshop.steps import all_steps

WORKSHOP = [sys.executable, "-c", "from workshop.cli import main; main()"]
HELLO = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello"}]}


def workshop(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WORKSHOP, *args], capture_output=True, text=True, timeout=60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_steps_lists_every_step_with_a_summary() -> None:
    lines = workshop("steps").stdout.splitlines()

    assert [line.split()[0] for line in lines] == [step.name for step in all_steps()]
    assert all(len(line.split()) > 3 for line in lines)


def test_an_unknown_step_is_named_in_the_error() -> None:
    result = workshop("up", "--step", "99")

    assert result.returncode != 0
    assert "No step '99'" in result.stderr


@pytest.mark.parametrize("step", [s.number for s in all_steps() if s.database_driver])
def test_up_serves_the_step_and_ctrl_c_leaves_nothing_behind(step: str) -> None:
    port = free_port()
    before = set(psutil.pids())
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    command = [*WORKSHOP, "up", "--step", step, "--port", str(port)]
    up = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_listening(base, up)
        chat = httpx.post(f"{base}/v1/chat", json=HELLO, timeout=10)
        usage = httpx.get(f"{base}/v1/usage", params={"limit": 1}, timeout=10)
    finally:
        up.send_signal(signal.SIGINT)  # what Ctrl-C sends
        output, _ = up.communicate(timeout=30)

    assert chat.status_code == 200, output
    assert chat.json()["text"] == "You said: Hello"
    [latest] = usage.json()["items"]
    assert latest["model"] == "gemini-2.5-flash" and latest["status_code"] == 200
    assert f"curl -s {base}/v1/chat" in output
    assert up.returncode == 0, output
    servers_left = [describe(pid) for pid in set(psutil.pids()) - before if is_a_server(pid)]
    assert servers_left == [], output


def is_a_server(pid: int) -> bool:
    """A Valkey (or Redis) server, or a PostgreSQL postmaster (`postgres -D …`; its backends serve
    other clients)."""
    try:
        process = psutil.Process(pid)
        return process.name() in ("valkey-server", "redis-server") or (
            process.name() == "postgres" and "-D" in process.cmdline()
        )
    except psutil.Error:  # it ended while we looked: not left behind
        return False


def describe(pid: int) -> str:
    try:
        process = psutil.Process(pid)
        return f"{pid} {' '.join(process.cmdline())} (parent: {process.ppid()})"
    except psutil.Error:
        return f"{pid} (ended)"


def wait_until_listening(base: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"workshop up exited early:\n{process.stdout.read() if process.stdout else ''}"
            )
        try:
            httpx.get(f"{base}/openapi.json", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("workshop up did not start listening within 60 s")


def test_test_runs_one_steps_suite_in_its_directory() -> None:
    result = subprocess.run([*WORKSHOP, "test", "01"], capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout[-3000:]
    assert "tests/test_chat.py" in result.stdout
    assert "test_usage" not in result.stdout  # step 01 has no database, so no usage tests
    assert " passed" in result.stdout.splitlines()[-1]


# What `doctor` prints for each check when it passes, in order; {port} is the port it was given.
DOCTOR_SAYS = [
    r"✔ Python 3\.\d+\.\d+",
    r"✔ uv \d+\.\d+\.\d+ \(/.+/uv\)",
    r"✔ (Linux|macOS) \(.+\)",
    r"✔ PostgreSQL \d+\.\d+ \((embedded|from DATABASE_URL)\) answers a query",
    r"✔ (Valkey|Redis) \d+\.\d+\.\d+ \((embedded|from REDIS_URL)\) answers PING",
    r"✔ port {port} on 127\.0\.0\.1 is free for `workshop up`",
    r"✔ \d+\.\d GB free in /.+ \(the embedded PostgreSQL, test databases\)",
    r"✔ \d+\.\d GB free in /.+ \(the repository\)",
]


def test_doctor_finds_this_machine_ready() -> None:
    port = free_port()  # not 8000: a `mkdocs serve` or `workshop up` of yours may be using it

    result = workshop("doctor", "--port", str(port))

    *checks, summary = result.stdout.splitlines()
    assert len(checks) == len(DOCTOR_SAYS), result.stdout
    for line, expected in zip(checks, DOCTOR_SAYS, strict=True):
        assert re.fullmatch(expected.format(port=port), line), line
    assert summary == "All 8 checks passed: this machine is ready for the workshop."
    assert result.returncode == 0


def test_doctor_fails_on_a_busy_port_and_says_what_to_do() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()  # a real server on the port, as an earlier `workshop up` would be
        port = server.getsockname()[1]

        result = workshop("doctor", "--port", str(port))

    lines = result.stdout.splitlines()
    failed = [line for line in lines if line.startswith("✘")]
    assert failed == [f"✘ port {port} on 127.0.0.1 is in use: `workshop up` could not serve there"], lines
    fix = lines[lines.index(failed[0]) + 1]
    offered = re.fullmatch(r"  fix: stop what listens there .* `uv run workshop up --port (\d+)`", fix)
    assert offered and int(offered[1]) != port, fix  # another port, not the busy one
    assert lines[-1] == "1 of 8 checks failed: fix them, then run `uv run workshop doctor` again."
    assert result.returncode == 1
