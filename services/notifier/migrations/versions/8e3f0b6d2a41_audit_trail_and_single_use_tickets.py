"""Audit trail and single-use stream tickets: ``audit_entry`` (append-only: template edits, reads of the
delivery log) and ``stream_ticket_use`` (a ticket opens one stream once).

New tables only, so it applies alike on PostgreSQL and SQLite; on PostgreSQL a trigger refuses UPDATE
and DELETE on ``audit_entry``.

Revision ID: 8e3f0b6d2a41
Revises: dc7a0ce027dc
Create Date: 2026-12-07 22:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8e3f0b6d2a41"
down_revision: str | None = "dc7a0ce027dc"
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
        sa.Column("template", sa.String(length=50), nullable=True),
        sa.Column("language", sa.String(length=2), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entry_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entry_receipt_number"), ["receipt_number"], unique=False)
    op.create_table(
        "stream_ticket_use",
        sa.Column("ticket_id", sa.String(length=36), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_stream_ticket_use")),
    )
    with op.batch_alter_table("stream_ticket_use", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stream_ticket_use_expires_at"), ["expires_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION notifier_audit_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_entry is append-only (% refused)', TG_OP; END; "
            "$$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry "
            "FOR EACH ROW EXECUTE FUNCTION notifier_audit_append_only()"
        )


def downgrade() -> None:
    """Revert this revision."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
        op.execute("DROP FUNCTION IF EXISTS notifier_audit_append_only()")
    with op.batch_alter_table("stream_ticket_use", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stream_ticket_use_expires_at"))
    op.drop_table("stream_ticket_use")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entry_receipt_number"))
        batch_op.drop_index(batch_op.f("ix_audit_entry_at"))
    op.drop_table("audit_entry")
