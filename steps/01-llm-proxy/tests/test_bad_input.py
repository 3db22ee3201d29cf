"""Bad input the fuzz found (`tests/test_fuzz.py` at the repo root): each got a 5xx, and now gets a 422
that names what is wrong, before the upstream sees it."""

import httpx
import pytest
from workshop.fake_llm import FakeLLM


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
async def test_a_conversation_without_a_user_message_is_a_422(
    client: httpx.AsyncClient, fake_llm: FakeLLM, path: str
) -> None:
    # Was a 502: the upstream refused it with a 400, which the proxy passed on as a bad gateway.
    body = {"model": "gemini-2.5-flash", "messages": [{"role": "assistant", "content": "Hello!"}]}

    response = await client.post(path, json=body)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body"]
    assert error["msg"] == "Value error, messages must include at least one user message"
    assert fake_llm.calls == []


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
async def test_text_no_utf_8_can_encode_is_a_422_that_echoes_it(client: httpx.AsyncClient, path: str) -> None:
    # Was a 500: "\udc80" is valid JSON but no valid UTF-8, and FastAPI's 422 failed to encode it back.
    body = '{"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "\\udc80"}]}'

    response = await client.post(path, content=body, headers={"content-type": "application/json"})

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "messages", 0, "content"]
    assert error["input"] == "\udc80"
