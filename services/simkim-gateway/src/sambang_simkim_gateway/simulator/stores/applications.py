"""Every SQL statement about applications SIMKIM received."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sambang_contracts.enums import HoldDecision, HoldKind, PassportType
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import RowMapping, select, update

from ...adapters.protocol import ApplicationStatus
from ..models import simkim_application


@dataclass(frozen=True, slots=True)
class Application:
    """One application as SIMKIM holds it."""

    id: int
    reference: str
    receipt_number: str
    passport_type: PassportType
    validity_years: int
    status: ApplicationStatus
    hold_kind: HoldKind | None
    hold_reference: str | None
    decision: HoldDecision | None
    received_at: dt.datetime
    issue_after: dt.datetime | None
    passport_number: str | None
    issued_at: dt.datetime | None
    expires_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class NewApplication:
    """An application SIMKIM receives for the first time, screened."""

    reference: str
    receipt_number: str
    office: str
    service_type: str
    passport_type: str
    validity_years: int
    nik_index: str
    biodata_enc: str
    biometric_sha256: list[str]
    status: str
    hold_kind: str | None
    hold_reference: str | None
    issue_after: dt.datetime | None


def _from_row(m: RowMapping) -> Application:
    return Application(
        id=m["id"],
        reference=m["reference"],
        receipt_number=m["receipt_number"],
        passport_type=PassportType(m["passport_type"]),
        validity_years=m["validity_years"],
        status=ApplicationStatus(m["status"]),
        hold_kind=HoldKind(m["hold_kind"]) if m["hold_kind"] else None,
        hold_reference=m["hold_reference"],
        decision=HoldDecision(m["decision"]) if m["decision"] else None,
        received_at=m["received_at"],
        issue_after=m["issue_after"],
        passport_number=m["passport_number"],
        issued_at=m["issued_at"],
        expires_at=m["expires_at"],
    )


async def receive_again(uow: UnitOfWork, receipt_number: str) -> Application | None:
    """A repeat of a known application: count it and return the application (None when it is new)."""
    conn = await uow.session.connection()
    row = (
        (
            await conn.execute(
                update(simkim_application)
                .where(simkim_application.c.receipt_number == receipt_number)
                .values(received_count=simkim_application.c.received_count + 1, last_received_at=uow.now())
                .returning(*simkim_application.c)
            )
        )
        .mappings()
        .first()
    )
    return _from_row(row) if row is not None else None


async def create(uow: UnitOfWork, new: NewApplication) -> Application | None:
    """Record a new application; None when a concurrent request with the same receipt number won the race."""
    now = uow.now()
    result = await upsert(
        await uow.session.connection(),
        simkim_application,
        {**asdict(new), "received_count": 1, "received_at": now, "last_received_at": now},
        key=["receipt_number"],
        returning=list(simkim_application.c),
    )
    row = result.mappings().first()
    return _from_row(row) if row is not None else None


async def by_reference(uow: UnitOfWork, reference: str) -> Application | None:
    """One application by SIMKIM reference."""
    conn = await uow.session.connection()
    found = await conn.execute(select(simkim_application).where(simkim_application.c.reference == reference))
    row = found.mappings().first()
    return _from_row(row) if row is not None else None


async def issue(
    uow: UnitOfWork, app: Application, *, passport_number: str, issued_at: dt.datetime, expires_at: dt.datetime
) -> None:
    """Issue the passport of an accepted application (once: a concurrent issue finds it issued)."""
    conn = await uow.session.connection()
    await conn.execute(
        update(simkim_application)
        .where(simkim_application.c.id == app.id, simkim_application.c.status == ApplicationStatus.ACCEPTED.value)
        .values(
            status=ApplicationStatus.ISSUED.value,
            passport_number=passport_number,
            issued_at=issued_at,
            expires_at=expires_at,
        )
    )


async def decide(
    uow: UnitOfWork,
    app: Application,
    *,
    decision: HoldDecision,
    reason: str,
    decided_by: str,
    status: ApplicationStatus,
    issue_after: dt.datetime | None,
) -> bool:
    """Record the decision on a held application (once)."""
    conn = await uow.session.connection()
    result = await conn.execute(
        update(simkim_application)
        .where(simkim_application.c.id == app.id, simkim_application.c.decision.is_(None))
        .values(
            decision=decision.value,
            decision_reason=reason,
            decided_by=decided_by,
            status=status.value,
            issue_after=issue_after,
        )
    )
    return bool(result.rowcount == 1)


@dataclass(frozen=True, slots=True)
class Counts:
    """What the simulator received, for tests that prove "exactly once"."""

    applications: int
    submissions_received: int
    received_by_receipt: dict[str, int]
    by_status: dict[str, int]


async def counts(uow: UnitOfWork) -> Counts:
    """Applications, submissions received (repeats included), per receipt and per status."""
    conn = await uow.session.connection()
    rows = (
        await conn.execute(
            select(
                simkim_application.c.receipt_number, simkim_application.c.received_count, simkim_application.c.status
            )
        )
    ).all()
    by_status: dict[str, int] = {}
    for r in rows:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    return Counts(
        applications=len(rows),
        submissions_received=sum(r.received_count for r in rows),
        received_by_receipt={r.receipt_number: r.received_count for r in rows},
        by_status=by_status,
    )
