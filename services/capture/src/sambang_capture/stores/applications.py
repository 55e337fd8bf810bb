"""Applications as capture knows them: registration, check-in, completion, final outcome and purge."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sambang_contracts import ApplicationRegistered, Lane, PriorityCategory, ServiceType, VisitCheckedIn
from sambang_runtime.errors import DomainError
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Row, case, func, select, update

from ..domain.retention import Outcome, earliest
from ..models import application, biometric_item


@dataclass(frozen=True, slots=True)
class ApplicationRecord:
    """One application; ``birth_date`` decrypted (keep it in memory only)."""

    receipt_number: str
    office: str
    service_type: ServiceType | None
    priority_category: PriorityCategory | None
    birth_date: dt.date | None
    lane: Lane | None
    seat: str | None
    visit_id: str | None
    completed_at: dt.datetime | None
    completion: dict[str, Any] | None
    issued_at: dt.datetime | None
    outcome: Outcome | None
    outcome_at: dt.datetime | None
    purge_due_at: dt.datetime | None
    purged_at: dt.datetime | None

    @property
    def registered(self) -> bool:
        """Whether ``queue.application.registered`` arrived (a check-in alone is not enough)."""
        return self.service_type is not None and self.birth_date is not None


def _birth_context(receipt_number: str) -> str:
    return f"application.birth_date:{receipt_number}"


def _record(uow: UnitOfWork, row: Row[Any]) -> ApplicationRecord:
    birth = None
    if row.birth_date_enc is not None:
        birth = dt.date.fromisoformat(
            uow.cipher.decrypt(row.birth_date_enc, context=_birth_context(row.receipt_number))
        )
    return ApplicationRecord(
        receipt_number=row.receipt_number,
        office=row.office,
        service_type=ServiceType(row.service_type) if row.service_type else None,
        priority_category=PriorityCategory(row.priority_category) if row.priority_category else None,
        birth_date=birth,
        lane=Lane(row.lane) if row.lane else None,
        seat=row.seat,
        visit_id=row.visit_id,
        completed_at=row.completed_at,
        completion=row.completion,
        issued_at=row.issued_at,
        outcome=Outcome(row.outcome) if row.outcome else None,
        outcome_at=row.outcome_at,
        purge_due_at=row.purge_due_at,
        purged_at=row.purged_at,
    )


async def find(uow: UnitOfWork, receipt_number: str, *, lock: bool = False) -> ApplicationRecord | None:
    """The application, or None; ``lock`` holds its row until commit (PostgreSQL), serialising writers."""
    conn = await uow.session.connection()
    stmt = select(application).where(application.c.receipt_number == receipt_number)
    if lock:
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    return None if row is None else _record(uow, row)


async def registered(uow: UnitOfWork, receipt_number: str, *, lock: bool = False) -> ApplicationRecord:
    """A registered application, else ``application_not_found``."""
    found = await find(uow, receipt_number, lock=lock)
    if found is None or not found.registered:
        raise DomainError("application_not_found")
    return found


async def record_registration(uow: UnitOfWork, data: ApplicationRegistered, now: dt.datetime) -> None:
    """Keep what capture needs of a registration (birth date encrypted); a check-in may have come first."""
    conn = await uow.session.connection()
    birth_enc = uow.cipher.encrypt(data.applicant.birth_date.isoformat(), context=_birth_context(data.receipt_number))
    values = {
        "office": data.office,
        "service_type": data.service_type.value,
        "passport_type": data.passport_type.value,
        "priority_category": data.priority_category.value,
        "walk_in": data.walk_in,
        "birth_date_enc": birth_enc,
        "registered_at": now,
        "updated_at": now,
    }
    # The officer at check-in may have set the priority category on sight: a late registration keeps it.
    keep_checked_in_category = case(
        (application.c.checked_in_at.is_(None), values["priority_category"]),
        else_=application.c.priority_category,
    )
    await upsert(
        conn,
        application,
        {"receipt_number": data.receipt_number, **values},
        key=["receipt_number"],
        update={**values, "priority_category": keep_checked_in_category},
    )


async def record_check_in(uow: UnitOfWork, data: VisitCheckedIn, office: str, now: dt.datetime) -> None:
    """Keep the visit's lane, seat and ticket; the registration may come later."""
    conn = await uow.session.connection()
    values = {
        "visit_id": data.visit_id,
        "ticket": data.ticket,
        "lane": data.lane.value,
        "seat": data.seat,
        "priority_category": data.priority_category.value,
        "checked_in_at": data.checked_in_at,
        "updated_at": now,
    }
    row = {"receipt_number": data.receipt_number, "office": office, **values}
    await upsert(conn, application, row, key=["receipt_number"], update=list(values))


async def record_completion(uow: UnitOfWork, receipt_number: str, manifest: dict[str, Any], at: dt.datetime) -> None:
    """The capture is complete: keep its manifest (hashes, never bytes)."""
    conn = await uow.session.connection()
    await conn.execute(
        update(application)
        .where(application.c.receipt_number == receipt_number)
        .values(completed_at=at, completion=manifest, updated_at=at)
    )


async def record_outcome(
    uow: UnitOfWork,
    receipt_number: str,
    outcome: Outcome,
    at: dt.datetime,
    purge_due_at: dt.datetime,
    now: dt.datetime,
    *,
    issued_at: dt.datetime | None = None,
) -> ApplicationRecord:
    """Keep the application's first final outcome and schedule the deletion of its biometrics (a later
    outcome only brings it forward). An outcome may come before the registration: the row is made then,
    with the receipt's office, and the registration fills in the rest. Answers the application as kept."""
    conn = await uow.session.connection()
    row = (
        await conn.execute(
            select(application.c.outcome, application.c.purge_due_at)
            .where(application.c.receipt_number == receipt_number)
            .with_for_update()
        )
    ).first()
    if row is None:
        values = {
            "receipt_number": receipt_number,
            "office": receipt_number[:3],
            "outcome": outcome.value,
            "outcome_at": at,
            "purge_due_at": purge_due_at,
            "issued_at": issued_at,
            "updated_at": now,
        }
        await upsert(conn, application, values, key=["receipt_number"], update=None)
    else:
        changes: dict[str, Any] = {"purge_due_at": earliest(row.purge_due_at, purge_due_at), "updated_at": now}
        if row.outcome is None:
            changes |= {"outcome": outcome.value, "outcome_at": at}
        if issued_at is not None:
            changes["issued_at"] = issued_at
        await conn.execute(update(application).where(application.c.receipt_number == receipt_number).values(**changes))
    found = await find(uow, receipt_number)
    assert found is not None
    return found


async def due_for_purge(uow: UnitOfWork, now: dt.datetime, limit: int) -> list[tuple[str, str]]:
    """(receipt, office) of applications whose biometrics are due for deletion, oldest first, locked."""
    conn = await uow.session.connection()
    stmt = (
        select(application.c.receipt_number, application.c.office)
        .where(application.c.purge_due_at <= now, application.c.purged_at.is_(None))
        .order_by(application.c.purge_due_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        # Two replicas sweeping at once take different applications.
        stmt = stmt.with_for_update(skip_locked=True)
    return [(r.receipt_number, r.office) for r in (await conn.execute(stmt)).all()]


async def mark_purged(uow: UnitOfWork, receipt_numbers: list[str], now: dt.datetime) -> None:
    """Note that these applications' biometrics are gone."""
    conn = await uow.session.connection()
    await conn.execute(
        update(application)
        .where(application.c.receipt_number.in_(receipt_numbers))
        .values(purged_at=now, updated_at=now)
    )


@dataclass(frozen=True, slots=True)
class PurgeSchedule:
    """An office's applications still waiting for deletion: due by a time, and the next deadline."""

    due: int
    next_due_at: dt.datetime | None


async def purge_schedule(uow: UnitOfWork, office: str, by: dt.datetime) -> PurgeSchedule:
    """How many of the office's applications with biometrics stored are due for deletion before ``by``
    (overdue included), and the earliest deadline after those."""
    conn = await uow.session.connection()
    stored = (
        select(biometric_item.c.id)
        .where(
            biometric_item.c.receipt_number == application.c.receipt_number, biometric_item.c.content_enc.is_not(None)
        )
        .exists()
    )
    pending = (
        application.c.office == office,
        application.c.purged_at.is_(None),
        application.c.purge_due_at.is_not(None),
        stored,
    )
    due = (await conn.execute(select(func.count()).where(*pending, application.c.purge_due_at < by))).scalar_one()
    next_due = (
        await conn.execute(
            select(func.min(application.c.purge_due_at)).where(*pending, application.c.purge_due_at >= by)
        )
    ).scalar_one()
    return PurgeSchedule(int(due), next_due)
