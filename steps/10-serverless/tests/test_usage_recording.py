"""Every proxied call leaves one usage row, whatever its outcome; a rejected request leaves none."""

import asyncio

import httpx
import pytest
from sqlalchemy import Connection, select
from workshop.fake_llm import FakeLLM
from workshop.testing import TestApp

from app.db.tables import usage_records

HELLO = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello there"}]}


def all_rows(db: Connection) -> list[dict]:
    db.rollback()  # end the previous snapshot, so rows committed since are visible
    rows = db.execute(select(usage_records).order_by(usage_records.c.id)).mappings()
    return [dict(row) for row in rows]


async def test_a_call_records_the_tokens_the_upstream_counted(ada: httpx.AsyncClient, db: Connection) -> None:
    await ada.post("/v1/chat", json=HELLO)

    [row] = all_rows(db)
    assert row["model"] == "gemini-2.5-flash"
    assert row["streamed"] is False
    assert row["status_code"] == 200
    # "Hello there" is 2 words; "You said: Hello there" is 4.
    assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (2, 4, 6)
    assert row["created_at"].tzinfo is not None


async def test_latency_covers_the_upstream_call(
    ada: httpx.AsyncClient, db: Connection, fake_llm: FakeLLM
) -> None:
    fake_llm.behaviour.latency = 0.25

    await ada.post("/v1/chat", json=HELLO)

    [row] = all_rows(db)
    assert row["latency_ms"] >= 250


async def test_no_connection_is_held_while_the_upstream_thinks(
    test_app: TestApp, ada: httpx.AsyncClient, db: Connection, fake_llm: FakeLLM
) -> None:
    fake_llm.behaviour.latency = 0.5
    call = asyncio.create_task(ada.post("/v1/chat", json=HELLO))
    while not (fake_llm.calls or call.done()):  # noqa: ASYNC110 - the fake notes a call as it comes in
        await asyncio.sleep(0.01)
    held_while_the_upstream_thinks = test_app.state["engine"].pool.checkedout()
    response = await call

    assert held_while_the_upstream_thinks == 0
    assert response.status_code == 200
    [row] = all_rows(db)
    assert row["status_code"] == 200


async def test_a_stream_records_the_usage_of_its_last_event(ada: httpx.AsyncClient, db: Connection) -> None:
    response = await ada.post("/v1/chat/stream", json=HELLO)
    assert response.status_code == 200

    [row] = all_rows(db)
    assert row["streamed"] is True
    assert row["status_code"] == 200
    assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (2, 4, 6)


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
async def test_an_upstream_failure_is_recorded_with_the_status_we_answered(
    ada: httpx.AsyncClient, db: Connection, fake_llm: FakeLLM, path: str
) -> None:
    fake_llm.behaviour.fail_status = 503

    response = await ada.post(path, json=HELLO)

    assert response.status_code == 502
    [row] = all_rows(db)
    assert row["status_code"] == 502
    assert row["total_tokens"] == 0


async def test_a_broken_stream_is_recorded_as_a_502(
    ada: httpx.AsyncClient, db: Connection, fake_llm: FakeLLM
) -> None:
    fake_llm.behaviour.drop_stream_after = 1

    await ada.post("/v1/chat/stream", json=HELLO)

    [row] = all_rows(db)
    assert row["status_code"] == 502


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gemini-2.5-flash", "messages": []},
        {"model": "not-allowed", "messages": [{"role": "user", "content": "Hi"}]},
    ],
    ids=["invalid body", "model not allowed"],
)
async def test_a_rejected_request_records_nothing(ada: httpx.AsyncClient, db: Connection, body: dict) -> None:
    response = await ada.post("/v1/chat", json=body)

    assert response.status_code in (400, 422)
    assert all_rows(db) == []
