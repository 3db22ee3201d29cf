"""The SQL about organizations. Like every repository: statements, never transactions."""

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import organizations


async def upsert(conn: AsyncConnection, *, id: str, name: str) -> None:
    """The organization under its current name: inserted the first time one of its members signs in."""
    new = insert(organizations).values(id=id, name=name)
    await conn.execute(
        new.on_conflict_do_update(index_elements=[organizations.c.id], set_={"name": new.excluded.name})
    )
