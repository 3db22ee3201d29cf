"""What is special about this step's tests; the kit's plugin does the rest.

The plugin gives each test a fresh database (`database_url`), the fake LLM upstream (`fake_llm`), the
app running in-process (`test_app`, `client`) and a connection to look at rows with (`db`). This file
says how this step builds its settings and its app (the app creates its own tables at startup).
"""

import pytest
from fastapi import FastAPI
from workshop.fake_llm import API_KEY, FakeLLM

from app.main import create_app
from app.settings import Settings


@pytest.fixture
def settings(fake_llm: FakeLLM, database_url: str) -> Settings:
    return Settings(
        llm_base_url=fake_llm.base_url,
        llm_api_key=API_KEY,
        llm_timeout_seconds=2,
        database_url=database_url.replace("postgresql://", "postgresql+psycopg://", 1),
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)
