"""`workshop`: serve a step with everything it needs, list the steps, run their tests.

workshop up [--step NN] [--port 8000]   embedded services + fake LLM + the step's app
workshop steps                          one line per step
workshop test [NN]                      a step's tests (all of them with no NN)
workshop fake-llm [--port 8001]         only the fake LLM upstream, in the foreground
workshop workos-emulator [--port 8002]  only the local WorkOS emulator, in the foreground
workshop doctor [--port 8000]           checks this machine is ready for the workshop
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlencode

import uvicorn
from workshop import doctor, services
from workshop.databases import create_database, database_exists
from workshop.fake_llm import API_KEY, FakeLLM
from workshop.server import serve_in_thread
from workshop.steps import REPO_ROOT, Step, all_steps, find_step


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="workshop", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="serve a step's app with everything it needs")
    up_parser.add_argument("--step", help="step number or name (default: the newest)")
    up_parser.add_argument("--port", type=int, default=8000)
    commands.add_parser("steps", help="list the steps")
    test_parser = commands.add_parser("test", help="run a step's tests, or every test")
    test_parser.add_argument("step", nargs="?")
    fake_parser = commands.add_parser("fake-llm", help="serve the fake LLM upstream alone")
    fake_parser.add_argument("--port", type=int, default=8001)
    fake_parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    workos_parser = commands.add_parser("workos-emulator", help="serve the local WorkOS emulator alone")
    workos_parser.add_argument("--port", type=int, default=8002)
    workos_parser.add_argument(
        "--seeds", type=Path, help="a seed file (default: the kit's example-seed.toml)"
    )
    doctor_parser = commands.add_parser("doctor", help="check this machine is ready for the workshop")
    doctor_parser.add_argument("--port", type=int, default=8000, help="the port `up` will serve on")
    args = parser.parse_args(argv)

    if args.command == "up":
        up(find_step(args.step), args.port)
    elif args.command == "steps":
        for step in all_steps():
            print(f"{step.name:<22} {step.summary}")
    elif args.command == "test":
        sys.exit(run_tests(args.step))
    elif args.command == "fake-llm":
        fake = FakeLLM()
        fake.behaviour.latency = args.latency
        uvicorn.run(fake.app(), host="127.0.0.1", port=args.port, log_level="warning")
    elif args.command == "workos-emulator":
        serve_workos_emulator(args.port, args.seeds)
    elif args.command == "doctor":
        sys.exit(doctor.run(args.port))


def up(step: Step, port: int) -> None:
    stop_on_sigterm_as_on_ctrl_c()
    with ExitStack() as stack:
        env = {"REDIS_URL": services.redis_url()}
        if os.environ.get("LLM_BASE_URL") and os.environ.get("LLM_API_KEY"):
            llm = f"{os.environ['LLM_BASE_URL']} (from LLM_BASE_URL)"
        else:
            fake = FakeLLM()
            fake.base_url = stack.enter_context(serve_in_thread(fake.app()))
            env |= {"LLM_BASE_URL": fake.base_url, "LLM_API_KEY": API_KEY}
            llm = f"{fake.base_url} (the kit's fake Gemini-style upstream)"
        if step.database_driver:
            env["DATABASE_URL"] = prepare_database(step)
        more_lines: list[str] = []  # for the banner: the services this step uses beyond these
        if "redis_url" in step.settings_class().model_fields:  # from step 08 on: the sessions' store
            more_lines.append(f"  Redis       {env['REDIS_URL']}")
        if step.uses_workos:
            workos_env, workos_lines = wire_workos(step, port, stack)
            env |= workos_env
            more_lines += workos_lines
        os.environ.update(env)
        print_banner(step, port, llm, env.get("DATABASE_URL"), more_lines)
        uvicorn.run(
            "app.main:create_app", factory=True, app_dir=str(step.directory), host="127.0.0.1", port=port
        )


def stop_on_sigterm_as_on_ctrl_c() -> None:
    """Makes SIGTERM stop `up` as Ctrl-C does: everything it started, then exit status 0.

    SIGTERM is how `kill`, systemd, Docker and Cloud Run ask a server to stop. Python's default for it
    ends the process on the spot, running neither `with` blocks' exits nor atexit handlers, and those
    are what stop the emulators' threads and the embedded PostgreSQL and Valkey: they were left
    running. uvicorn does catch SIGTERM while it serves, but after its graceful shutdown it raises the
    signal again, for that default to run. As Ctrl-C's KeyboardInterrupt, it ends uvicorn.run quietly
    (uvicorn swallows it) and `up` unwinds as after Ctrl-C; raised during the start, it stops what has
    started so far, as Ctrl-C would.

    Status 0, as after Ctrl-C, rather than 128+15: the server was asked to stop and stopped cleanly,
    and 143 would read as a failure to systemd (unless told otherwise) and to Kubernetes.
    """
    signal.signal(signal.SIGTERM, signal.default_int_handler)


def prepare_database(step: Step) -> str:
    """The step's own database on the server (created once, kept between runs), migrated if it can be."""
    server = services.postgres_url()
    name = f"workshop_{step.number}"
    if not database_exists(server, name):
        create_database(server, name)
    url = services.with_database(server, name)
    if step.alembic_ini:
        from workshop.migrations import upgrade

        print(f"Migrating database {name} to head…")
        upgrade(step.alembic_ini, url)
    assert step.database_driver is not None
    return services.with_driver(url, step.database_driver)


def wire_workos(step: Step, port: int, stack: ExitStack) -> tuple[dict[str, str], list[str]]:
    """The WorkOS settings for the step's app, and the banner's lines about them.

    The real WorkOS when WORKOS_API_KEY and WORKOS_CLIENT_ID are set; otherwise the kit's emulator,
    started here (it stops with `stack`), seeded from the step's `workos-seed.toml` if it has one.
    """
    from workshop.workos_emulator import EXAMPLE_SEEDS, WorkOSEmulator, load_seeds  # only steps that sign in

    env = {"SESSION_COOKIE_PASSWORD": os.environ.get("SESSION_COOKIE_PASSWORD") or cookie_password()}
    callback = f"http://127.0.0.1:{port}/auth/callback"
    login = f"  login       http://127.0.0.1:{port}/auth/login"
    if os.environ.get("WORKOS_API_KEY") and os.environ.get("WORKOS_CLIENT_ID"):
        env["WORKOS_REDIRECT_URI"] = os.environ.get("WORKOS_REDIRECT_URI", callback)
        return env, ["  WorkOS      the real WorkOS (WORKOS_API_KEY and WORKOS_CLIENT_ID are set)", login]

    seeds_path = step.directory / "workos-seed.toml"
    if not seeds_path.exists():
        seeds_path = EXAMPLE_SEEDS
    emulator = WorkOSEmulator(seeds=load_seeds(seeds_path))
    emulator.base_url = stack.enter_context(serve_in_thread(emulator.app()))
    env |= {
        "WORKOS_API_KEY": emulator.api_key,
        "WORKOS_CLIENT_ID": emulator.client_id,
        "WORKOS_BASE_URL": emulator.base_url,
        "WORKOS_REDIRECT_URI": callback,  # the emulator redirects only to this machine
    }
    lines = [
        f"  WorkOS      {emulator.base_url} (the kit's WorkOS emulator, seeds: {seeds_path.name})",
        login,
    ]
    return env, lines + [f"    {user}" for user in emulator.seeds.who_can_sign_in()]


def cookie_password() -> str:
    """The key the app seals its cookies with: made once and kept (mode 0600), so restarting `up` keeps
    step 07's sealed sessions (step 08's live in the embedded Valkey, which stops with `up`). The SDK
    seals with Fernet, so it must be a Fernet key."""
    from cryptography.fernet import Fernet
    from workshop.workos_emulator.keys import read_or_create_secret

    return read_or_create_secret(services.state_dir() / "cookie-password", Fernet.generate_key).decode()


def serve_workos_emulator(port: int, seeds_path: Path | None) -> None:
    from workshop.workos_emulator import EXAMPLE_SEEDS, WorkOSEmulator, load_seeds

    seeds_path = seeds_path or EXAMPLE_SEEDS
    emulator = WorkOSEmulator(seeds=load_seeds(seeds_path))
    emulator.base_url = base = f"http://127.0.0.1:{port}"
    example_login = urlencode(
        {
            "response_type": "code",
            "client_id": emulator.client_id,
            "redirect_uri": "http://127.0.0.1:8000/auth/callback",
        }
    )
    lines = [
        f"WorkOS emulator at {base}, seeded from {seeds_path}",
        "",
        "Point the workos SDK at it with these environment variables:",
        f"  WORKOS_BASE_URL={base}",
        f"  WORKOS_API_KEY={emulator.api_key}",
        f"  WORKOS_CLIENT_ID={emulator.client_id}",
        "",
        "Login page (the SDK's get_authorization_url builds this; redirect_uri must be on this machine):",
        f"  {base}/user_management/authorize?{example_login}",
        "",
        "Users you can sign in as:",
        *[f"  {user}" for user in emulator.seeds.who_can_sign_in()],
        "",
        "Ctrl-C stops it.",
        "",
    ]
    print("\n".join(lines), flush=True)
    uvicorn.run(emulator.app(), host="127.0.0.1", port=port, log_level="warning")


def print_banner(step: Step, port: int, llm: str, database_url: str | None, more_lines: list[str]) -> None:
    base = f"http://127.0.0.1:{port}"
    chat = '{"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello"}]}'
    lines = [
        f"Serving step {step.name}: {step.summary}",
        f"  app         {base}   (interactive API docs: {base}/docs)",
        f"  LLM         {llm}",
    ]
    if database_url:
        lines.append(f"  PostgreSQL  {database_url}")
    lines += more_lines
    signed_in = ""
    if step.api_needs_a_session:
        signed_in = ' -b "__Host-session=$SESSION"'
        lines += [
            "",
            "Sign in at the login URL, then copy the browser's __Host-session cookie:  SESSION=<its value>",
        ]
    lines += [
        "",
        "Try:",
        f"  curl -s {base}/v1/chat{signed_in} -H 'content-type: application/json' -d '{chat}'",
        f"  curl -sN {base}/v1/chat/stream{signed_in} -H 'content-type: application/json' -d '{chat}'",
    ]
    if database_url:
        lines.append(f"  curl -s{signed_in} '{base}/v1/usage?limit=5'")
    lines += ["", "Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)


def run_tests(step_name: str | None) -> int:
    if step_name is None:
        return subprocess.call([sys.executable, "-m", "pytest"], cwd=REPO_ROOT)
    return subprocess.call([sys.executable, "-m", "pytest"], cwd=find_step(step_name).directory)
