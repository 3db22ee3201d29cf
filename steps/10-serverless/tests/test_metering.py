"""Every call is recorded once, with what it cost, however it ends; under a real uvicorn server, since
how a stream ends (a client that hangs up, a server that shuts down) is the server's doing.

And a call whose record PostgreSQL cannot take is not lost: it waits in Redis, and is moved to
PostgreSQL by the next call that records normally.
"""

import dataclasses
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import Connection, make_url, select
from workshop.fake_llm import FakeLLM, count_tokens
from workshop.testing import TestApp, serve_in_thread

from app.db.engine import create_db_engine
from app.db.tables import daily_usage, usage_records
from app.main import create_app
from app.quotas import Quotas
from app.redis_connection import open_redis
from app.services.metering import Call, Metering
from app.settings import Settings
from app.usage_outbox import UsageOutbox

from .signing_in import ADA_ID, session_of
from .test_quotas import counters

PROMPT = "Tell me a long story about the analytical engine and its cards"
STREAM = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": PROMPT}]}
REPLY_TOKENS = count_tokens(f"You said: {PROMPT}")  # the fake answers with the prompt, 2 words a chunk


def records(db: Connection, *, at_least: int = 1, wait: float = 0) -> list[dict[str, Any]]:
    """The usage records, after waiting up to `wait` seconds for `at_least` of them."""
    deadline = time.monotonic() + wait
    while True:
        db.rollback()  # a fresh snapshot
        rows = [dict(row) for row in db.execute(select(usage_records)).mappings()]
        if len(rows) >= at_least or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    # A short upstream timeout, for the timeout's case not to wait long.
    with serve_in_thread(create_app(settings.model_copy(update={"llm_timeout_seconds": 0.5}))) as base_url:
        yield base_url


@pytest.mark.parametrize(
    ("behaviour", "status_code", "tokens"),
    [
        ({}, 200, count_tokens(PROMPT) + REPLY_TOKENS),
        ({"fail_status": 503}, 502, 0),
        ({"hang": True}, 504, 0),
    ],
    ids=["answered", "upstream error", "upstream timeout"],
)
def test_a_stream_that_ends_is_recorded_once(
    served: str,
    ada: httpx.AsyncClient,
    fake_llm: FakeLLM,
    db: Connection,
    redis_db: redis.Redis,
    behaviour: dict[str, Any],
    status_code: int,
    tokens: int,
) -> None:
    for name, value in behaviour.items():
        setattr(fake_llm.behaviour, name, value)

    response = httpx.post(f"{served}/v1/chat/stream", json=STREAM, headers=session_of(ada), timeout=10)

    assert response.status_code == status_code
    [record] = records(db)
    assert (record["status_code"], record["total_tokens"]) == (status_code, tokens)
    assert counters(redis_db) == {"spent": tokens, "held": 0}


def test_a_client_that_hangs_up_mid_stream_is_charged_what_was_streamed(
    served: str, ada: httpx.AsyncClient, fake_llm: FakeLLM, db: Connection, redis_db: redis.Redis
) -> None:
    fake_llm.behaviour.chunk_delay = 0.3
    with httpx.stream("POST", f"{served}/v1/chat/stream", json=STREAM, headers=session_of(ada)) as response:
        first = next(line for line in response.iter_lines() if line.startswith("data:"))
    # Leaving the block closes the connection: the server notices, and Starlette cancels the stream.

    [record] = records(db, wait=3)
    assert '"candidatesTokenCount": 2' in first  # "You said:" was all the client got...
    assert (record["status_code"], record["completion_tokens"]) == (499, 2)  # ...and all it pays for
    assert record["prompt_tokens"] == count_tokens(PROMPT)
    time.sleep(0.5)  # nothing more comes: the call is recorded once
    assert len(records(db)) == 1
    assert counters(redis_db) == {"spent": record["total_tokens"], "held": 0}


def test_a_stream_cut_off_by_the_server_shutting_down_is_recorded(
    settings: Settings, ada: httpx.AsyncClient, fake_llm: FakeLLM, db: Connection, redis_db: redis.Redis
) -> None:
    fake_llm.behaviour.chunk_delay = 0.5
    with ExitStack() as server:
        served = server.enter_context(serve_in_thread(create_app(settings), graceful_shutdown_seconds=0.3))
        with httpx.stream("POST", f"{served}/v1/chat/stream", json=STREAM, headers=session_of(ada)) as stream:
            lines = stream.iter_lines()
            next(line for line in lines if line.startswith("data:"))
            # SIGTERM's effect: the server stops, waits 0.3 s for requests in flight, cancels the rest,
            # then runs the app's shutdown, which waits for their recordings.
            server.close()
            with pytest.raises(httpx.RemoteProtocolError):  # the response was cut off
                list(lines)

    [record] = records(db)  # no waiting: it was recorded before the server finished stopping
    assert (record["status_code"], record["completion_tokens"]) == (499, 2)
    assert counters(redis_db) == {"spent": record["total_tokens"], "held": 0}


async def test_a_call_postgresql_cannot_take_waits_in_redis_and_is_moved_later(
    test_app: TestApp, ada: httpx.AsyncClient, settings: Settings, db: Connection, redis_db: redis.Redis
) -> None:
    chat = STREAM | {"messages": [{"role": "user", "content": "Hello"}]}
    proxy = test_app.state["proxy"]
    nowhere = make_url(settings.database_url).set(host="127.0.0.1", port=9, query={})
    down = create_db_engine(nowhere.render_as_string(hide_password=False))
    metering = proxy.metering
    # PostgreSQL goes down after admission: the upstream answers, and then the record cannot be written.
    test_app.state["proxy"] = dataclasses.replace(
        proxy, metering=Metering(down, proxy.quotas, metering._outbox)
    )

    during = await ada.post("/v1/chat", json=chat)

    assert during.status_code == 200  # the answer was paid for: the client gets it
    assert records(db) == []
    assert redis_db.llen("usage-outbox") == 1
    test_app.state["proxy"] = proxy  # PostgreSQL is back

    after = await ada.post("/v1/chat", json=chat)

    assert after.status_code == 200
    both = records(db)
    assert sorted(record["status_code"] for record in both) == [200, 200]
    assert len({record["call_id"] for record in both}) == 2
    assert redis_db.llen("usage-outbox") == 0
    db.rollback()
    assert db.scalar(select(daily_usage.c.calls)) == 2
    assert counters(redis_db)["spent"] == sum(record["total_tokens"] for record in both)
    await down.dispose()


async def test_with_postgresql_and_redis_both_down_the_record_is_logged_in_full(
    test_app: TestApp,
    ada: httpx.AsyncClient,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    tmp_path: object,
) -> None:
    proxy = test_app.state["proxy"]
    nowhere = make_url(settings.database_url).set(host="127.0.0.1", port=9, query={})
    down = create_db_engine(nowhere.render_as_string(hide_password=False))
    redis_gone = open_redis(f"unix://{tmp_path}/nothing-listens-here.sock", timeout=0.5)
    # Both go down after admission: the upstream has answered; neither the ledger nor the outbox can take it.
    test_app.state["proxy"] = dataclasses.replace(
        proxy,
        metering=Metering(
            down,
            Quotas(redis_gone, daily_token_budget=1, requests_per_minute=1, hold_seconds=1),
            UsageOutbox(redis_gone),
        ),
    )

    response = await ada.post("/v1/chat", json=STREAM | {"messages": [{"role": "user", "content": "Hello"}]})

    assert response.status_code == 200  # the answer was paid for: the client gets it
    [logged] = [record for record in caplog.records if record.levelname == "ERROR"]
    kept = Call.from_json(logged.getMessage().split("not kept: ", 1)[1])  # all an operator needs to replay it
    assert (kept.user_id, kept.status_code, kept.total_tokens) == (ADA_ID, 200, 4)
    await down.dispose()
    await redis_gone.aclose()
