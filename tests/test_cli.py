"""The `workshop` CLI: the list of steps, `up` serving a step end to end, the WorkOS emulator, `doctor`."""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import psutil
import pytest
from cryptography.fernet import Fernet
from workos import WorkOSClient
from workshop import cli
from workshop.steps import Step, all_steps

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


def steps_that_change_what_up_wires() -> list[str]:
    """The steps where `up` starts or wires something new: a database driver, migrations, the WorkOS
    emulator, Redis sessions. The steps between them are served exactly as the one before them."""
    chosen, before = [], None
    for step in all_steps():
        fields = step.settings_class().model_fields
        wiring = (step.database_driver, bool(step.alembic_ini), step.uses_workos, "redis_url" in fields)
        if step.database_driver and wiring != before:
            chosen.append(step.number)
        before = wiring
    return chosen


@pytest.mark.parametrize("step", steps_that_change_what_up_wires())
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


@pytest.fixture
def own_state_dir(tmp_path: Path) -> Iterator[Path]:
    """A TMPDIR for `up`, so that its embedded servers are its own: the usual embedded PostgreSQL is
    shared by every process of the user, and rightly outlives an `up` while others use it. Whatever
    server of that folder is still running at the end (`up` failed to stop it) is killed."""
    yield tmp_path
    for process in psutil.process_iter(["cmdline"]):
        if str(tmp_path) in " ".join(process.info["cmdline"] or []):
            with contextlib.suppress(psutil.Error):  # it may have ended meanwhile
                process.kill()


def test_up_stopped_by_sigterm_stops_its_embedded_servers_as_ctrl_c_does(own_state_dir: Path) -> None:
    # SIGTERM is how `kill`, systemd, Docker and Cloud Run stop a server.
    port = free_port()
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"PYTHONUNBUFFERED": "1", "TMPDIR": str(own_state_dir)}
    command = [*WORKSHOP, "up", "--step", "09", "--port", str(port)]  # 09: PostgreSQL, Valkey, WorkOS
    up = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        wait_until_listening(f"http://127.0.0.1:{port}", up)
        postgres = postgres_socket(next(own_state_dir.glob("workshop-*/postgres")))
        [valkey] = own_state_dir.glob("workshop-*/valkey-*/valkey.sock")
        running_before = accepts_connections(postgres), accepts_connections(valkey)
    finally:
        up.send_signal(signal.SIGTERM)
        output, _ = up.communicate(timeout=60)

    assert running_before == (True, True), output
    assert not accepts_connections(postgres), output
    assert not accepts_connections(valkey), output
    assert up.returncode == 0, output  # as after Ctrl-C


def postgres_socket(pgdata: Path) -> Path:
    """The Unix socket of the PostgreSQL running on `pgdata`, from the lines of its postmaster.pid:
    pid, data directory, start time, port, socket directory, …"""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return Path(lines[4]) / f".s.PGSQL.{lines[3]}"


def accepts_connections(unix_socket: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as client:
        try:
            client.connect(str(unix_socket))
        except OSError:  # no such socket any more, or no server behind it
            return False
        return True


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


def test_workos_emulator_serves_in_the_foreground_and_prints_what_to_set(tmp_path: Path) -> None:
    seeds = tmp_path / "workos-seed.toml"
    seeds.write_text(
        '[[users]]\nid = "user_01JC00000000000000000000ZED"\nemail = "zed@example.com"\n'
        '[[organizations]]\nid = "org_01JC0000000000000000000ACME"\nname = "Acme"\n'
        '[[memberships]]\nuser_id = "user_01JC00000000000000000000ZED"\n'
        'organization_id = "org_01JC0000000000000000000ACME"\nrole = "admin"\n'
        '[roles]\nadmin = ["everything"]\n'
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [*WORKSHOP, "workos-emulator", "--port", str(port), "--seeds", str(seeds)]
    emulator = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_listening(base, emulator)
        with WorkOSClient(api_key="sk_test_emulator", client_id="client_emulator", base_url=base) as client:
            key_set = client.user_management.get_jwks("client_emulator")
    finally:
        emulator.send_signal(signal.SIGINT)
        output, _ = emulator.communicate(timeout=30)

    assert key_set.keys[0].kid, output
    for line in [
        f"WORKOS_BASE_URL={base}",
        "WORKOS_API_KEY=sk_test_emulator",
        "WORKOS_CLIENT_ID=client_emulator",
        f"{base}/user_management/authorize?response_type=code&client_id=client_emulator&redirect_uri=",
        "zed@example.com  admin of Acme",
    ]:
        assert line in output
    assert emulator.returncode == 0, output


def fake_step(directory: Path, settings: str) -> Step:
    (directory / "app").mkdir(parents=True)
    (directory / "app" / "settings.py").write_text(
        f"from pydantic import SecretStr\nfrom pydantic_settings import BaseSettings\n\n\n{settings}"
    )
    return Step(directory)


def test_a_step_uses_workos_when_its_settings_read_a_workos_api_key(tmp_path: Path) -> None:
    signs_in = fake_step(
        tmp_path / "98-signs-in", "class Settings(BaseSettings):\n    workos_api_key: SecretStr\n"
    )
    anonymous = fake_step(
        tmp_path / "99-anonymous", "class Settings(BaseSettings):\n    llm_api_key: SecretStr\n"
    )

    assert signs_in.uses_workos and not anonymous.uses_workos


@pytest.fixture
def step_that_signs_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Step:
    for name in ("WORKOS_API_KEY", "WORKOS_CLIENT_ID", "WORKOS_REDIRECT_URI", "SESSION_COOKIE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    step = fake_step(
        tmp_path / "98-signs-in", "class Settings(BaseSettings):\n    workos_api_key: SecretStr\n"
    )
    (step.directory / "workos-seed.toml").write_text(
        '[[users]]\nid = "user_01JC00000000000000000000ZED"\nemail = "zed@example.com"\n'
    )
    return step


def test_up_starts_the_workos_emulator_seeded_from_the_step(step_that_signs_in: Step) -> None:
    with ExitStack() as stack:
        env, banner = cli.wire_workos(step_that_signs_in, 8123, stack)
        health = httpx.get(f"{env['WORKOS_BASE_URL']}/health", timeout=5)

    assert health.json() == {"status": "ok"}
    assert (env["WORKOS_API_KEY"], env["WORKOS_CLIENT_ID"]) == ("sk_test_emulator", "client_emulator")
    assert env["WORKOS_REDIRECT_URI"] == "http://127.0.0.1:8123/auth/callback"
    Fernet(env["SESSION_COOKIE_PASSWORD"])  # the SDK seals cookies with it: it must be a Fernet key
    assert env["SESSION_COOKIE_PASSWORD"] == cli.cookie_password()  # kept: a restart keeps the cookies
    assert "  login       http://127.0.0.1:8123/auth/login" in banner
    assert any("zed@example.com" in line and "no organization" in line for line in banner), banner


def test_up_uses_the_real_workos_when_its_keys_are_set(
    step_that_signs_in: Step, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKOS_API_KEY", "sk_test_real")
    monkeypatch.setenv("WORKOS_CLIENT_ID", "client_real")

    with ExitStack() as stack:
        env, banner = cli.wire_workos(step_that_signs_in, 8123, stack)

    assert "WORKOS_BASE_URL" not in env and "WORKOS_API_KEY" not in env  # the environment's own stay
    assert env["WORKOS_REDIRECT_URI"] == "http://127.0.0.1:8123/auth/callback"
    assert any("the real WorkOS" in line for line in banner)
