"""Each test gets a fresh app wired to the kit's fake LLM upstream (`fake_llm`, from the workshop plugin)."""

from collections.abc import AsyncIterator

import httpx
import pytest
from workshop.fake_llm import API_KEY, FakeLLM
from workshop.testing import app_client

from app.main import create_app
from app.settings import Settings


@pytest.fixture
def settings(fake_llm: FakeLLM) -> Settings:
    return Settings(llm_base_url=fake_llm.base_url, llm_api_key=API_KEY, llm_timeout_seconds=2)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(create_app(settings)) as client:
        yield client
