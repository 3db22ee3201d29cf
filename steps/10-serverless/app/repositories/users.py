"""The SQL about users. Like every repository: statements, never transactions."""

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import users


async def upsert(
    conn: AsyncConnection, *, id: str, email: str, first_name: str | None, last_name: str | None
) -> None:
    """The user as WorkOS describes them now: inserted at their first sign-in, brought up to date after.

    `INSERT … ON CONFLICT DO UPDATE` is one atomic statement: two first sign-ins of the same person at
    the same moment make one row, and the second waits for the first rather than failing.
    """
    new = insert(users).values(id=id, email=email, first_name=first_name, last_name=last_name)
    await conn.execute(
        new.on_conflict_do_update(
            index_elements=[users.c.id],
            set_={
                "email": new.excluded.email,
                "first_name": new.excluded.first_name,
                "last_name": new.excluded.last_name,
                "last_sign_in_at": func.now(),
            },
        )
    )
