"""Why services get `engine.connect()` and open their own transactions, proved under a real server.

With a `yield` dependency around `engine.begin()`, FastAPI runs the code after `yield` (the COMMIT)
after the response has been sent, unless the dependency is declared `scope="function"`. A COMMIT that
fails (here: a deferred foreign key) then reaches only the server's log, while the client holds a 200.
"""

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, func, select, table, text
from workshop.testing import serve_in_thread

from .transaction_demo import SCHEMA, create_demo_app


@pytest.fixture
def demo_url(database_url: str) -> Iterator[str]:
    """The demo app, under a real uvicorn, on the test's database with the demo tables added."""
    with create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1)).begin() as conn:
        for statement in SCHEMA:
            conn.execute(text(statement))
    with serve_in_thread(
        create_demo_app(database_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    ) as url:
        yield url


def stored_lines(database_url: str) -> int:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        count = conn.scalar(select(func.count()).select_from(table("order_lines"))) or 0
    engine.dispose()
    return count


def soon_in_log(caplog: pytest.LogCaptureFixture, words: str) -> bool:
    """Whether the server logs `words` within a few seconds (it runs in another thread)."""
    deadline = time.monotonic() + 5
    while words not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    return words in caplog.text


def test_a_request_scoped_transaction_tells_the_client_200_for_a_row_that_was_never_stored(
    demo_url: str, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = httpx.post(f"{demo_url}/request-scoped")

    assert response.status_code == 200
    assert response.json() == {"created": True}
    assert stored_lines(database_url) == 0  # the COMMIT failed after the response had gone out...
    assert soon_in_log(caplog, "violates foreign key constraint")  # ...and only the server's log knows


def test_scope_function_commits_before_the_response_so_the_client_gets_a_500(
    demo_url: str, database_url: str
) -> None:
    response = httpx.post(f"{demo_url}/function-scoped")

    assert response.status_code == 500
    assert stored_lines(database_url) == 0


def test_a_service_owned_transaction_commits_before_the_endpoint_returns(
    demo_url: str, database_url: str
) -> None:
    response = httpx.post(f"{demo_url}/service-owned")

    assert response.status_code == 500
    assert stored_lines(database_url) == 0
