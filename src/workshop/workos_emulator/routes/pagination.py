"""WorkOS' lists: the `limit`, `before`, `after` and `order` a list call takes, and the envelope it returns.

Cursors are ids, and ids are ULIDs, so sorting by id sorts by creation time, as WorkOS lists do.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Page(BaseModel):
    """WorkOS' list parameters: cursors are ids, and `after` continues in the listing's order."""

    limit: int = Field(default=10, ge=1, le=100)
    before: str | None = None
    after: str | None = None
    order: Literal["asc", "desc", "normal"] = "desc"


def one_page(objects: list[dict[str, Any]], page: Page) -> dict[str, Any]:
    """One page of `objects`, in WorkOS' list envelope. A null `after` tells the SDK to stop."""
    descending = page.order != "asc"  # "normal" is descending too; only its cursors differ at WorkOS
    ordered = sorted(objects, key=lambda o: str(o["id"]), reverse=descending)  # ids are ULIDs: by time
    ids = [str(o["id"]) for o in ordered]

    def ahead_of(an_id: str, cursor: str) -> bool:
        """Whether `an_id` comes before `cursor` in the listing (the cursor may be no id listed)."""
        return an_id > cursor if descending else an_id < cursor

    if page.after is not None:
        start = sum(1 for i in ids if ahead_of(i, page.after) or i == page.after)
        end = min(start + page.limit, len(ids))
    elif page.before is not None:
        end = sum(1 for i in ids if ahead_of(i, page.before))
        start = max(0, end - page.limit)
    else:
        start, end = 0, min(page.limit, len(ids))
    cursors = {
        "before": ids[start] if 0 < start < end else None,
        "after": ids[end - 1] if start < end < len(ids) else None,
    }
    return {"object": "list", "data": ordered[start:end], "list_metadata": cursors}
