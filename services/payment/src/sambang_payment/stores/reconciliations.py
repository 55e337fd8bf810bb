"""Uploaded settlement files: one per partner, office and file hash, with the result it gave."""

from __future__ import annotations

import datetime as dt

from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select, update

from ..domain.settlement import ReconciliationResult
from ..models import RECONCILIATION


async def claim_file(
    uow: UnitOfWork, *, partner_id: str, office: str, sha256: str, uploaded_by: str, now: dt.datetime
) -> int | None:
    """Claim a file for reconciliation; None if the same bytes were reconciled before.

    A concurrent upload of the same bytes waits for the first to commit, then claims nothing.
    """
    conn = await uow.session.connection()
    values = {
        "partner_id": partner_id,
        "office": office,
        "file_sha256": sha256,
        "uploaded_at": now,
        "uploaded_by": uploaded_by,
        "result": {},
    }
    claim = await upsert(
        conn, RECONCILIATION, values, key=("partner_id", "office", "file_sha256"), returning=(RECONCILIATION.c.id,)
    )
    claimed = claim.first()
    return None if claimed is None else int(claimed[0])


async def was_processed(uow: UnitOfWork, *, partner_id: str, office: str, sha256: str) -> bool:
    """Whether these bytes were reconciled (applied) for this partner and office before."""
    conn = await uow.session.connection()
    found = await conn.execute(
        select(RECONCILIATION.c.id).where(
            RECONCILIATION.c.partner_id == partner_id,
            RECONCILIATION.c.office == office,
            RECONCILIATION.c.file_sha256 == sha256,
        )
    )
    return found.first() is not None


async def earlier_result(uow: UnitOfWork, *, partner_id: str, office: str, sha256: str) -> ReconciliationResult:
    """The result the first upload of these bytes gave."""
    conn = await uow.session.connection()
    document = (
        await conn.execute(
            select(RECONCILIATION.c.result).where(
                RECONCILIATION.c.partner_id == partner_id,
                RECONCILIATION.c.office == office,
                RECONCILIATION.c.file_sha256 == sha256,
            )
        )
    ).scalar_one()
    return ReconciliationResult.model_validate(document)


async def keep_result(uow: UnitOfWork, result: ReconciliationResult) -> None:
    """Keep what a reconciliation found, to answer the same file again."""
    conn = await uow.session.connection()
    await conn.execute(
        update(RECONCILIATION)
        .where(RECONCILIATION.c.id == result.reconciliation_id)
        .values(result=result.model_dump(mode="json"))
    )
