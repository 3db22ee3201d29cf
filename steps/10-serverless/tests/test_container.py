"""The container image, as far as it can be checked without building it (there is no container runtime
in the test environment; `docker build .` in the step's directory builds it).

The Dockerfile's own command is run, as a user other than root, and must serve the app and stop on
SIGTERM as Cloud Run stops an instance; requirements.txt must pin, with hashes, the very versions these
tests run; the Dockerfile must keep to what Cloud Run and the migrations' job expect of it."""

import re
import signal
import subprocess
import sysconfig
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from workshop.bench.processes import Served, free_port
from workshop.fake_llm import API_KEY, FakeLLM
from workshop.workos_emulator import WorkOSEmulator

from .container import NON_ROOT, STEP, as_non_root, requirement_lines, stages

SCRIPTS = Path(sysconfig.get_path("scripts"))  # this environment's commands: uvicorn, alembic
PINNED = re.compile(
    r"(?P<name>[A-Za-z0-9._-]+)(\[[^\]]*\])?==(?P<version>\S+)(\s+--hash=sha256:[0-9a-f]{64})+"
)


def the_command() -> str:
    """The final stage's CMD, in shell form: the shell expands ${PORT}, then execs uvicorn."""
    command = [arguments for keyword, arguments in stages()[-1] if keyword == "CMD"][-1]
    assert not command.startswith("["), "the exec form (JSON) would pass ${PORT} to uvicorn unexpanded"
    return command


@pytest.fixture
def app_environment(
    fake_llm: FakeLLM, database_url: str, workos: WorkOSEmulator, redis_url: str
) -> dict[str, str]:
    """The app's settings as Cloud Run gives them to the container: environment variables, nothing else.

    /health/live asks neither PostgreSQL nor Redis, so the test does not hang on whether `nobody` may
    reach the kit's (embedded, they listen on Unix sockets in folders of their own users)."""
    return {
        "LLM_BASE_URL": fake_llm.base_url,
        "LLM_API_KEY": API_KEY,
        "DATABASE_URL": database_url.replace("postgresql://", "postgresql+asyncpg://", 1),
        "REDIS_URL": redis_url,
        "WORKOS_API_KEY": workos.api_key,
        "WORKOS_CLIENT_ID": workos.client_id,
        "WORKOS_BASE_URL": workos.base_url,
        "SESSION_COOKIE_PASSWORD": Fernet.generate_key().decode(),
    }


def test_the_command_serves_the_app_as_a_non_root_user_and_ends_cleanly_on_sigterm(
    app_environment: dict[str, str],
) -> None:
    port = free_port()
    env = {**app_environment, "PORT": str(port), "PATH": f"{SCRIPTS}:/usr/bin:/bin"}  # as the image's
    with tempfile.TemporaryFile() as log:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(
            as_non_root(["sh", "-c", the_command()]), cwd=STEP, env=env, stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        server = Served(
            name="the Dockerfile's CMD", base_url=f"http://127.0.0.1:{port}", pid=process.pid, log=log
        )
        try:
            live = first_answer(server, process, "/health/live")
            assert live.status_code == 200, server.output()
            assert "server" not in live.headers
            # The process Popen started is uvicorn itself, not a shell waiting for it: `exec` replaced the
            # shell, so the SIGTERM Cloud Run sends to the container's first process reaches uvicorn.
            command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes().decode().split("\0")
            assert command_line[1:3] == [str(SCRIPTS / "uvicorn"), "app.main:create_app"]
            assert user_ids(process.pid) == {NON_ROOT}  # real, effective, saved and file-system uids
            # Cloud Run's stop: SIGTERM, then SIGKILL 10 s later. Once shut down, uvicorn ends by the signal
            # it got (it raises it again), as a program without a handler would: the status is -SIGTERM
            # (143 in a shell), not 0, and its log shows that the app's shutdown ran to its end first.
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=5) == -signal.SIGTERM, server.output()
            assert "Application shutdown complete." in server.output()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def first_answer(server: Served, process: subprocess.Popen[bytes], path: str) -> httpx.Response:
    """The first answer to GET `path`, asked again until the server listens (30 s at most)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server ended ({process.returncode}):\n{server.output()}"
        try:
            return httpx.get(server.base_url + path, timeout=1)
        except httpx.TransportError:  # not listening yet
            time.sleep(0.05)
    raise AssertionError(f"no answer from {server.base_url} in 30 s:\n{server.output()}")


def user_ids(pid: int) -> set[int]:
    status = Path(f"/proc/{pid}/status").read_text()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    return {int(uid) for uid in uid_line.split()[1:]}


def test_requirements_pin_every_package_with_hashes_to_the_version_tested_here() -> None:
    """What the image installs is what this suite runs on: same names, same versions."""
    not_as_tested: dict[str, str] = {}
    for line in requirement_lines():
        pinned = PINNED.fullmatch(line)
        assert pinned, f"not pinned with == and --hash: {line[:80]}"
        name, pin = pinned["name"], pinned["version"]
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != pin:
            not_as_tested[name] = f"{pin} in requirements.txt, {installed} here"
    assert not_as_tested == {}


def test_every_direct_dependency_is_pinned_within_its_range() -> None:
    pinned: dict[str, str] = {}
    for line in requirement_lines():
        if match := PINNED.fullmatch(line):
            pinned[canonicalize_name(match["name"])] = match["version"]
    for line in (STEP / "requirements.in").read_text().splitlines():
        if not (line := line.partition("#")[0].strip()):
            continue
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement.name} is in requirements.in, not in requirements.txt"
        assert requirement.specifier.contains(pinned[name]), f"{name}=={pinned[name]} is outside {line}"


def test_the_final_stage_runs_as_a_user_who_is_not_root_and_migrates_nothing() -> None:
    *_, final = stages()
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users, "no USER in the final stage: the container would run as root"
    assert users[-1].partition(":")[0] not in {"root", "0"}
    for keyword, arguments in final:
        if keyword in {"CMD", "ENTRYPOINT"}:
            assert "alembic" not in arguments, "the migrations are the job's, not each instance's start"


def test_the_image_holds_what_the_migrations_job_runs() -> None:
    """The job runs `alembic upgrade head` on this image: it needs alembic.ini and alembic/ beside app/."""
    copied = {
        source for keyword, arguments in stages()[-1] if keyword == "COPY" and "--from" not in arguments
        for source in arguments.split()[:-1]
    }  # fmt: skip
    assert {"app", "alembic", "alembic.ini"} <= copied


def test_both_stages_start_from_the_same_base() -> None:
    """The virtual environment built in the first stage runs on the final stage's Python."""
    bases = [stage[0][1].split()[0] for stage in stages()]
    assert len(bases) == 2 and bases[0] == bases[1], bases


def test_the_build_context_leaves_out_tests_and_local_environments() -> None:
    ignored = (STEP / ".dockerignore").read_text().splitlines()
    assert {"tests", ".venv", "**/__pycache__"} <= set(ignored)


def test_any_user_may_read_what_the_image_copies() -> None:
    """COPY keeps each file's permissions, and the copies are root's: the image's user must be let in."""
    copied = [
        STEP / "requirements.txt",
        STEP / "alembic.ini",
        *STEP.glob("app/**/*"),
        *STEP.glob("alembic/**/*"),
    ]
    for path in copied:
        if "__pycache__" in path.parts:
            continue  # left out of the build context (.dockerignore)
        needed = 0o005 if path.is_dir() else 0o004  # others may read it; and enter it, a folder
        assert path.stat().st_mode & needed == needed, f"{path}: {oct(path.stat().st_mode)}"
