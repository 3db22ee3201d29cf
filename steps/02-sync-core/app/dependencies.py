"""What the endpoints are handed: the resources the lifespan opened, one `Annotated` alias each.

The lifespan (in `app/main.py`) yields an `AppState`; Starlette hands a copy of it to every request
as its state. Reading it through the TypedDict keeps the types: an endpoint asking for `DbEngine` gets
an `Engine`, checked by mypy, with no `app.state` attribute of type `Any` in between.
"""

from collections.abc import Iterator
from typing import Annotated, TypedDict, cast

from fastapi import Depends, Request
from sqlalchemy import Connection, Engine

from app.llm import GeminiClient
from app.settings import Settings


class AppState(TypedDict):
    settings: Settings
    llm: GeminiClient
    engine: Engine


def app_state(request: Request) -> AppState:
    return cast(AppState, request.scope["state"])  # what the lifespan yielded, as it yielded it


def get_llm(request: Request) -> GeminiClient:
    return app_state(request)["llm"]


def get_engine(request: Request) -> Engine:
    return app_state(request)["engine"]


def get_connection(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    """A pooled connection for the length of one request; back to the pool afterwards."""
    with engine.connect() as conn:
        yield conn


LLM = Annotated[GeminiClient, Depends(get_llm)]
DbEngine = Annotated[Engine, Depends(get_engine)]
DbConnection = Annotated[Connection, Depends(get_connection)]
