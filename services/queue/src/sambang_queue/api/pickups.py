"""Passport pickup: the hand-over to the applicant or a proxy (the C ticket is taken at check-in)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sambang_contracts import CollectedBy, PassportCollected
from sambang_contracts.values import Nik, Text
from sambang_runtime.auth import ensure_office
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep

from ..domain.status import Status
from ..stores import applications, pickups, trail, visits
from .deps import CustomerCare
from .schemas import IdPath, Instant, Name, Strict

router = APIRouter(prefix="/v1/pickups", tags=["pickups"])


class ProxyIn(Strict):
    """Who collects for the applicant (with a letter of authority, surat kuasa)."""

    full_name: Name
    nik: Nik
    letter_reference: Text = Field(min_length=1, max_length=100)


class HandOverIn(Strict):
    """`POST /v1/pickups/{pickup_id}/hand-over`."""

    identity_checked: bool
    collected_by: CollectedBy
    proxy: ProxyIn | None = None


class HandedOver(BaseModel):
    """The passport is collected."""

    pickup_id: IdPath
    receipt_number: str
    collected_by: str
    collected_at: Instant
    status: str


@router.post("/{pickup_id}/hand-over")
async def hand_over(pickup_id: IdPath, body: HandOverIn, principal: CustomerCare, uow: UowDep) -> HandedOver:
    """Hand the passport over after checking identity and payment; records SELF or PROXY."""
    p = await pickups.find_locked(uow, pickup_id)
    if p is None:
        raise DomainError("pickup_not_found")
    ensure_office(principal, p.office)
    if p.handed_over_at is not None:
        raise DomainError("already_collected")
    if not body.identity_checked:
        raise DomainError("identity_not_checked")
    if body.collected_by == CollectedBy.PROXY and body.proxy is None:
        raise DomainError("proxy_required")
    row = await applications.find(uow, p.receipt_number, lock=True)
    assert row is not None
    if row.paid_at is None:
        raise DomainError("not_paid")
    if Status(row.status) != Status.ISSUED:
        raise DomainError("already_collected" if row.status == Status.COLLECTED.value else "not_ready")
    now = uow.now()
    proxy = body.proxy if body.collected_by == CollectedBy.PROXY else None
    await pickups.hand_over(
        uow,
        pickup_id,
        officer=principal.sub,
        collected_by=body.collected_by.value,
        now=now,
        proxy_name=proxy.full_name if proxy else None,
        proxy_nik=proxy.nik if proxy else None,
        proxy_letter_reference=proxy.letter_reference if proxy else None,
    )
    await applications.collect(uow, row.receipt_number, now)
    await visits.hand_over_done(uow, pickup_id, now)
    await trail.add_timeline(
        uow, row.receipt_number, "COLLECTED", now, detail={"collected_by": body.collected_by.value}
    )
    await trail.add_audit(
        uow,
        principal,
        "passport.handed_over",
        now,
        receipt_number=row.receipt_number,
        detail={"collected_by": body.collected_by.value, "letter_reference": proxy.letter_reference if proxy else None},
    )
    uow.emit(
        PassportCollected(
            receipt_number=row.receipt_number,
            passport_number=applications.passport_number_of(uow.cipher, row),
            collected_at=now,
            officer_id=principal.sub,
            collected_by=body.collected_by,
        )
    )
    await uow.commit()
    return HandedOver(
        pickup_id=pickup_id,
        receipt_number=row.receipt_number,
        collected_by=body.collected_by.value,
        collected_at=now,
        status=Status.COLLECTED.value,
    )
