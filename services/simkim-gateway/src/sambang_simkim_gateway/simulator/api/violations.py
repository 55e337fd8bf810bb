"""``/simkim/v1/violations``: violations an officer flagged, reported by the office at once."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from sambang_runtime.entropy import uuid4
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep

from ...adapters.protocol import ViolationReceipt, ViolationReport
from ..stores import violations
from .deps import ContextDep, Faulty

router = APIRouter(prefix="/simkim/v1/violations", tags=["simkim"], dependencies=[Faulty])


@router.post("", response_model=ViolationReceipt, status_code=status.HTTP_201_CREATED)
async def receive_violation(
    body: ViolationReport,
    response: Response,
    uow: UowDep,
    ctx: ContextDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ViolationReceipt:
    """Record a violation once per violation id (a repeat is counted and answered the same)."""
    if idempotency_key != body.violation_id:
        raise DomainError("idempotency_key_required")
    recorded = await violations.receive(
        uow,
        violations.ReceivedReport(
            violation_id=body.violation_id,
            receipt_number=body.receipt_number,
            office=body.office,
            category=body.category,
            detail_enc=uow.cipher.encrypt(body.detail, context=f"simkim.violation:{body.violation_id}"),
            officer_id=body.officer_id,
            flagged_at=body.flagged_at,
        ),
        reference=f"VIO{uuid4().hex[:13].upper()}",
    )
    await uow.commit()
    if recorded.received_count > 1:
        response.status_code = status.HTTP_200_OK
    await ctx.answer_late()
    return ViolationReceipt(
        violation_id=recorded.violation_id, reference=recorded.reference, received_at=recorded.received_at
    )
