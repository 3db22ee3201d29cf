"""usage by user and organization: every call since step 09 has both, and an id of its own

`usage_records` gains `user_id` and `organization_id`, and `call_id`, which makes recording a call
twice impossible. `daily_usage` is now kept per organization and user too.

What happens to the rows from before step 09, when calls were anonymous:
- `usage_records` keeps them, with no user and no organization (NULL): they are the history of
  calls really made, and made up owners would be worse than none. No report of any user or
  organization shows them, and no budget counts them; they stay for the operator, in SQL. The CHECK
  that every row has both is added NOT VALID: PostgreSQL holds every new row to it, not the old ones.
  Each old row gets a `call_id` of its own (`gen_random_uuid()`), as the column's default.
- `daily_usage` drops them: a day's totals are sums of `usage_records`, and an anonymous sum belongs
  to no organization's day. The downgrade sums `usage_records` again, old rows included.

Written by hand: autogenerate sees the columns, but not what to do with the rows already there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 21:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "usage_records",
        sa.Column("call_id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
    )
    op.create_unique_constraint(op.f("uq_usage_records_call_id"), "usage_records", ["call_id"])
    op.add_column("usage_records", sa.Column("user_id", sa.Text(), nullable=True))
    op.add_column("usage_records", sa.Column("organization_id", sa.Text(), nullable=True))
    op.execute(  # NOT VALID: checked for every row written from now on, not for the rows already there
        "ALTER TABLE usage_records ADD CONSTRAINT ck_usage_records_attributed"
        " CHECK (user_id IS NOT NULL AND organization_id IS NOT NULL) NOT VALID"
    )
    op.create_index(
        "ix_usage_records_organization_id_id", "usage_records", ["organization_id", "id"], unique=False
    )
    op.create_index(
        "ix_usage_records_organization_id_user_id_id",
        "usage_records",
        ["organization_id", "user_id", "id"],
        unique=False,
    )

    op.execute("DELETE FROM daily_usage")  # anonymous sums: see above
    op.drop_constraint(op.f("pk_daily_usage"), "daily_usage", type_="primary")
    op.add_column("daily_usage", sa.Column("organization_id", sa.Text(), nullable=False))
    op.add_column("daily_usage", sa.Column("user_id", sa.Text(), nullable=False))
    op.create_primary_key(
        op.f("pk_daily_usage"), "daily_usage", ["day", "organization_id", "user_id", "model"]
    )


def downgrade() -> None:
    op.drop_constraint(op.f("pk_daily_usage"), "daily_usage", type_="primary")
    op.drop_column("daily_usage", "user_id")
    op.drop_column("daily_usage", "organization_id")
    op.execute("DELETE FROM daily_usage")
    op.execute(  # each day's totals again, summed from every record, as they were before step 09
        """
        INSERT INTO daily_usage (day, model, calls, prompt_tokens, completion_tokens, total_tokens)
        SELECT (created_at AT TIME ZONE 'UTC')::date, model, count(*),
               sum(prompt_tokens), sum(completion_tokens), sum(total_tokens)
        FROM usage_records GROUP BY 1, 2
        """
    )
    op.create_primary_key(op.f("pk_daily_usage"), "daily_usage", ["day", "model"])

    op.drop_index("ix_usage_records_organization_id_user_id_id", table_name="usage_records")
    op.drop_index("ix_usage_records_organization_id_id", table_name="usage_records")
    op.drop_constraint(op.f("ck_usage_records_attributed"), "usage_records", type_="check")
    op.drop_column("usage_records", "organization_id")
    op.drop_column("usage_records", "user_id")
    op.drop_constraint(op.f("uq_usage_records_call_id"), "usage_records", type_="unique")
    op.drop_column("usage_records", "call_id")
