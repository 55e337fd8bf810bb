"""Audit trail: ``audit_entry``, append-only (hold decisions, retries, reads of hold data).

Who (the token's sub, office and roles), what, when, on which receipt. A new table only, so it applies
alike on PostgreSQL and SQLite; on PostgreSQL a trigger refuses UPDATE and DELETE on it.

Revision ID: 5b1e9c3a7d20
Revises: cf740cd91890
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b1e9c3a7d20"
down_revision: str | None = "cf740cd91890"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("officer", sa.String(length=200), nullable=False),
        sa.Column("office", sa.String(length=3), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("receipt_number", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_receipt_number"), ["receipt_number"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION gateway_audit_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_entry is append-only (% refused)', TG_OP; END; "
            "$$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION gateway_audit_append_only()"
        )


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS gateway_audit_append_only()")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_receipt_number"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
    op.drop_table("audit_entry")
