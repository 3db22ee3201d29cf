import itertools
import json
import time

import httpx
from workshop.fake_llm import API_KEY, FakeLLM
from workshop.testing import app_client, serve_in_thread

from app.main import create_app
from app.settings import Settings

from .signing_in import session_of

CHAT = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Stream me a story"}]}


def gemini_chunks(sse: str) -> list[dict]:
    """The data of each SSE event that carries a Gemini response chunk."""
    data = [json.loads(line.removeprefix("data:")) for line in sse.splitlines() if line.startswith("data:")]
    return [chunk for chunk in data if "candidates" in chunk]


async def test_stream_relays_the_upstream_events(ada: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    response = await ada.post("/v1/chat/stream", json=CHAT)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = gemini_chunks(response.text)
    assert len(events) > 1
    text = "".join(e["candidates"][0]["content"]["parts"][0]["text"] for e in events)
    assert text == "You said: Stream me a story"
    assert events[-1]["usageMetadata"] == {
        "promptTokenCount": 4,
        "candidatesTokenCount": 6,
        "totalTokenCount": 10,
    }
    assert fake_llm.calls[0].stream
    assert API_KEY not in response.text


def test_stream_reaches_the_client_as_it_is_produced(
    settings: Settings, ada: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    # In-process transports buffer whole responses, so this runs the app under a real uvicorn.
    fake_llm.behaviour.chunk_delay = 0.2
    arrivals = []
    with serve_in_thread(create_app(settings)) as base_url:
        with httpx.stream(
            "POST", f"{base_url}/v1/chat/stream", json=CHAT, headers=session_of(ada)
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    arrivals.append(time.monotonic())

    assert len(arrivals) == 3
    # Each event arrived about one upstream delay after the one before: nothing was buffered.
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert all(gap > 0.1 for gap in gaps), gaps


async def test_a_stream_longer_than_the_timeout_is_not_cut(
    settings: Settings, ada: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    # The timeout is per read, not per call: each chunk comes within it, the whole stream does not.
    fake_llm.behaviour.chunk_delay = 0.25  # three chunks: 0.5 s in all
    settings = settings.model_copy(update={"llm_timeout_seconds": 0.4})
    async with app_client(create_app(settings)) as instance:
        response = await instance.post("/v1/chat/stream", json=CHAT, headers=session_of(ada))

    assert response.status_code == 200
    assert len(gemini_chunks(response.text)) == 3
    assert "event: error" not in response.text


async def test_a_broken_stream_ends_with_an_error_event(ada: httpx.AsyncClient, fake_llm: FakeLLM) -> None:
    fake_llm.behaviour.drop_stream_after = 1

    response = await ada.post("/v1/chat/stream", json=CHAT)

    assert response.status_code == 200  # the status line had gone out with the first event
    assert len(gemini_chunks(response.text)) == 1
    assert response.text.endswith(
        'event: error\ndata: {"detail": "The LLM upstream broke off the stream."}\n\n'
    )
