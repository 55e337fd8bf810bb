"""Drop the outbox's NOTIFY trigger: the relay is woken in-process and polls.

The trigger made every commit that wrote an event take PostgreSQL's cluster-wide notification lock,
whether or not a relay listened (bench/booking.py: a quarter fewer bookings a second with it).

Revision ID: 7b2e4a9c1d58
Revises: 86438cfd8ab1
Create Date: 2026-11-29 09:20:00
"""

from collections.abc import Sequence

from sambang_runtime.migrations import create_outbox_notify_trigger, drop_outbox_notify_trigger

revision: str = "7b2e4a9c1d58"
down_revision: str | None = "86438cfd8ab1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    drop_outbox_notify_trigger()


def downgrade() -> None:
    """Revert this revision."""
    create_outbox_notify_trigger()
