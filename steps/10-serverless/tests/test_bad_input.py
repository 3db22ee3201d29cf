"""Bad input the fuzz found (`tests/test_fuzz.py` at the repo root): each got a 5xx, and now gets a 422
that names what is wrong, before the upstream or the database sees it."""

import httpx
import pytest
from workshop.fake_llm import FakeLLM


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
async def test_a_conversation_without_a_user_message_is_a_422(
    ada: httpx.AsyncClient, fake_llm: FakeLLM, path: str
) -> None:
    # Was a 502: the upstream refused it with a 400, which the proxy passed on as a bad gateway.
    body = {"model": "gemini-2.5-flash", "messages": [{"role": "assistant", "content": "Hello!"}]}

    response = await ada.post(path, json=body)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body"]
    assert error["msg"] == "Value error, messages must include at least one user message"
    assert fake_llm.calls == []


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
async def test_text_no_utf_8_can_encode_is_a_422_that_echoes_it(ada: httpx.AsyncClient, path: str) -> None:
    # Was a 500: "\udc80" is valid JSON but no valid UTF-8, and FastAPI's 422 failed to encode it back.
    body = '{"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "\\udc80"}]}'

    response = await ada.post(path, content=body, headers={"content-type": "application/json"})

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "messages", 0, "content"]
    assert error["input"] == "\udc80"


async def _usage_error(ada: httpx.AsyncClient, **params: str) -> dict:
    response = await ada.get("/v1/usage", params=params)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    return error


async def test_a_status_code_beyond_smallint_is_a_422(ada: httpx.AsyncClient) -> None:
    # Was a 500: the column is a SMALLINT, and the driver refused 32768 for it.
    error = await _usage_error(ada, status_code="32768")

    assert error["loc"] == ["query", "status_code"]
    assert error["msg"] == "Input should be less than or equal to 599"


async def test_a_cursor_beyond_bigint_is_a_422(ada: httpx.AsyncClient) -> None:
    # Was a 500: ids are BIGINTs, and the driver refused 2**63 for one.
    error = await _usage_error(ada, cursor=str(2**63))

    assert error["loc"] == ["query", "cursor"]
    assert error["msg"] == f"Input should be less than or equal to {2**63 - 1}"


async def test_a_model_filter_with_a_nul_character_is_a_422(ada: httpx.AsyncClient) -> None:
    # Was a 500: PostgreSQL's text cannot hold NUL, and the database refused the statement.
    error = await _usage_error(ada, model="gemini\x00")

    assert error["loc"] == ["query", "model"]
    assert error["msg"] == "Value error, must not contain a NUL character"


@pytest.mark.parametrize(
    ("name", "value"), [("since", "0001-01-01T00:00:00+01:00"), ("until", "9999-12-31T23:59:59-01:00")]
)
async def test_a_time_with_no_instant_python_can_hold_in_utc_is_a_422(
    ada: httpx.AsyncClient, name: str, value: str
) -> None:
    # The boundary every step shares: psycopg passes such a time on as it is, but asyncpg (step 03 on)
    # converts it to UTC before sending it, and overflowed, as a 500.
    error = await _usage_error(ada, **{name: value})

    assert error["loc"] == ["query", name]
    assert error["msg"] == "Value error, must be between years 1 and 9999 in UTC"
