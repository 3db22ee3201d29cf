"""Rows for tests to start from: a valid row of a table, with only what the test cares about changed."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert

from app.db.tables import usage_records
from app.session_store import StoredSession

from .signing_in import ADA_ID, ENGINES

NOON = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def usage_record(**changes: Any) -> dict[str, Any]:
    """A call of Ada's (for Analytical Engines) to gemini-2.5-flash, answered 200 at NOON: 10 + 5
    tokens, 100 ms."""
    return {
        "created_at": NOON,
        "user_id": ADA_ID,
        "organization_id": ENGINES,
        "model": "gemini-2.5-flash",
        "streamed": False,
        "status_code": 200,
        "prompt_tokens": 10,
        "completion_tokens": 5,
        "total_tokens": 15,
        "latency_ms": 100,
    } | changes


def add_usage_records(db: Connection, count: int, **changes: Any) -> None:
    """`count` usage records, one minute apart from NOON on, committed."""
    rows = [usage_record(created_at=NOON + timedelta(minutes=n)) | changes for n in range(count)]
    db.execute(insert(usage_records), rows)
    db.commit()


def daily_usage_row(**changes: Any) -> dict[str, Any]:
    """One day's totals of Ada's calls to gemini-2.5-flash: 3 calls, 30 + 15 tokens, on 2026-01-15."""
    return {
        "day": NOON.date(),
        "organization_id": ENGINES,
        "user_id": ADA_ID,
        "model": "gemini-2.5-flash",
        "calls": 3,
        "prompt_tokens": 30,
        "completion_tokens": 15,
        "total_tokens": 45,
    } | changes


def ada_session(**changes: Any) -> StoredSession:
    """Ada's session, signed in to Analytical Engines as its admin, as the session store reads it: for
    a test that calls a service directly, with no request."""
    fields: dict[str, Any] = {
        "handle": "0" * 64,
        "user_id": ADA_ID,
        "email": "ada@analytical-engines.example",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "organization_id": ENGINES,
        "role": "admin",
        "permissions": "",
        "workos_session_id": "session_01",
        "refresh_token": "",
        "access_expires_at": 0,
        "created_at": 0,
        "last_seen_at": 0,
        "ends_at": 0,
        "user_agent": "",
    }
    return StoredSession(**fields | changes)
