"""Four eyes in the audit trail: who approved an action (``approved_by``, ``approver_office``) and the
approval's single-use id (``approval_id``, unique); on PostgreSQL a trigger keeps ``audit_entry``
append-only (UPDATE and DELETE refused).

New nullable columns only, so older rows stay as they are; applies alike on PostgreSQL and SQLite
(the trigger on PostgreSQL only).

Revision ID: 4d2f8e6a1c93
Revises: 60302fdf75c7
Create Date: 2026-12-07 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "4d2f8e6a1c93"
down_revision: str | None = "60302fdf75c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_by", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column("approver_office", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=True))
        batch_op.add_column(sa.Column("approval_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entry_approval_id"), ["approval_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION payment_audit_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_entry is append-only (% refused)', TG_OP; END; "
            "$$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION payment_audit_append_only()"
        )


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS payment_audit_append_only()")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_entry_approval_id"), type_="unique")
        batch_op.drop_column("approval_id")
        batch_op.drop_column("approver_office")
        batch_op.drop_column("approved_by")
