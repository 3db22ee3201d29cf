import httpx
from workshop.fake_llm import API_KEY, FakeLLM

CONVERSATION = {
    "model": "gemini-2.5-flash",
    "messages": [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Tell me a joke"},
    ],
}


async def test_chat_returns_the_upstream_reply_in_our_shape(ada: httpx.AsyncClient) -> None:
    response = await ada.post("/v1/chat", json=CONVERSATION)

    assert response.status_code == 200
    assert response.json() == {
        "model": "gemini-2.5-flash",
        "text": "You said: Tell me a joke",
        # the fake counts words: 1 + 5 + 4 words of prompt, 6 words of reply
        "usage": {"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16},
    }


async def test_chat_forwards_the_conversation_in_gemini_shape(
    ada: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    await ada.post("/v1/chat", json=CONVERSATION)

    [call] = fake_llm.calls
    assert call.model == "gemini-2.5-flash"
    assert not call.stream
    assert call.body == {
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}]},
            {"role": "model", "parts": [{"text": "Hello! How can I help?"}]},
            {"role": "user", "parts": [{"text": "Tell me a joke"}]},
        ],
        "generationConfig": {"maxOutputTokens": 1024},  # the default cap: what the budget holds
    }


async def test_the_key_goes_upstream_and_never_back(ada: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    response = await ada.post("/v1/chat", json=CONVERSATION)

    assert fake_llm.calls[0].api_key == API_KEY
    assert API_KEY not in response.text
    assert all(API_KEY not in value for value in response.headers.values())
