"""The gateway's audit trail: who decided a hold, retried a submission or read hold data, and when.

Written in the transaction of the action (a decision and its audit row commit together or not at all);
append-only: nothing here updates or deletes, and on PostgreSQL a trigger refuses both.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from sambang_runtime.auth import Principal
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select

from ..models import audit_entry

#: Codes, counts and receipt numbers that say what an action touched (never personal data).
AuditDetail: TypeAlias = Mapping[str, str | int | bool | Sequence[str] | None]


class AuditAction(enum.StrEnum):
    """What an officer did."""

    HOLD_DECIDED = "HOLD_DECIDED"
    SUBMISSION_RETRIED = "SUBMISSION_RETRIED"
    #: The open holds of an office listed (cekal and duplicate-passport flags are sensitive).
    HOLDS_LISTED = "HOLDS_LISTED"
    #: A submission read with its hold shown.
    HOLD_VIEWED = "HOLD_VIEWED"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the trail."""

    at: dt.datetime
    officer: str
    office: str
    roles: tuple[str, ...]
    action: AuditAction
    receipt_number: str | None
    detail: Mapping[str, object]


async def add(
    uow: UnitOfWork,
    by: Principal,
    action: AuditAction,
    *,
    receipt_number: str | None = None,
    detail: AuditDetail | None = None,
) -> None:
    """Append one row: ``by`` did ``action`` now (the unit of work's clock), in this transaction."""
    conn = await uow.session.connection()
    await conn.execute(
        audit_entry.insert().values(
            at=uow.now(),
            officer=by.sub[:200],
            office=by.office[:3],
            roles=",".join(sorted(by.roles))[:200],
            action=action.value,
            receipt_number=receipt_number,
            detail={k: (list(v) if isinstance(v, list | tuple) else v) for k, v in (detail or {}).items()},
        )
    )


async def of_receipt(uow: UnitOfWork, receipt_number: str) -> list[AuditEntry]:
    """The trail of one receipt, oldest first."""
    conn = await uow.session.connection()
    rows = await conn.execute(
        select(audit_entry).where(audit_entry.c.receipt_number == receipt_number).order_by(audit_entry.c.id)
    )
    return [
        AuditEntry(
            at=r.at,
            officer=r.officer,
            office=r.office,
            roles=tuple(r.roles.split(",")) if r.roles else (),
            action=AuditAction(r.action),
            receipt_number=r.receipt_number,
            detail=dict(r.detail or {}),
        )
        for r in rows
    ]
