"""What the endpoints are handed: the resources the lifespan opened, one `Annotated` alias each.

The lifespan (in `app/main.py`) yields an `AppState`; Starlette hands a copy of it to every request
as its state. Reading it through the TypedDict keeps the types: an endpoint asking for `DbEngine` gets
an `AsyncEngine`, checked by mypy, with no `app.state` attribute of type `Any` in between.
"""

from typing import Annotated, TypedDict, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from app.llm import GeminiClient
from app.settings import Settings


class AppState(TypedDict):
    settings: Settings
    llm: GeminiClient
    engine: AsyncEngine


def app_state(request: Request) -> AppState:
    return cast(AppState, request.scope["state"])  # what the lifespan yielded, as it yielded it


# `async def`, though they never await: FastAPI runs a plain `def` dependency in its threadpool, a thread
# hop on every request for nothing.
async def get_llm(request: Request) -> GeminiClient:
    return app_state(request)["llm"]


async def get_engine(request: Request) -> AsyncEngine:
    return app_state(request)["engine"]


LLM = Annotated[GeminiClient, Depends(get_llm)]
DbEngine = Annotated[AsyncEngine, Depends(get_engine)]
