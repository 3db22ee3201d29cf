"""Rows for tests to start from: a valid row of a table, with only what the test cares about changed."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert

from app.db.tables import usage_records

NOON = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def usage_record(**changes: Any) -> dict[str, Any]:
    """A call of gemini-2.5-flash answered 200 at NOON: 10 + 5 tokens, 100 ms."""
    return {
        "created_at": NOON,
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
    """One day's totals of gemini-2.5-flash: 3 calls, 30 + 15 tokens, on 2026-01-15."""
    return {
        "day": NOON.date(),
        "model": "gemini-2.5-flash",
        "calls": 3,
        "prompt_tokens": 30,
        "completion_tokens": 15,
        "total_tokens": 45,
    } | changes
