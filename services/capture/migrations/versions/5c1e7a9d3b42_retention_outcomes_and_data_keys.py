"""Retention after every final outcome, and crypto-shredding (#16).

The application keeps its first final outcome (collected, rejected, denied, cancelled, no-show, failed)
and when it happened; ``biometric_key`` holds each application's data key, wrapped under the PII key;
two indexes serve the daily purge report.

Rows written before this revision stay readable: their images are still sealed under the PII key
(``biometric_item.key_id`` names it) until ``make rotate-data-key`` moves them under a data key.

Revision ID: 5c1e7a9d3b42
Revises: abee0c66888f
Create Date: 2026-12-07 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e7a9d3b42"
down_revision: str | None = "abee0c66888f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("application") as batch:
        batch.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_application_office_purge_due_at", "application", ["office", "purge_due_at"], unique=False)
    op.create_table(
        "biometric_key",
        sa.Column("receipt_number", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_number"],
            ["application.receipt_number"],
            name=op.f("fk_biometric_key_receipt_number_application"),
        ),
        sa.PrimaryKeyConstraint("receipt_number", name=op.f("pk_biometric_key")),
    )
    op.create_index("ix_biometric_key_key_id", "biometric_key", ["key_id"], unique=False)
    op.create_index("ix_audit_entry_office_action_at", "audit_entry", ["office", "action", "at"], unique=False)


def downgrade() -> None:
    """Revert this revision (the data keys go with their table: images sealed with them become unreadable)."""
    op.drop_index("ix_audit_entry_office_action_at", table_name="audit_entry")
    op.drop_index("ix_biometric_key_key_id", table_name="biometric_key")
    op.drop_table("biometric_key")
    op.drop_index("ix_application_office_purge_due_at", table_name="application")
    with op.batch_alter_table("application") as batch:
        batch.drop_column("outcome_at")
        batch.drop_column("outcome")
