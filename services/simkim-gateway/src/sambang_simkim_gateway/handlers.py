"""Event handlers of the SIMKIM gateway: readiness facts, office rules, violations.

Each readiness handler locks the application's submission row, records its fact, and lets the domain say
whether the application just became ready; the one transaction that sees all four facts moves it to
SUBMITTING, so it is submitted once however the four events are ordered, duplicated or spread over replicas.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from sambang_contracts import CloudEvent
from sambang_contracts.events import (
    ApplicationRegistered,
    CaptureCompleted,
    InterviewCompleted,
    OfficeUpdated,
    PaymentConfirmed,
    ViolationFlagged,
)
from sambang_contracts.values import validity_years
from sambang_runtime.consumer import HandlerTable
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork

from .context import context_of
from .domain import (
    MANIFEST_REPLACEABLE,
    Readiness,
    SubmissionState,
    Work,
    state_after_fact,
    supersedes,
)
from .stores import offices, submissions, violations
from .stores.submissions import Submission, SubmissionChange

log = get_logger(__name__)

#: Nothing more is kept about an application in these states (its personal data is dropped).
_ENDED = frozenset({SubmissionState.DENIED, SubmissionState.ISSUED})


def biodata_context(receipt_number: str) -> str:
    """The cipher context of an application's biodata (binds the ciphertext to its receipt)."""
    return f"submission.biodata:{receipt_number}"


def violation_context(violation_id: str) -> str:
    """The cipher context of a violation's detail."""
    return f"violation.detail:{violation_id}"


async def _record_fact(uow: UnitOfWork, row: Submission, readiness: Readiness, fact: SubmissionChange) -> None:
    """Write a fact, and move the submission in the same statement if the fact completed (or ended) its
    readiness: SUBMITTING is due at once and the worker is woken once this commits."""
    new = state_after_fact(row.state, readiness)
    change = SubmissionChange(**fact)
    if new is SubmissionState.SUBMITTING and row.state is not new:
        now = uow.now()
        change.update({"state": new, "work": Work.SUBMIT, "next_attempt_at": now, "ready_at": now, "attempts": 0})
        context_of(uow).wake_after_commit(uow)
        log.info("submission.ready", receipt_number=row.receipt_number)
    elif new is not row.state:
        change.update({"state": new, "work": Work.NONE, "next_attempt_at": None, "biodata_enc": None})
        log.info("submission.ended_at_interview", receipt_number=row.receipt_number, state=new.value)
    await submissions.record(uow, row.receipt_number, change)


async def when_application_registered_record_readiness(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The application exists: keep its biodata (encrypted) and what SIMKIM needs to know about it."""
    data = event.data
    assert isinstance(data, ApplicationRegistered)
    row = await submissions.lock(uow, data.receipt_number)
    if row.readiness.registered:
        return
    fact = SubmissionChange(registered=True)
    if row.state not in _ENDED:
        applicant = data.applicant
        biodata = json.dumps(
            {"full_name": applicant.full_name, "nik": applicant.nik, "birth_date": applicant.birth_date.isoformat()}
        )
        fact.update(
            {
                "biodata_enc": uow.cipher.encrypt(biodata, context=biodata_context(data.receipt_number)),
                "service_type": data.service_type.value,
                "passport_type": data.passport_type.value,
                "priority_category": data.priority_category.value,
                # The applicant's choice (queue checked it with their marital status); a v1.0 producer did not
                # say, and the event carries no marital status: the term the applicant is certainly entitled to.
                "validity_years": validity_years(
                    data.validity_years, applicant.birth_date, data.slot.date, married=False
                ),
            }
        )
    await _record_fact(uow, row, replace(row.readiness, registered=True), fact)


async def when_payment_confirmed_record_readiness(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The fee is paid."""
    data = event.data
    assert isinstance(data, PaymentConfirmed)
    row = await submissions.lock(uow, data.receipt_number)
    if row.readiness.paid:
        return
    await _record_fact(uow, row, replace(row.readiness, paid=True), SubmissionChange(paid=True))


async def when_capture_completed_record_manifest(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Biometrics are complete: keep the manifest (kind, position, sha256) the bundle will be checked against."""
    data = event.data
    assert isinstance(data, CaptureCompleted)
    row = await submissions.lock(uow, data.receipt_number)
    if row.state not in MANIFEST_REPLACEABLE or not supersedes(row.capture_completed_at, data.completed_at):
        log.info("submission.capture_ignored", receipt_number=data.receipt_number, state=row.state.value)
        return
    await _record_fact(
        uow,
        row,
        replace(row.readiness, captured=True),
        SubmissionChange(
            captured=True,
            capture_completed_at=data.completed_at,
            manifest=[{"kind": i.kind.value, "position": i.position, "sha256": i.sha256} for i in data.items],
            capture_exceptions=[
                {"kind": e.kind.value, "position": e.position, "reason": e.reason} for e in data.exceptions
            ],
        ),
    )


async def when_interview_completed_record_decision(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """The interview decided: APPROVED completes readiness, REJECTED ends the application, NEEDS_DOCUMENTS waits."""
    data = event.data
    assert isinstance(data, InterviewCompleted)
    row = await submissions.lock(uow, data.receipt_number)
    if row.state is not SubmissionState.WAITING or not supersedes(row.interview_completed_at, data.completed_at):
        log.info("submission.interview_ignored", receipt_number=data.receipt_number, state=row.state.value)
        return
    await _record_fact(
        uow,
        row,
        replace(row.readiness, interview=data.decision),
        SubmissionChange(
            interview_decision=data.decision,
            interview_officer_id=data.officer_id,
            interview_completed_at=data.completed_at,
        ),
    )


async def when_office_updated_keep_pickup_rule(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Keep the office's time zone and pickup working-day target (the pickup date is computed from them)."""
    data = event.data
    assert isinstance(data, OfficeUpdated)
    await offices.keep(
        uow,
        office=data.office,
        timezone=data.timezone,
        pickup_working_days=data.settings.pickup_working_days,
        event_time=event.time,
    )


async def when_violation_flagged_forward_to_simkim(event: CloudEvent[Any], uow: UnitOfWork) -> None:
    """Queue the violation for SIMKIM and wake the worker: it goes out as soon as this commits."""
    data = event.data
    assert isinstance(data, ViolationFlagged)
    await violations.add(
        uow,
        violation_id=event.id,
        receipt_number=data.receipt_number,
        category=data.category,
        detail_enc=uow.cipher.encrypt(data.detail, context=violation_context(event.id)),
        officer_id=data.officer_id,
        flagged_at=event.time,
    )
    context_of(uow).wake_after_commit(uow)


HANDLERS: HandlerTable = {
    "queue.office.updated": [when_office_updated_keep_pickup_rule],
    "queue.application.registered": [when_application_registered_record_readiness],
    "payment.confirmed": [when_payment_confirmed_record_readiness],
    "capture.completed": [when_capture_completed_record_manifest],
    "capture.interview.completed": [when_interview_completed_record_decision],
    "capture.violation.flagged": [when_violation_flagged_forward_to_simkim],
}
