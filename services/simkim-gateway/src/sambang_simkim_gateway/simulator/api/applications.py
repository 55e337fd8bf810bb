"""``/simkim/v1/applications``: SIMKIM receives applications (idempotent on the receipt number), reports their
status and issuance, and takes the head of office's decision on a hold."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response, status
from sambang_contracts.values import Text
from sambang_runtime.entropy import uuid4
from sambang_runtime.errors import DomainError
from sambang_runtime.service import UowDep

from ...adapters.protocol import (
    ApplicationRecord,
    ApplicationStatus,
    ApplicationSubmission,
    DecisionRequest,
    Hold,
    Passport,
)
from ..domain import decision_outcome, issue_due, passport_expiry, passport_number, screen
from ..stores import applications, registers
from ..stores.applications import Application
from .deps import ContextDep, Faulty

#: SIMKIM's reference of an application in a path.
ReferencePath = Annotated[Text, Path(min_length=1, max_length=64)]

router = APIRouter(prefix="/simkim/v1/applications", tags=["simkim"], dependencies=[Faulty])


def _record(app: Application) -> ApplicationRecord:
    hold = Hold(kind=app.hold_kind, reference=app.hold_reference) if app.hold_kind and app.hold_reference else None
    passport = None
    if app.passport_number and app.issued_at and app.expires_at:
        passport = Passport(number=app.passport_number, issued_at=app.issued_at, expires_at=app.expires_at)
    return ApplicationRecord(
        reference=app.reference,
        receipt_number=app.receipt_number,
        status=app.status,
        hold=hold,
        passport=passport,
        received_at=app.received_at,
    )


@router.post("", response_model=ApplicationRecord, status_code=status.HTTP_201_CREATED)
async def receive_application(
    body: ApplicationSubmission,
    response: Response,
    uow: UowDep,
    ctx: ContextDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ApplicationRecord:
    """Receive an application: screened against the watch list and active passports the first time; a repeat
    (same receipt number) is counted and answered as before (200)."""
    if idempotency_key != body.receipt_number:
        raise DomainError("idempotency_key_required")
    for item in body.biometrics:
        if hashlib.sha256(item.data).hexdigest() != item.sha256:
            raise DomainError("biometric_hash_mismatch", kind=item.kind.value, position=item.position)
    app = await applications.receive_again(uow, body.receipt_number)
    if app is None:
        nik_index = uow.cipher.blind_index(body.applicant.nik, purpose="nik")
        hold = screen(
            on_watchlist=await registers.on_watchlist(uow, nik_index),
            has_active_passport=await registers.has_active_passport(uow, nik_index),
            service_type=body.service_type,
        )
        biodata = body.applicant.model_dump_json()
        app = await applications.create(
            uow,
            applications.NewApplication(
                reference=f"SKM{uuid4().hex[:13].upper()}",
                receipt_number=body.receipt_number,
                office=body.office,
                service_type=body.service_type.value,
                passport_type=body.passport_type.value,
                validity_years=body.validity_years,
                nik_index=nik_index,
                biodata_enc=uow.cipher.encrypt(biodata, context=f"simkim.biodata:{body.receipt_number}"),
                biometric_sha256=[i.sha256 for i in body.biometrics],
                status=(ApplicationStatus.HELD if hold else ApplicationStatus.ACCEPTED).value,
                hold_kind=hold.value if hold else None,
                hold_reference=f"HLD{uuid4().hex[:13].upper()}" if hold else None,
                issue_after=None if hold else ctx.issue_after(uow.now()),
            ),
        )
        if app is None:  # a concurrent repeat created it first
            app = await applications.receive_again(uow, body.receipt_number)
            assert app is not None
            response.status_code = status.HTTP_200_OK
    else:
        response.status_code = status.HTTP_200_OK
    await uow.commit()
    await ctx.answer_late()
    return _record(app)


@router.get("/{reference}", response_model=ApplicationRecord)
async def read_application(reference: ReferencePath, uow: UowDep, ctx: ContextDep) -> ApplicationRecord:
    """An application's status; an accepted one is issued once its issuance delay has passed."""
    app = await applications.by_reference(uow, reference)
    if app is None:
        raise DomainError("application_not_found")
    now = uow.now()
    if issue_due(app.status, app.issue_after, now):
        await applications.issue(
            uow,
            app,
            passport_number=passport_number(app.passport_type, app.id),
            issued_at=now,
            expires_at=passport_expiry(now, app.validity_years),
        )
        await uow.commit()
        app = await applications.by_reference(uow, reference)
        assert app is not None
    await ctx.answer_late()
    return _record(app)


@router.post("/{reference}/decision", response_model=ApplicationRecord)
async def decide_hold(
    reference: ReferencePath, body: DecisionRequest, uow: UowDep, ctx: ContextDep
) -> ApplicationRecord:
    """The head of office's decision on a held application: RELEASE goes on to issuance, DENY ends it."""
    app = await applications.by_reference(uow, reference)
    if app is None:
        raise DomainError("application_not_found")
    outcome = decision_outcome(app.status, app.decision, body.decision)
    if outcome is not None:
        issue_after = ctx.issue_after(uow.now()) if outcome is ApplicationStatus.ACCEPTED else None
        if not await applications.decide(
            uow,
            app,
            decision=body.decision,
            reason=body.reason,
            decided_by=body.decided_by,
            status=outcome,
            issue_after=issue_after,
        ):
            raise DomainError("decision_conflict")
        await uow.commit()
        app = await applications.by_reference(uow, reference)
        assert app is not None
    await ctx.answer_late()
    return _record(app)
