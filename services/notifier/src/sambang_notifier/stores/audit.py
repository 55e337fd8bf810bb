"""The notifier's audit trail: template edits (who, when, which template, hashes of the old and new text)
and reads of a receipt's delivery log (who, which receipt, when).

Written in the transaction of the action; append-only: nothing here updates or deletes, and on
PostgreSQL a trigger refuses both.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TypeAlias

from sambang_runtime.auth import Principal
from sambang_runtime.uow import UnitOfWork

from ..models import audit_entry

#: Hashes and counts (never personal data, never the template text itself).
AuditDetail: TypeAlias = Mapping[str, str | int | None]


class AuditAction(enum.StrEnum):
    """What an officer did."""

    TEMPLATE_EDITED = "TEMPLATE_EDITED"
    DELIVERY_LOG_READ = "DELIVERY_LOG_READ"


async def add(
    uow: UnitOfWork,
    by: Principal,
    action: AuditAction,
    *,
    receipt_number: str | None = None,
    template: str | None = None,
    language: str | None = None,
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
            template=template,
            language=language,
            detail=dict(detail) if detail else None,
        )
    )
