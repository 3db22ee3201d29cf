"""What changes with asyncpg, as facts run against the real database: psycopg next to asyncpg.

asyncpg has the server prepare each statement, takes each parameter's type from the server's answer,
and accepts only the matching Python type: no int for text, no str for int. psycopg sends the value
as it is (a str untyped) and lets PostgreSQL cast it. In Core statements SQLAlchemy gives each
parameter its column's type, so the server never has to guess it; the Python value must still be of
that type. In hand-written `text()` SQL the server works out each parameter's type from the SQL
around it, and the strictness shows often. asyncpg also reports an unavailable database differently,
which is why `app/errors.py` changed.
"""

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import Connection, create_engine, insert, select, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection
from workshop import services

from app.db.engine import create_db_engine
from app.db.tables import usage_records
from app.db.usage import _filtered  # the WHERE clauses GET /v1/usage builds
from app.schemas import UsageQuery
from app.settings import Settings


# Facts about drivers need no tables: these connect to the kit's server, not to a copy of the schema.
@pytest.fixture
async def asyncpg_conn() -> AsyncIterator[AsyncConnection]:
    """A connection from an engine made as the app makes its own: asyncpg."""
    engine = create_db_engine(services.with_driver(services.postgres_url(), "asyncpg"))
    async with engine.connect() as conn:
        yield conn
    await engine.dispose()


@pytest.fixture
def psycopg_conn() -> Iterator[Connection]:
    engine = create_engine(services.with_driver(services.postgres_url(), "psycopg"))
    with engine.connect() as conn:
        yield conn
    engine.dispose()


async def test_an_int_for_a_text_parameter_works_on_psycopg_and_fails_on_asyncpg(
    asyncpg_conn: AsyncConnection, psycopg_conn: Connection
) -> None:
    statement = text("SELECT CAST(:x AS text)")

    assert psycopg_conn.execute(statement, {"x": 1}).scalar() == "1"
    with pytest.raises(DBAPIError, match=r"expected str, got int"):
        await asyncpg_conn.execute(statement, {"x": 1})


async def test_a_str_for_an_int_parameter_works_on_psycopg_and_fails_on_asyncpg(
    asyncpg_conn: AsyncConnection, psycopg_conn: Connection
) -> None:
    statement = text("SELECT CAST(:x AS int)")

    assert psycopg_conn.execute(statement, {"x": "5"}).scalar() == 5
    with pytest.raises(DBAPIError, match=r"'str' object cannot be interpreted as an integer"):
        await asyncpg_conn.execute(statement, {"x": "5"})


async def test_a_parameter_with_no_type_in_the_sql_is_text_to_asyncpg(asyncpg_conn: AsyncConnection) -> None:
    with pytest.raises(DBAPIError, match=r"expected str, got int"):
        await asyncpg_conn.execute(text("SELECT :x"), {"x": 1})


async def test_a_double_colon_cast_glued_to_a_parameter_is_a_syntax_error_on_both_drivers(
    asyncpg_conn: AsyncConnection, psycopg_conn: Connection
) -> None:
    # Not asyncpg's doing: text() does not read `:a::int` as a parameter, so `:a` reaches the server.
    statement = text("SELECT :a::int")

    with pytest.raises(ProgrammingError, match=r'syntax error at or near ":"'):
        psycopg_conn.execute(statement, {"a": 5})
    with pytest.raises(ProgrammingError, match=r'syntax error at or near ":"'):
        await asyncpg_conn.execute(statement, {"a": 5})


async def test_cast_spelled_out_or_escaped_colons_work_on_both_drivers(
    asyncpg_conn: AsyncConnection, psycopg_conn: Connection
) -> None:
    for statement in (text("SELECT CAST(:a AS int)"), text(r"SELECT :a\:\:int")):
        assert psycopg_conn.execute(statement, {"a": 5}).scalar() == 5
        assert (await asyncpg_conn.execute(statement, {"a": 5})).scalar() == 5


async def test_one_core_select_runs_unchanged_on_psycopg_and_asyncpg(
    settings: Settings, client: httpx.AsyncClient, db: Connection
) -> None:
    row = {"model": "gemini-2.5-flash", "streamed": False, "prompt_tokens": 1, "completion_tokens": 2}
    row |= {"total_tokens": 3, "latency_ms": 10, "created_at": datetime(2026, 1, 15, 12, 0, tzinfo=UTC)}
    db.execute(insert(usage_records), [row | {"status_code": 200}, row | {"status_code": 502}])
    db.commit()
    query = UsageQuery(model="gemini-2.5-flash", status_code=200)
    statement = _filtered(select(usage_records.c.model, usage_records.c.status_code), query)
    engine = create_db_engine(settings.database_url)  # asyncpg, to the same database as `db`

    from_psycopg = db.execute(statement).all()
    async with engine.connect() as conn:
        from_asyncpg = (await conn.execute(statement)).all()
    await engine.dispose()

    assert from_psycopg == from_asyncpg == [("gemini-2.5-flash", 200)]
    # One statement object, compiled by each dialect to its driver's placeholders. The casts come from
    # the column types, so the server need not guess a parameter's type; the values here are of the
    # columns' Python types, too, and the next test shows what happens when one is not.
    for_psycopg = str(statement.compile(dialect=db.dialect))
    for_asyncpg = str(statement.compile(dialect=engine.dialect))
    assert "usage_records.model = %(model_1)s::VARCHAR" in for_psycopg
    assert "usage_records.model = $1::VARCHAR" in for_asyncpg


async def test_core_still_needs_values_of_the_column_type(
    settings: Settings, client: httpx.AsyncClient, db: Connection
) -> None:
    row = {"model": "gemini-2.5-flash", "streamed": False, "prompt_tokens": 1, "completion_tokens": 2}
    row |= {"total_tokens": 3, "latency_ms": 10, "status_code": "200"}  # a str, for a SMALLINT column
    statement = insert(usage_records).values(row)
    engine = create_db_engine(settings.database_url)  # asyncpg, to the same database as `db`

    db.execute(statement)  # psycopg sends "200" as it is, and the server casts it
    db.commit()
    async with engine.connect() as conn:
        with pytest.raises(DBAPIError, match=r"'200' \('str' object cannot be interpreted as an integer"):
            await conn.execute(statement)  # asyncpg refuses it before it is sent
    await engine.dispose()

    assert db.execute(select(usage_records.c.status_code)).scalars().all() == [200]


async def test_asyncpg_reports_a_missing_database_as_a_plain_dbapi_error() -> None:
    missing = services.with_database(services.postgres_url(), "no_such_database")
    psycopg_engine = create_engine(services.with_driver(missing, "psycopg"))
    asyncpg_engine = create_db_engine(services.with_driver(missing, "asyncpg"))

    with pytest.raises(OperationalError):
        psycopg_engine.connect()
    with pytest.raises(DBAPIError) as raised:
        await asyncpg_engine.connect()

    assert not isinstance(raised.value, OperationalError)
    assert getattr(raised.value.orig, "sqlstate", None) == "3D000"  # invalid_catalog_name


async def test_asyncpg_lets_a_refused_connection_escape_as_a_bare_oserror() -> None:
    nowhere = "{}://workshop@127.0.0.1:9/workshop"  # port 9 on loopback: nothing listens there
    psycopg_engine = create_engine(nowhere.format("postgresql+psycopg"))
    asyncpg_engine = create_db_engine(nowhere.format("postgresql+asyncpg"))

    with pytest.raises(OperationalError):
        psycopg_engine.connect()
    with pytest.raises(ConnectionRefusedError) as raised:  # an OSError
        await asyncpg_engine.connect()

    assert not isinstance(raised.value, SQLAlchemyError)
