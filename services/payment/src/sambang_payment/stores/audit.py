"""The audit trail of national admin and supervisor actions (and their approvers), written in the
transaction of the action."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import TypeAlias

from sambang_runtime.approvals import ApprovalClaims
from sambang_runtime.auth import Principal
from sambang_runtime.uow import UnitOfWork

from ..models import AUDIT

#: Counts, dates and ids that say what an action touched (never a secret or personal data).
AuditDetail: TypeAlias = Mapping[str, str | int | bool]


class AuditAction(enum.StrEnum):
    """What an admin or supervisor did."""

    FEE_SCHEDULE_LOADED = "FEE_SCHEDULE_LOADED"
    PARTNER_REGISTERED = "PARTNER_REGISTERED"
    PARTNER_KEY_ROTATED = "PARTNER_KEY_ROTATED"
    PARTNER_KEY_REVOKED = "PARTNER_KEY_REVOKED"
    SETTLEMENT_UPLOADED = "SETTLEMENT_UPLOADED"
    #: A settlement file read without an approval: what it would do, nothing applied.
    SETTLEMENT_PREVIEWED = "SETTLEMENT_PREVIEWED"


async def add_audit(
    uow: UnitOfWork,
    by: Principal,
    action: AuditAction,
    *,
    at: dt.datetime,
    partner_id: str | None = None,
    file_sha256: str | None = None,
    detail: AuditDetail | None = None,
    approval: ApprovalClaims | None = None,
) -> None:
    """One audit row of what ``by`` did, from their office, and who approved it (``approval``: the
    second person, four eyes). Append-only: nothing updates or deletes these rows."""
    conn = await uow.session.connection()
    await conn.execute(
        AUDIT.insert().values(
            at=at,
            officer=by.sub[:200],
            office=by.office,
            action=action.value,
            partner_id=partner_id,
            file_sha256=file_sha256,
            detail=dict(detail) if detail else None,
            approved_by=approval.approver[:200] if approval else None,
            approver_office=approval.office[:3] if approval else None,
            approval_id=approval.jti if approval else None,
        )
    )
