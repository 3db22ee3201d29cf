"""The SQL about who belongs to which organization. Like every repository: statements, never transactions."""

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import memberships


async def upsert(conn: AsyncConnection, *, user_id: str, organization_id: str, role: str) -> None:
    """The membership with the role WorkOS gives it now. Its user and organization must exist already
    (foreign keys): the service writes them first, in the same transaction."""
    new = insert(memberships).values(user_id=user_id, organization_id=organization_id, role=role)
    c = memberships.c
    await conn.execute(
        new.on_conflict_do_update(
            index_elements=[c.user_id, c.organization_id], set_={"role": new.excluded.role}
        )
    )
