"""Bills: issued once per receipt with a unique billing code, then paid, expired or voided once."""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import asdict, dataclass
from typing import Any

from sambang_contracts.values import generate_billing_code
from sambang_runtime.crypto import PiiCipher
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select, update

from ..domain.bills import BillDraft, BillStatus
from ..domain.fees import BillLine
from ..domain.offices import as_utc
from ..domain.payments import BillState
from ..models import BILL, CANCELLED


@dataclass(frozen=True, slots=True)
class BillView:
    """A bill as its applicant or an officer reads it."""

    receipt_number: str
    office: str
    billing_code: str
    amount: int
    items: tuple[BillLine, ...]
    status: BillStatus
    issued_at: dt.datetime
    expires_at: dt.datetime
    paid_at: dt.datetime | None
    ntpn: str | None
    priority: bool
    validity_years: int
    schedule_name: str
    birth_date_index: str


@dataclass(frozen=True, slots=True)
class LockedBill:
    """A bill row locked for judging a payment, with the state the verdict depends on."""

    id: int
    receipt_number: str
    office: str
    state: BillState


@dataclass(frozen=True, slots=True)
class ClosedBill:
    """A bill that just expired or was voided: what its event says."""

    receipt_number: str
    billing_code: str
    office: str
    expires_at: dt.datetime


def _birth_date_index(cipher: PiiCipher, receipt_number: str, birth_date: dt.date) -> str:
    # Bound to the receipt: equal birth dates of two applicants hash differently.
    return cipher.blind_index(birth_date.isoformat(), purpose=f"bill.birth_date:{receipt_number}")


async def was_cancelled(uow: UnitOfWork, receipt_number: str) -> bool:
    """Whether the queue cancelled this application (perhaps before we heard of its registration)."""
    conn = await uow.session.connection()
    found = await conn.execute(select(CANCELLED.c.receipt_number).where(CANCELLED.c.receipt_number == receipt_number))
    return found.first() is not None


async def has_bill(uow: UnitOfWork, receipt_number: str) -> bool:
    """Whether this application has a bill already."""
    conn = await uow.session.connection()
    return (await conn.execute(select(BILL.c.id).where(BILL.c.receipt_number == receipt_number))).first() is not None


async def insert_bill(
    uow: UnitOfWork, *, receipt_number: str, office: str, draft: BillDraft, birth_date: dt.date
) -> str | None:
    """Store a bill under a fresh billing code; returns the code, or None if a twin billed it first.

    The unique receipt number decides: a twin registration handled at the same time by another
    replica inserts nothing. A billing code drawn twice (one in 10^14) breaks the other unique rule:
    the handler fails and its retry draws another.
    """
    conn = await uow.session.connection()
    cipher = uow.cipher
    values: dict[str, Any] = {
        "receipt_number": receipt_number,
        "office": office,
        "amount": draft.amount,
        "items": [asdict(line) for line in draft.lines],
        "schedule_name": draft.schedule_name,
        "validity_years": draft.validity_years,
        "priority": draft.priority,
        "status": BillStatus.UNPAID.value,
        "issued_at": draft.issued_at,
        "expires_at": draft.expires_at,
        "birth_date_enc": cipher.encrypt(birth_date.isoformat(), context=f"bill.birth_date:{receipt_number}"),
        "birth_date_index": _birth_date_index(cipher, receipt_number, birth_date),
    }
    code = generate_billing_code()
    values["billing_code"] = code
    inserted = await upsert(conn, BILL, values, key=("receipt_number",), returning=(BILL.c.id,))
    return code if inserted.first() is not None else None


async def bill_by_receipt(uow: UnitOfWork, receipt_number: str) -> BillView | None:
    """A bill by its receipt number."""
    conn = await uow.session.connection()
    row = (await conn.execute(select(BILL).where(BILL.c.receipt_number == receipt_number[:32]))).first()
    if row is None:
        return None
    return BillView(
        receipt_number=row.receipt_number,
        office=row.office,
        billing_code=row.billing_code,
        amount=row.amount,
        items=tuple(BillLine(i["code"], i["description"], i["amount"]) for i in row.items),
        status=BillStatus(row.status),
        issued_at=as_utc(row.issued_at),
        expires_at=as_utc(row.expires_at),
        paid_at=as_utc(row.paid_at) if row.paid_at else None,
        ntpn=row.ntpn,
        priority=row.priority,
        validity_years=row.validity_years,
        schedule_name=row.schedule_name,
        birth_date_index=row.birth_date_index,
    )


def birth_date_matches(uow: UnitOfWork, bill: BillView, birth_date: dt.date) -> bool:
    """Whether a birth date is the one stored (encrypted) with the bill; constant-time comparison."""
    given = _birth_date_index(uow.cipher, bill.receipt_number, birth_date)
    return hmac.compare_digest(given, bill.birth_date_index)


async def lock_for_payment(uow: UnitOfWork, billing_code: str) -> LockedBill | None:
    """The bill of a billing code, row-locked (``FOR UPDATE``) until the transaction ends.

    Notifications for one bill are judged one after the other, each seeing what the previous one
    committed.
    """
    return await _bill_for_payment(uow, billing_code, lock=True)


async def bill_for_preview(uow: UnitOfWork, billing_code: str) -> LockedBill | None:
    """The bill of a billing code as a payment would be judged against it, read without a lock (a
    settlement's dry run changes nothing, so it holds no bill)."""
    return await _bill_for_payment(uow, billing_code, lock=False)


async def _bill_for_payment(uow: UnitOfWork, billing_code: str, *, lock: bool) -> LockedBill | None:
    conn = await uow.session.connection()
    stmt = select(
        BILL.c.id, BILL.c.receipt_number, BILL.c.office, BILL.c.status, BILL.c.amount, BILL.c.expires_at
    ).where(BILL.c.billing_code == billing_code)
    row = (await conn.execute(stmt.with_for_update() if lock else stmt)).first()
    if row is None:
        return None
    state = BillState(billing_code, BillStatus(row.status), row.amount, as_utc(row.expires_at))
    return LockedBill(row.id, row.receipt_number, row.office, state)


async def mark_paid(uow: UnitOfWork, bill_id: int, *, paid_at: dt.datetime, ntpn: str) -> None:
    """An unpaid (or swept-expired) bill becomes PAID; never pays a bill twice."""
    conn = await uow.session.connection()
    paid = await conn.execute(
        update(BILL)
        .where(BILL.c.id == bill_id, BILL.c.status.in_([BillStatus.UNPAID.value, BillStatus.EXPIRED.value]))
        .values(status=BillStatus.PAID.value, paid_at=paid_at, ntpn=ntpn)
    )
    if paid.rowcount != 1:  # unreachable while the row lock holds; never pay twice regardless
        raise RuntimeError("bill changed under its row lock")


async def remember_cancellation(uow: UnitOfWork, receipt_number: str, *, reason: str, at: dt.datetime) -> None:
    """Remember a cancelled receipt, so a registration arriving after it bills nothing."""
    conn = await uow.session.connection()
    values = {"receipt_number": receipt_number, "reason": reason, "cancelled_at": at}
    await upsert(conn, CANCELLED, values, key=("receipt_number",))


async def void_unpaid(uow: UnitOfWork, receipt_number: str, *, at: dt.datetime) -> ClosedBill | None:
    """Void the receipt's bill if it is still unpaid; None if there is none or it is paid, expired or void.

    Conditional, so a redelivered cancellation or one racing a payment voids at most once.
    """
    conn = await uow.session.connection()
    row = (
        await conn.execute(
            update(BILL)
            .where(BILL.c.receipt_number == receipt_number, BILL.c.status == BillStatus.UNPAID.value)
            .values(status=BillStatus.VOID.value, voided_at=at)
            .returning(BILL.c.receipt_number, BILL.c.billing_code, BILL.c.office, BILL.c.expires_at)
        )
    ).first()
    if row is None:
        return None
    return ClosedBill(row.receipt_number, row.billing_code, row.office, as_utc(row.expires_at))


async def expire_due(uow: UnitOfWork, *, now: dt.datetime, batch: int) -> list[ClosedBill]:
    """Expire one batch of unpaid bills past their time; each bill expires in one transaction only.

    With several replicas the rows are taken with ``FOR UPDATE SKIP LOCKED`` and the UPDATE
    re-checks ``status = 'UNPAID'``, so a bill changes state once; the caller emits and commits.
    """
    conn = await uow.session.connection()
    pick = (
        select(BILL.c.id)
        .where(BILL.c.status == BillStatus.UNPAID.value, BILL.c.expires_at < now)
        .order_by(BILL.c.expires_at)
        .limit(batch)
        .with_for_update(skip_locked=True)  # SQLite has one writer at a time: it leaves the clause out
    )
    rows = (
        await conn.execute(
            update(BILL)
            .where(BILL.c.id.in_(pick.scalar_subquery()), BILL.c.status == BillStatus.UNPAID.value)
            .values(status=BillStatus.EXPIRED.value, expired_at=now)
            .returning(BILL.c.receipt_number, BILL.c.billing_code, BILL.c.office, BILL.c.expires_at)
        )
    ).all()
    return [ClosedBill(r.receipt_number, r.billing_code, r.office, as_utc(r.expires_at)) for r in rows]
