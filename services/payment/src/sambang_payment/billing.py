"""Bills in the database: issue on registration, void on cancellation, expire when unpaid."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sambang_contracts import (
    ApplicationCancelled,
    ApplicationRegistered,
    BillExpired,
    BillIssued,
    BillItem,
    OfficeSettings,
    OfficeUpdated,
)
from sambang_contracts.values import generate_billing_code, parse_receipt_number
from sambang_runtime.crypto import PiiCipher
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import select, update

from .dialects import insert_ignoring_conflicts, is_pg, locking
from .domain import (
    BillRequest,
    BillStatus,
    as_utc,
    bill_lines,
    bill_validity_seconds,
    default_validity_years,
    is_priority,
)
from .models import BILL, CANCELLED, OFFICE_RULE
from .schedules import schedule_in_force

log = get_logger(__name__)


_CODE_ATTEMPTS = 8


@dataclass(frozen=True)
class OfficeRules:
    """What this service needs of an office's settings."""

    timezone: dt.tzinfo
    bill_validity_seconds: int
    priority_bill_validity_seconds: int


def zone(name: str, fallback: str = "Asia/Jakarta") -> dt.tzinfo:
    """An IANA time zone; an unknown name falls back to the default instead of failing a bill."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


async def office_rules(uow: UnitOfWork, office: str, default_timezone: str) -> OfficeRules:
    """The office's copy of its rules, or the contract defaults for an office not heard of yet."""
    conn = await uow.session.connection()
    row = (await conn.execute(select(OFFICE_RULE).where(OFFICE_RULE.c.office == office))).first()
    if row is None:
        defaults = OfficeSettings()
        return OfficeRules(
            zone(default_timezone), defaults.bill_validity_seconds, defaults.priority_bill_validity_seconds
        )
    return OfficeRules(
        zone(row.timezone, default_timezone), row.bill_validity_seconds, row.priority_bill_validity_seconds
    )


def birth_date_index(cipher: PiiCipher, receipt_number: str, birth_date: dt.date) -> str:
    """The keyed hash an applicant's birth date is compared with (bound to the receipt)."""
    return cipher.blind_index(birth_date.isoformat(), purpose=f"bill.birth_date:{receipt_number}")


async def issue_bill(
    uow: UnitOfWork, cipher: PiiCipher, data: ApplicationRegistered, *, now: dt.datetime, default_timezone: str
) -> str | None:
    """Issue the bill of a registered application and emit ``payment.bill.issued``; idempotent.

    Returns the billing code, or None when the application was cancelled first or already billed.
    """
    conn = await uow.session.connection()
    receipt = data.receipt_number
    if (await conn.execute(select(CANCELLED.c.receipt_number).where(CANCELLED.c.receipt_number == receipt))).first():
        log.info("bill.not_issued_cancelled_first", receipt_number=receipt)
        return None
    if (await conn.execute(select(BILL.c.id).where(BILL.c.receipt_number == receipt))).first():
        return None
    rules = await office_rules(uow, data.office, default_timezone)
    today = now.astimezone(rules.timezone).date()
    schedule = await schedule_in_force(uow.session, today)
    if schedule is None:
        # Retried, then parked: an operator loads a schedule and replays it.
        raise RuntimeError(f"no fee schedule in force on {today.isoformat()}")
    registered_on = parse_receipt_number(receipt).registered_on
    # The event carries no requested validity, marital status or express flag: see default_validity_years.
    years = default_validity_years(data.applicant.birth_date, registered_on, min_age=schedule.ten_year_min_age)
    lines = bill_lines(
        schedule,
        BillRequest(
            passport_type=data.passport_type,
            service_type=data.service_type,
            birth_date=data.applicant.birth_date,
            registered_on=registered_on,
            validity_years=years,
        ),
    )
    priority = is_priority(data.priority_category, data.walk_in)
    validity = bill_validity_seconds(
        priority=priority,
        ordinary_seconds=rules.bill_validity_seconds,
        priority_seconds=rules.priority_bill_validity_seconds,
    )
    expires_at = now + dt.timedelta(seconds=validity)
    amount = sum(line.amount for line in lines)
    items: list[dict[str, Any]] = [{"code": x.code, "description": x.description, "amount": x.amount} for x in lines]
    values: dict[str, Any] = {
        "receipt_number": receipt,
        "office": data.office,
        "amount": amount,
        "items": items,
        "schedule_name": schedule.name,
        "validity_years": years,
        "priority": priority,
        "status": BillStatus.UNPAID.value,
        "issued_at": now,
        "expires_at": expires_at,
        "birth_date_enc": cipher.encrypt(data.applicant.birth_date.isoformat(), context=f"bill.birth_date:{receipt}"),
        "birth_date_index": birth_date_index(cipher, receipt, data.applicant.birth_date),
    }
    for _ in range(_CODE_ATTEMPTS):
        code = generate_billing_code()
        # The unique constraints decide: a taken billing code inserts nothing and we draw again;
        # a twin registration handled concurrently by another replica inserts nothing too.
        inserted = await conn.execute(
            insert_ignoring_conflicts(conn, BILL, {**values, "billing_code": code}).returning(BILL.c.id)
        )
        if inserted.first() is not None:
            break
        if (await conn.execute(select(BILL.c.id).where(BILL.c.receipt_number == receipt))).first():
            return None
        log.warning("bill.billing_code_collision", receipt_number=receipt)
    else:
        raise RuntimeError("no free billing code after several draws")
    uow.emit(
        BillIssued(
            receipt_number=receipt,
            billing_code=code,
            amount=amount,
            items=[BillItem(code=x.code, description=x.description, amount=x.amount) for x in lines],
            expires_at=expires_at,
        ),
        office=data.office,
    )
    log.info("bill.issued", receipt_number=receipt, billing_code=code, amount=amount, priority=priority)
    return code


async def void_bill(uow: UnitOfWork, data: ApplicationCancelled, *, now: dt.datetime) -> bool:
    """Remember the cancellation and void the bill if it is still unpaid; returns whether it voided one."""
    conn = await uow.session.connection()
    await conn.execute(
        insert_ignoring_conflicts(
            conn,
            CANCELLED,
            {"receipt_number": data.receipt_number, "reason": data.reason.value, "cancelled_at": now},
        )
    )
    # Conditional: a paid, expired or already void bill is left as it is (BILL_EXPIRED after expiry).
    result = await conn.execute(
        update(BILL)
        .where(BILL.c.receipt_number == data.receipt_number, BILL.c.status == BillStatus.UNPAID.value)
        .values(status=BillStatus.VOID.value, voided_at=now)
    )
    voided = bool(result.rowcount)
    if voided:
        log.info("bill.voided", receipt_number=data.receipt_number, reason=data.reason.value)
    return voided


async def store_office_rules(uow: UnitOfWork, data: OfficeUpdated, *, event_time: dt.datetime) -> None:
    """Keep the office's bill rules; they apply to bills issued after the change. Older events lose."""
    conn = await uow.session.connection()
    values = {
        "office": data.office,
        "timezone": data.timezone,
        "bill_validity_seconds": data.settings.bill_validity_seconds,
        "priority_bill_validity_seconds": data.settings.priority_bill_validity_seconds,
        "event_time": event_time,
    }
    current = (
        await conn.execute(locking(conn, select(OFFICE_RULE.c.event_time).where(OFFICE_RULE.c.office == data.office)))
    ).first()
    if current is None:
        inserted = await conn.execute(insert_ignoring_conflicts(conn, OFFICE_RULE, values))
        if inserted.rowcount:
            return
        current = (
            await conn.execute(
                locking(conn, select(OFFICE_RULE.c.event_time).where(OFFICE_RULE.c.office == data.office))
            )
        ).first()
        assert current is not None
    if as_utc(current.event_time) <= event_time:
        await conn.execute(update(OFFICE_RULE).where(OFFICE_RULE.c.office == data.office).values(values))


async def sweep_expired(uow: UnitOfWork, *, now: dt.datetime, batch: int) -> int:
    """Expire one batch of unpaid bills past their time and emit ``payment.bill.expired`` for each.

    Exactly once with several replicas: the rows are taken with ``FOR UPDATE SKIP LOCKED`` and the
    UPDATE re-checks ``status = 'UNPAID'``, so a bill changes state (and emits) in one transaction
    only; the event goes to the outbox in that same transaction. The caller commits.
    """
    conn = await uow.session.connection()
    pick = (
        select(BILL.c.id)
        .where(BILL.c.status == BillStatus.UNPAID.value, BILL.c.expires_at < now)
        .order_by(BILL.c.expires_at)
        .limit(batch)
    )
    if is_pg(conn):
        pick = pick.with_for_update(skip_locked=True)
    rows = (
        await conn.execute(
            update(BILL)
            .where(BILL.c.id.in_(pick.scalar_subquery()), BILL.c.status == BillStatus.UNPAID.value)
            .values(status=BillStatus.EXPIRED.value, expired_at=now)
            .returning(BILL.c.receipt_number, BILL.c.billing_code, BILL.c.office, BILL.c.expires_at)
        )
    ).all()
    for r in rows:
        uow.emit(
            BillExpired(receipt_number=r.receipt_number, billing_code=r.billing_code, expired_at=as_utc(r.expires_at)),
            office=r.office,
        )
    if rows:
        log.info("bill.expired_batch", count=len(rows))
    return len(rows)
