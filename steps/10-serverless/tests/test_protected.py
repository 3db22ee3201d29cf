"""Every `/v1/*` endpoint needs a session, and the proxy an organization to pay: refused callers get a
JSON error, and the upstream never hears of them."""

import httpx
import pytest
from fastapi import FastAPI
from workshop.fake_llm import FakeLLM
from workshop.workos_emulator import WorkOSEmulator

from .signing_in import ALAN, sign_in

CHAT = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "Hello"}]}


def v1_endpoints(app: FastAPI) -> list[tuple[str, str]]:
    """Every method and path under /v1, as the app's OpenAPI schema lists them: a new one is checked too."""
    return sorted(
        (method.upper(), path.replace("{handle}", "0" * 64))
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/v1/")
        for method in operations
    )


async def test_every_v1_endpoint_refuses_a_caller_without_a_session(
    app: FastAPI, client: httpx.AsyncClient, fake_llm: FakeLLM
) -> None:
    endpoints = v1_endpoints(app)
    assert ("POST", "/v1/chat/stream") in endpoints and ("GET", "/v1/usage") in endpoints

    for method, path in endpoints:
        response = await client.request(method, path, json=CHAT)

        # 401, not a redirect to the login page: API clients read the JSON, they don't follow HTML.
        assert response.status_code == 401, (method, path)
        assert response.json() == {"detail": "Not signed in."}
    assert fake_llm.calls == []


@pytest.mark.parametrize("path", ["/v1/chat", "/v1/chat/stream", "/v1/usage", "/v1/usage/summary"])
async def test_a_session_with_no_organization_is_a_403(
    client: httpx.AsyncClient, workos: WorkOSEmulator, fake_llm: FakeLLM, path: str
) -> None:
    assert (await sign_in(client, workos, email=ALAN)).status_code == 303

    response = await client.request("POST" if "chat" in path else "GET", path, json=CHAT)

    assert response.status_code == 403
    assert "sign in to one of yours" in response.json()["detail"]
    assert fake_llm.calls == []  # refused before the upstream was called
