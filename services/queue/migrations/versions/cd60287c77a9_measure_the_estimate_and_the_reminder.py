"""Measure the estimated wait and the reminder: the estimate given with a ticket (low and high minutes)
and when the reminder the day before reached the applicant. Nullable columns, added in place on
PostgreSQL and SQLite (no table copy); existing rows read as "no estimate" and "no reminder".

Revision ID: cd60287c77a9
Revises: f9287dbb2941
Create Date: 2026-12-07 18:58:29.399418
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "cd60287c77a9"
down_revision: str | None = "f9287dbb2941"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("estimate_low_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("estimate_high_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_column("estimate_high_minutes")
        batch_op.drop_column("estimate_low_minutes")
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_column("reminder_sent_at")
