"""Contracts v1.1: validity years and express on the application; near-turn notices.

validity_years stays NULL on applications booked before the applicant could choose (it cannot be
worked out here without decrypting birth dates). A near-turn notice is kept per visit and stage,
so queue.ticket.near_turn goes out once.

Revision ID: ed32509ef517
Revises: 3c5d0f2a9b17
Create Date: 2026-12-01 15:21:17.329326
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ed32509ef517"
down_revision: str | None = "3c5d0f2a9b17"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "near_turn_notice",
        sa.Column("visit_id", sa.String(length=32), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("visit_id", "stage", name=op.f("pk_near_turn_notice")),
    )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("validity_years", sa.Integer(), nullable=True))
        # sa.false(): FALSE on PostgreSQL, 0 on SQLite (autogenerate wrote '0', which PostgreSQL refuses).
        batch_op.add_column(sa.Column("express", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_column("express")
        batch_op.drop_column("validity_years")
    op.drop_table("near_turn_notice")
