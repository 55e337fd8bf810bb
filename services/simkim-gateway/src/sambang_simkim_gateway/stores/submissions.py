"""Every SQL statement about submissions: readiness facts, state changes, claims and outcomes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict

from sambang_contracts.enums import InterviewDecision
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import RowMapping, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from ..domain import ManifestItem, Readiness, SubmissionState, Work
from ..models import submission
from . import leases


class SubmissionChange(TypedDict, total=False):
    """Columns a readiness fact or a worker's outcome may write (``record``, ``finish``); mypy checks each one.
    A hold's decision is written by ``decide_hold`` alone, the lease by the claim and ``finish``."""

    registered: bool
    paid: bool
    captured: bool
    interview_decision: InterviewDecision | None
    interview_officer_id: str | None
    interview_completed_at: dt.datetime | None
    capture_completed_at: dt.datetime | None
    #: capture.completed's items [{kind, position, sha256}] and exceptions [{kind, position, reason}]
    manifest: Sequence[Mapping[str, object]]
    capture_exceptions: Sequence[Mapping[str, object]]
    service_type: str | None
    passport_type: str | None
    priority_category: str | None
    validity_years: int | None
    biodata_enc: str | None
    state: SubmissionState
    work: Work
    next_attempt_at: dt.datetime | None
    attempts: int
    work_failures: int
    deferred: bool
    last_error: str | None
    ready_at: dt.datetime | None
    simkim_reference: str | None
    accepted_at: dt.datetime | None
    hold_kind: str | None
    hold_reference: str | None
    held_at: dt.datetime | None
    issued_at: dt.datetime | None
    expires_at: dt.datetime | None
    pickup_from: dt.date | None


@dataclass(frozen=True, slots=True)
class Submission:
    """One application as the gateway knows it."""

    receipt_number: str
    office: str
    readiness: Readiness
    state: SubmissionState
    work: Work
    attempts: int
    work_failures: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    lease_owner: str | None
    interview_officer_id: str | None
    interview_completed_at: dt.datetime | None
    capture_completed_at: dt.datetime | None
    manifest: tuple[ManifestItem, ...]
    capture_exceptions: tuple[Mapping[str, object], ...]
    service_type: str | None
    passport_type: str | None
    priority_category: str | None
    validity_years: int | None
    biodata_enc: str | None
    ready_at: dt.datetime | None
    simkim_reference: str | None
    accepted_at: dt.datetime | None
    hold_kind: str | None
    hold_reference: str | None
    held_at: dt.datetime | None
    decision: str | None
    decided_by: str | None
    decision_reason: str | None
    decided_at: dt.datetime | None
    issued_at: dt.datetime | None
    pickup_from: dt.date | None


def _from_row(m: RowMapping) -> Submission:
    manifest = tuple(ManifestItem(str(i["kind"]), i.get("position"), str(i["sha256"])) for i in (m["manifest"] or []))
    return Submission(
        receipt_number=m["receipt_number"],
        office=m["office"],
        readiness=Readiness(
            registered=bool(m["registered"]),
            paid=bool(m["paid"]),
            captured=bool(m["captured"]),
            interview=InterviewDecision(m["interview_decision"]) if m["interview_decision"] else None,
        ),
        state=SubmissionState(m["state"]),
        work=Work(m["work"]),
        attempts=m["attempts"],
        work_failures=m["work_failures"],
        last_error=m["last_error"],
        next_attempt_at=m["next_attempt_at"],
        lease_owner=m["lease_owner"],
        interview_officer_id=m["interview_officer_id"],
        interview_completed_at=m["interview_completed_at"],
        capture_completed_at=m["capture_completed_at"],
        manifest=manifest,
        capture_exceptions=tuple(m["capture_exceptions"] or ()),
        service_type=m["service_type"],
        passport_type=m["passport_type"],
        priority_category=m["priority_category"],
        validity_years=m["validity_years"],
        biodata_enc=m["biodata_enc"],
        ready_at=m["ready_at"],
        simkim_reference=m["simkim_reference"],
        accepted_at=m["accepted_at"],
        hold_kind=m["hold_kind"],
        hold_reference=m["hold_reference"],
        held_at=m["held_at"],
        decision=m["decision"],
        decided_by=m["decided_by"],
        decision_reason=m["decision_reason"],
        decided_at=m["decided_at"],
        issued_at=m["issued_at"],
        pickup_from=m["pickup_from"],
    )


async def _conn(uow: UnitOfWork) -> AsyncConnection:
    return await uow.session.connection()


# --- readiness (event handlers) ----------------------------------------------------------------------


async def lock(uow: UnitOfWork, receipt_number: str) -> Submission:
    """The submission of a receipt, created WAITING on its first fact, and row-locked for this transaction.

    One upsert does both: ``ON CONFLICT DO UPDATE`` waits for and locks the row (a concurrent fact's
    transaction commits first) and returns its latest version, so each of the four readiness events sees
    the facts the others committed and exactly one of them finds the application ready.
    """
    conn = await _conn(uow)
    now = uow.now()
    new = {
        "receipt_number": receipt_number,
        "office": receipt_number[:3],
        "registered": False,
        "paid": False,
        "captured": False,
        "state": SubmissionState.WAITING.value,
        "work": Work.NONE.value,
        "attempts": 0,
        "work_failures": 0,
        "deferred": False,
        "created_at": now,
        "updated_at": now,
    }
    result = await upsert(
        conn, submission, new, key=["receipt_number"], update={"updated_at": now}, returning=list(submission.c)
    )
    return _from_row(result.mappings().one())


async def record(uow: UnitOfWork, receipt_number: str, change: SubmissionChange) -> None:
    """Write facts and state of a submission locked by ``lock`` in this transaction."""
    conn = await _conn(uow)
    await conn.execute(
        update(submission)
        .where(submission.c.receipt_number == receipt_number)
        .values(**_plain(change), updated_at=uow.now())
    )


def _plain(change: SubmissionChange) -> dict[str, object]:
    # Enums go in as their values, so both drivers store the same text.
    return {k: (v.value if isinstance(v, SubmissionState | Work | InterviewDecision) else v) for k, v in change.items()}


# --- reads (API) --------------------------------------------------------------------------------------


async def get(uow: UnitOfWork, receipt_number: str) -> Submission | None:
    """One submission, or None."""
    conn = await _conn(uow)
    row = (
        (await conn.execute(select(submission).where(submission.c.receipt_number == receipt_number))).mappings().first()
    )
    return _from_row(row) if row is not None else None


async def open_holds(uow: UnitOfWork, office: str) -> list[Submission]:
    """The office's held applications waiting for the head of office, oldest first."""
    conn = await _conn(uow)
    rows = await conn.execute(
        select(submission)
        .where(submission.c.office == office, submission.c.state == SubmissionState.HELD.value)
        .order_by(submission.c.held_at)
    )
    return [_from_row(r) for r in rows.mappings()]


# --- decisions and retries (API) ------------------------------------------------------------------------


async def decide_hold(
    uow: UnitOfWork,
    receipt_number: str,
    *,
    decision: str,
    decided_by: str,
    reason: str,
    state: SubmissionState,
) -> bool:
    """Record the head of office's decision, if the hold is still open (a second decider gets False)."""
    conn = await _conn(uow)
    now = uow.now()
    result = await conn.execute(
        update(submission)
        .where(
            submission.c.receipt_number == receipt_number,
            submission.c.state == SubmissionState.HELD.value,
            submission.c.decision.is_(None),
        )
        .values(
            decision=decision,
            decided_by=decided_by,
            decision_reason=reason,
            decided_at=now,
            state=state.value,
            work=Work.DECIDE.value,
            next_attempt_at=now,
            work_failures=0,
            last_error=None,
            updated_at=now,
        )
    )
    return bool(result.rowcount == 1)


async def retry_failed(uow: UnitOfWork, receipt_number: str) -> bool:
    """Start a failed submission over (a supervisor's retry), if it is still failed."""
    conn = await _conn(uow)
    now = uow.now()
    result = await conn.execute(
        update(submission)
        .where(submission.c.receipt_number == receipt_number, submission.c.state == SubmissionState.FAILED.value)
        .values(
            state=SubmissionState.SUBMITTING.value,
            work=Work.SUBMIT.value,
            attempts=0,
            next_attempt_at=now,
            deferred=False,
            updated_at=now,
        )
    )
    return bool(result.rowcount == 1)


# --- the worker ---------------------------------------------------------------------------------------


async def claim_due(uow: UnitOfWork, *, owner: str, lease_seconds: float, limit: int) -> list[Submission]:
    """Lease up to ``limit`` submissions whose next call is due; returns them as claimed."""
    now = uow.now()
    return await leases.claim_due(
        await _conn(uow),
        submission,
        submission.c.receipt_number,
        owner=owner,
        now=now,
        until=now + dt.timedelta(seconds=lease_seconds),
        limit=limit,
        read=_from_row,
    )


async def finish(uow: UnitOfWork, receipt_number: str, change: SubmissionChange, *, owner: str, doing: Work) -> bool:
    """Record the outcome of the leased work ``doing`` and end the lease; False when the lease was lost meanwhile
    (another replica took over), in which case nothing is written and no event may be emitted."""
    conn = await _conn(uow)
    result = await conn.execute(
        update(submission)
        .where(
            submission.c.receipt_number == receipt_number,
            submission.c.lease_owner == owner,
            submission.c.work == doing.value,
        )
        .values(**_plain(change), lease_owner=None, lease_until=None, updated_at=uow.now())
    )
    return bool(result.rowcount == 1)


async def wake_deferred(uow: UnitOfWork) -> int:
    """Make everything the open breaker put off due now (the breaker just closed)."""
    conn = await _conn(uow)
    now = uow.now()
    result = await conn.execute(
        update(submission)
        .where(submission.c.deferred.is_(True), submission.c.work != Work.NONE.value)
        .values(deferred=False, next_attempt_at=now, updated_at=now)
    )
    return int(result.rowcount)


async def release_leases(uow: UnitOfWork, owner: str) -> int:
    """Give back this replica's leases (it stops)."""
    return await leases.release_all(await _conn(uow), submission, owner=owner)
