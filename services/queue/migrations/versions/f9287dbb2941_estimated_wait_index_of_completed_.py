"""Estimated wait: an index of the completed services of a stage, newest first (the estimate reads the
last `estimate_window` of them).

Revision ID: f9287dbb2941
Revises: ed32509ef517
Create Date: 2026-12-07 18:57:13.752474
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f9287dbb2941"
down_revision: str | None = "ed32509ef517"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_index("ix_visit_stage_office_stage_ended", "visit_stage", ["office", "stage", "ended_at"])


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_visit_stage_office_stage_ended", table_name="visit_stage")
