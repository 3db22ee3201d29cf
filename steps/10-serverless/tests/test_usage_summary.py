"""`GET /v1/usage/summary`: the totals of each model and of all of them, and the last days."""

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Connection, insert

from app.db.tables import daily_usage

from .factories import daily_usage_row

HELLO = {"messages": [{"role": "user", "content": "Hello there"}]}  # 2 + 4 tokens a call


async def test_with_no_calls_everything_is_zero(ada: httpx.AsyncClient) -> None:
    response = await ada.get("/v1/usage/summary")

    assert response.status_code == 200
    assert response.json() == {
        "totals": {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "by_model": [],
        "by_day": [],
    }


async def test_each_model_and_all_of_them_and_today(ada: httpx.AsyncClient) -> None:
    for model in ["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-flash"]:
        await ada.post("/v1/chat", json=HELLO | {"model": model})

    summary = (await ada.get("/v1/usage/summary")).json()

    assert summary["totals"] == {"calls": 3, "prompt_tokens": 6, "completion_tokens": 12, "total_tokens": 18}
    assert summary["by_model"] == [
        {
            "model": "gemini-2.5-flash",
            "calls": 2,
            "prompt_tokens": 4,
            "completion_tokens": 8,
            "total_tokens": 12,
        },
        {
            "model": "gemini-2.5-flash-lite",
            "calls": 1,
            "prompt_tokens": 2,
            "completion_tokens": 4,
            "total_tokens": 6,
        },
    ]
    today = datetime.now(UTC).date().isoformat()
    assert summary["by_day"] == [{"day": today, "calls": 3, "total_tokens": 18}]


async def test_by_day_holds_the_last_days_up_to_today_oldest_first(
    ada: httpx.AsyncClient, db: Connection
) -> None:
    today = datetime.now(UTC).date()
    rows = [daily_usage_row(day=today - timedelta(days=n)) for n in (0, 1, 2, 7)]
    rows.append(daily_usage_row(day=today, model="gemini-2.5-flash-lite", calls=1, total_tokens=5))
    db.execute(insert(daily_usage), rows)
    db.commit()

    by_day = (await ada.get("/v1/usage/summary", params={"days": 3})).json()["by_day"]

    assert by_day == [  # 7 days ago is out of the window; today adds up both models
        {"day": (today - timedelta(days=2)).isoformat(), "calls": 3, "total_tokens": 45},
        {"day": (today - timedelta(days=1)).isoformat(), "calls": 3, "total_tokens": 45},
        {"day": today.isoformat(), "calls": 4, "total_tokens": 50},
    ]


async def test_days_out_of_range_are_a_422(ada: httpx.AsyncClient) -> None:
    response = await ada.get("/v1/usage/summary", params={"days": 0})

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", "days"]]
