"""The app's Core statements carry over from psycopg to asyncpg unchanged: one statement, built by the
app's own `_filtered()`, gives the same rows on both drivers.

What the drivers themselves do differently (asyncpg's strict parameter types, and how it reports a
database that is not there) are facts about the libraries, not about this app: they are asserted in
`notebooks/asyncpg-lab.ipynb`.
"""

import httpx
from sqlalchemy import Connection, insert, select

from app.db.engine import create_db_engine
from app.db.tables import usage_records
from app.repositories.usage_records import UsageFilter, _filtered, _filters_set, _values  # /v1/usage's WHERE
from app.settings import Settings

from .factories import usage_record
from .signing_in import ENGINES


async def test_the_usage_filter_runs_unchanged_on_psycopg_and_asyncpg(
    settings: Settings, ada: httpx.AsyncClient, db: Connection
) -> None:
    db.execute(insert(usage_records), [usage_record(status_code=200), usage_record(status_code=502)])
    db.commit()
    where = UsageFilter(organization_id=ENGINES, model="gemini-2.5-flash", status_code=200)
    statement = _filtered(select(usage_records.c.model, usage_records.c.status_code), _filters_set(where))
    engine = create_db_engine(settings.database_url)  # asyncpg, to the same database as `db`

    from_psycopg = db.execute(statement, _values(where)).all()
    async with engine.connect() as conn:
        from_asyncpg = (await conn.execute(statement, _values(where))).all()
    await engine.dispose()

    assert from_psycopg == from_asyncpg == [("gemini-2.5-flash", 200)]
    # One statement object, compiled by each dialect to its driver's placeholders. The casts come from
    # the column types, so the server need not guess a parameter's type; the values must still be of
    # the columns' Python types (from the API's `UsageQuery` in the app), as section 6 of the notebook shows.
    for_psycopg = str(statement.compile(dialect=db.dialect))
    for_asyncpg = str(statement.compile(dialect=engine.dialect))
    assert "usage_records.model = %(model)s::VARCHAR" in for_psycopg
    assert "usage_records.model = $2::VARCHAR" in for_asyncpg  # $1: the organization
