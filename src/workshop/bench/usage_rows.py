"""Usage records for a read benchmark: a few thousand rows, written straight into a step's database.

A read path measured on an empty table measures nothing of the database: the page is empty, the
totals sum no row. So before timing `GET /v1/usage`, the benchmark inserts rows with one SQL statement
(`generate_series`), after the step's migrations, then `ANALYZE`s the table so the planner knows its
size and picks the step's indexes.

From step 09 on, records belong to a user in an organization (WorkOS' ids), and a caller reads their
own. The rows are spread so that a filter on the wrong column would return a different answer:

- a quarter are the caller's, in the caller's organization: what the caller's page and totals read;
- an eighth are the caller's, in another organization (where they were once a member);
- the rest are other users', in the caller's organization and in the other one.

Before step 09 the table has no such columns, and every row is everyone's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Owner:
    user_id: str
    organization_id: str


OTHER_ORGANIZATION = "org_bench_elsewhere"
OTHER_USERS = ("user_bench_other_1", "user_bench_other_2")


@dataclass(frozen=True, kw_only=True)
class Seeded:
    rows: int
    """Rows inserted in all."""
    callers_rows: int
    """Of which the caller's own, in the caller's organization: what their totals sum."""
    owner_columns: tuple[str, ...]
    """The columns that say whose a row is (`organization_id`, `user_id`); empty before step 09."""


def owners(caller: Owner) -> list[Owner]:
    """Whose each row is, by `id % 8`: two eighths the caller's, one eighth the caller's elsewhere."""
    mine, elsewhere = caller, Owner(user_id=caller.user_id, organization_id=OTHER_ORGANIZATION)
    colleague = Owner(user_id=OTHER_USERS[0], organization_id=caller.organization_id)
    stranger = Owner(user_id=OTHER_USERS[1], organization_id=OTHER_ORGANIZATION)
    return [mine, mine, elsewhere, colleague, colleague, colleague, stranger, stranger]


def seed_usage_rows(database_url: str, caller: Owner, rows: int) -> Seeded:
    """Inserts `rows` usage records (a call every ten minutes, up to now) and analyzes the table.

    `database_url` is libpq's form (`postgresql://…`), of the step's own database.
    """
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        present = {
            str(row[0])
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'usage_records'"
            )
        }
        owner_columns = tuple(column for column in ("organization_id", "user_id") if column in present)
        spread = owners(caller)
        columns = [
            "created_at", "model", "streamed", "status_code",
            "prompt_tokens", "completion_tokens", "total_tokens", "latency_ms",
        ]  # fmt: skip
        # mod(), not %: a % in the statement would be read as one of psycopg's placeholders.
        values = [
            "now() - (%(rows)s - n) * interval '10 minutes'",
            "(ARRAY['gemini-2.5-flash', 'gemini-2.5-flash-lite'])[1 + mod(n, 2)]",
            "mod(n, 3) = 0",
            "CASE WHEN mod(n, 50) = 0 THEN 502 ELSE 200 END",
            "10 + mod(n, 40)",
            "20 + mod(n, 90)",
            "30 + mod(n, 40) + mod(n, 90)",
            "300 + mod(n, 700)",
        ]
        parameters: dict[str, object] = {"rows": rows}
        for column in owner_columns:
            columns.append(column)
            values.append(f"(%({column})s::text[])[1 + mod(n, 8)]")
            parameters[column] = [getattr(owner, column) for owner in spread]
        conn.execute(
            f"INSERT INTO usage_records ({', '.join(columns)})"
            f" SELECT {', '.join(values)} FROM generate_series(1, %(rows)s) AS n",
            parameters,
        )
        conn.execute("ANALYZE usage_records")
    callers_rows = sum(spread[n % 8] == caller for n in range(1, rows + 1)) if owner_columns else rows
    return Seeded(rows=rows, callers_rows=callers_rows, owner_columns=owner_columns)
