"""`GET /v1/usage`: a page of records, newest first, and totals over everything the filters match."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Connection, make_url, text
from sqlalchemy.exc import ProgrammingError
from workshop.databases import TestDatabases
from workshop.testing import TestApp

from app.db.engine import create_db_engine
from app.settings import Settings

from .factories import NOON, add_usage_records


async def test_an_empty_log_has_zero_totals(ada: httpx.AsyncClient) -> None:
    response = await ada.get("/v1/usage")

    assert response.status_code == 200
    assert response.json() == {
        "items": [],
        "totals": {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "next_cursor": None,
    }


async def test_a_call_through_the_proxy_shows_up(ada: httpx.AsyncClient) -> None:
    await ada.post(
        "/v1/chat", json={"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hi"}]}
    )

    body = (await ada.get("/v1/usage")).json()

    [item] = body["items"]
    assert item["model"] == "gemini-2.5-flash"
    assert item["total_tokens"] == 4  # "Hi" (1) + "You said: Hi" (3)
    assert body["totals"] == {"calls": 1, "prompt_tokens": 1, "completion_tokens": 3, "total_tokens": 4}


async def test_pages_walk_through_every_record_once_newest_first(
    ada: httpx.AsyncClient, db: Connection
) -> None:
    add_usage_records(db, 7)

    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await ada.get("/v1/usage", params=params)).json()
        assert page["totals"]["calls"] == 7  # totals are over all matches, on every page
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == 7
    assert len(set(seen)) == 7  # no record twice, so none left out
    assert seen == sorted(seen, reverse=True)


async def test_filters_narrow_both_the_items_and_the_totals(ada: httpx.AsyncClient, db: Connection) -> None:
    add_usage_records(db, 4)  # 12:00 .. 12:03
    add_usage_records(db, 2, model="gemini-2.5-flash-lite", status_code=502, total_tokens=0)

    by_model = (await ada.get("/v1/usage", params={"model": "gemini-2.5-flash-lite"})).json()
    by_status = (await ada.get("/v1/usage", params={"status_code": 200})).json()
    by_time = (
        await ada.get(
            "/v1/usage",
            params={
                "since": (NOON + timedelta(minutes=1)).isoformat(),
                "until": (NOON + timedelta(minutes=3)).isoformat(),
            },
        )
    ).json()

    assert by_model["totals"]["calls"] == 2
    assert {item["model"] for item in by_model["items"]} == {"gemini-2.5-flash-lite"}
    assert by_status["totals"] == {
        "calls": 4,
        "prompt_tokens": 40,
        "completion_tokens": 20,
        "total_tokens": 60,
    }
    # since is inclusive, until exclusive: 12:01 and 12:02 of the first model, 12:01 of the second
    assert by_time["totals"]["calls"] == 3


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"limit": 0}, ["query", "limit"]),
        ({"limit": 101}, ["query", "limit"]),
        ({"cursor": -1}, ["query", "cursor"]),
        ({"since": "yesterday"}, ["query", "since"]),
        ({"since": "2026-01-15T12:00:00"}, ["query", "since"]),  # no timezone: ambiguous
        ({"modle": "x"}, ["query", "modle"]),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, ["query"]),
    ],
    ids=[
        "limit 0",
        "limit 101",
        "negative cursor",
        "not a time",
        "naive time",
        "unknown filter",
        "since > until",
    ],
)
async def test_bad_query_parameters_are_a_422_naming_them(
    ada: httpx.AsyncClient, params: dict, where: list
) -> None:
    response = await ada.get("/v1/usage", params=params)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [where]


async def test_a_pooled_connection_that_died_while_idle_is_replaced(
    ada: httpx.AsyncClient, db: Connection
) -> None:
    add_usage_records(db, 2)
    before = (await ada.get("/v1/usage")).json()  # the app's pool now holds an idle connection
    # As if the database restarted: end every other session on it, and wait (1 s at most) until each has.
    db.execute(
        text(
            "SELECT pg_terminate_backend(pid, 1000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    db.commit()

    response = await ada.get("/v1/usage")

    assert response.status_code == 200
    assert response.json() == before
    assert before["totals"]["calls"] == 2


async def test_a_database_that_went_away_is_a_503(
    ada: httpx.AsyncClient, test_databases: TestDatabases, database_url: str
) -> None:
    test_databases.drop(database_url)  # closes the app's pooled connections, too

    response = await ada.get("/v1/usage")

    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable."}


async def test_a_database_server_that_cannot_be_reached_is_a_503(
    test_app: TestApp, ada: httpx.AsyncClient, settings: Settings
) -> None:
    # As if the server went down after startup: the app's engine now points where nothing listens.
    nowhere = make_url(settings.database_url).set(host="127.0.0.1", port=9, query={})
    test_app.state["engine"] = create_db_engine(nowhere.render_as_string(hide_password=False))

    response = await ada.get("/v1/usage")

    assert response.status_code == 503
    assert response.json() == {"detail": "The database is unavailable."}


async def test_a_database_error_that_is_a_bug_is_not_disguised_as_a_503(
    ada: httpx.AsyncClient, db: Connection
) -> None:
    db.execute(text("DROP TABLE usage_records"))  # the server is fine; our SQL names a missing table
    db.commit()

    with pytest.raises(ProgrammingError, match="usage_records"):  # in-process, a 500 re-raises here
        await ada.get("/v1/usage")
