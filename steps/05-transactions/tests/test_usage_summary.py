"""`GET /v1/usage/summary`: the totals of each model and of all of them, and the last days."""

from datetime import UTC, datetime

import httpx

HELLO = {"messages": [{"role": "user", "content": "Hello there"}]}  # 2 + 4 tokens a call


async def test_with_no_calls_everything_is_zero(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/usage/summary")

    assert response.status_code == 200
    assert response.json() == {
        "totals": {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "by_model": [],
        "by_day": [],
    }


async def test_each_model_and_all_of_them_and_today(client: httpx.AsyncClient) -> None:
    for model in ["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-flash"]:
        await client.post("/v1/chat", json=HELLO | {"model": model})

    summary = (await client.get("/v1/usage/summary")).json()

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


async def test_days_out_of_range_are_a_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/usage/summary", params={"days": 0})

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["query", "days"]]
