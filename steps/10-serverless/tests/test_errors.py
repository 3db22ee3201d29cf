import httpx
import pytest
from pydantic import SecretStr
from workshop.fake_llm import FakeLLM
from workshop.testing import app_client

from app.main import create_app
from app.settings import Settings

from .signing_in import session_of

HELLO = [{"role": "user", "content": "Hello"}]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"model": "gemini-2.5-flash"}, ["body", "messages"]),
        ({"model": "gemini-2.5-flash", "messages": []}, ["body", "messages"]),
        (
            {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": ""}]},
            ["body", "messages", 0, "content"],
        ),
        (
            {"model": "gemini-2.5-flash", "messages": [{"role": "system", "content": "x"}]},
            ["body", "messages", 0, "role"],
        ),
        ({"model": "gemini-2.5-flash", "messages": HELLO * 101}, ["body", "messages"]),
        (
            {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "x" * 32_001}]},
            ["body", "messages", 0, "content"],
        ),
        ({"model": "gemini-2.5-flash", "messages": HELLO, "temprature": 0.2}, ["body", "temprature"]),
    ],
    ids=[
        "no messages",
        "empty messages",
        "empty content",
        "unknown role",
        "too many messages",
        "content too long",
        "misspelt field",
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    ada: httpx.AsyncClient, fake_llm: FakeLLM, body: dict, where: list
) -> None:
    response = await ada.post("/v1/chat", json=body)

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [where]
    assert fake_llm.calls == []


async def test_a_model_not_allowed_is_a_400_and_never_reaches_upstream(
    ada: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    response = await ada.post("/v1/chat", json={"model": "gemini-ultra-max", "messages": HELLO})

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Model 'gemini-ultra-max' is not allowed. "
        "Allowed models: gemini-2.5-flash, gemini-2.5-flash-lite."
    }
    assert fake_llm.calls == []


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
@pytest.mark.parametrize("upstream_status", [429, 500, 503])
async def test_an_upstream_error_is_a_502_naming_its_status(
    ada: httpx.AsyncClient, fake_llm: FakeLLM, path: str, upstream_status: int
) -> None:
    fake_llm.behaviour.fail_status = upstream_status

    response = await ada.post(path, json={"model": "gemini-2.5-flash", "messages": HELLO})

    assert response.status_code == 502
    assert response.json() == {"detail": f"The LLM upstream answered {upstream_status}."}
    assert "the fake was told to fail" not in response.text  # the upstream's body is not passed on


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
async def test_a_rejected_key_is_a_502_too(settings: Settings, ada: httpx.AsyncClient, path: str) -> None:
    settings = settings.model_copy(update={"llm_api_key": SecretStr("not-the-key")})
    async with app_client(create_app(settings)) as instance:
        response = await instance.post(
            path, json={"model": "gemini-2.5-flash", "messages": HELLO}, headers=session_of(ada)
        )

    assert response.status_code == 502
    assert response.json() == {"detail": "The LLM upstream answered 400."}


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
async def test_an_upstream_that_does_not_answer_in_time_is_a_504(
    settings: Settings, ada: httpx.AsyncClient, fake_llm: FakeLLM, path: str
) -> None:
    fake_llm.behaviour.hang = True
    settings = settings.model_copy(update={"llm_timeout_seconds": 0.3})
    async with app_client(create_app(settings)) as instance:
        response = await instance.post(
            path, json={"model": "gemini-2.5-flash", "messages": HELLO}, headers=session_of(ada)
        )

    assert response.status_code == 504
    assert response.json() == {"detail": "The LLM upstream did not answer in time."}


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream"])
async def test_an_unreachable_upstream_is_a_503(
    settings: Settings, ada: httpx.AsyncClient, path: str
) -> None:
    # Port 9 (discard) on loopback: nothing listens there, so the connection is refused at once.
    settings = settings.model_copy(update={"llm_base_url": "http://127.0.0.1:9"})
    async with app_client(create_app(settings)) as instance:
        response = await instance.post(
            path, json={"model": "gemini-2.5-flash", "messages": HELLO}, headers=session_of(ada)
        )

    assert response.status_code == 503
    assert response.json() == {"detail": "The LLM upstream could not be reached."}
