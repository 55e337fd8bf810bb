"""Pre-applications: booking (alone or as a family), status and timeline, cancellation, arrival."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from sambang_contracts import ApplicationCancelled, ArrivalConfirmed, CancelReason, PriorityCategory
from sambang_runtime.auth import OptionalPrincipal, Principal
from sambang_runtime.crypto import DecryptionError
from sambang_runtime.entropy import uuid4
from sambang_runtime.outbox import outbox_row
from sambang_runtime.service import UowDep, request_uow
from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ..booking import (
    Appointment,
    PlacesTaken,
    Violation,
    application_row,
    book_in_one_statement,
    constraint_violated,
    give_place_back,
    new_receipt_number,
    registered_event,
    take_places_and_insert,
    violated,
)
from ..context import QueueContext
from ..domain import (
    NOT_YET_ARRIVED,
    Status,
    check_birth_date,
    check_bookable,
    check_priority_category,
    lane_for,
    local_today,
    public_status,
    verify_arrival_token,
)
from ..errors import problem
from ..models import application, idempotency_record, timeline_entry, visit
from ..trail import add_audit, add_timeline
from ..visits import position_of, set_status
from .deps import (
    OFFICER_ROLES,
    Conn,
    Ctx,
    RateLimited,
    context_of,
    office_or_404,
    officer_of_office,
    valid_receipt,
)
from .deps import application_row as load_application
from .schemas import ApplicationIn, GroupIn, MemberIn, Strict

router = APIRouter(tags=["applications"])

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
_RECEIPT_ATTEMPTS = 4


def _request_hash(route: str, body: Strict) -> str:
    return hashlib.sha256(f"{route}\n{body.model_dump_json()}".encode()).hexdigest()


def _check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= 200 or not key.isprintable() or not key.isascii():
        raise problem("idempotency_key_invalid")
    return key


async def _replay(conn: AsyncConnection, key: str, request_hash: str) -> JSONResponse | None:
    row = (await conn.execute(select(idempotency_record).where(idempotency_record.c.key == key))).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise problem("idempotency_key_reused")
    return JSONResponse(row.body, status_code=row.status_code, headers={"Idempotent-Replayed": "true"})


async def _book_on_postgres(
    ctx: QueueContext,
    uow: UowDep,
    conn: AsyncConnection | None,
    office: str,
    slot_id: int,
    rows: list[dict[str, Any]],
    idempotency: dict[str, Any] | None,
    now: dt.datetime,
) -> Violation | None:
    """The hot path: one statement, one round trip, on a raw asyncpg connection of the engine.

    The runtime's unit of work would cost BEGIN, the statement, the outbox insert and COMMIT; the
    events it recorded are written by the same statement instead, in the runtime's outbox format.
    """
    events, uow.events = uow.events, []
    outbox_rows = [outbox_row(ev, now) for ev in events]
    if idempotency is not None:
        idempotency = {**idempotency, "body": json.dumps(idempotency["body"])}
    runtime = ctx.runtime

    async def run(driver_connection: Any) -> None:
        await book_in_one_statement(
            driver_connection,
            office=office,
            slot_id=slot_id,
            rows=rows,
            outbox_rows=outbox_rows,
            outbox_name=runtime.spec.tables.outbox.name,
            idempotency=idempotency,
        )

    try:
        if conn is not None:
            # The session already holds a connection (cache miss, idempotency key): use it, never two.
            raw = await conn.get_raw_connection()
            await run(raw.driver_connection)
            await uow.commit()
        else:
            async with runtime.engine.connect() as sa_conn:
                raw = await sa_conn.get_raw_connection()
                await run(raw.driver_connection)
    except PlacesTaken:
        raise problem("slot_full") from None
    except asyncpg.UniqueViolationError as exc:
        if conn is not None:
            await uow.rollback()
        return constraint_violated(exc.constraint_name)
    runtime.relay.wake()
    return None


async def _book_portably(
    uow: UowDep,
    conn: AsyncConnection,
    office: str,
    slot_id: int,
    rows: list[dict[str, Any]],
    idempotency: dict[str, Any] | None,
) -> Violation | None:
    """SQLite (embedded mode): the conditional update and the inserts in one transaction."""
    try:
        if idempotency is not None:
            # First: a concurrent retry with the same key waits here for this one, then replays it.
            await conn.execute(insert(idempotency_record).values(**idempotency))
        if not await take_places_and_insert(conn, office=office, slot_id=slot_id, rows=rows):
            raise problem("slot_full")
        await uow.commit()
    except IntegrityError as exc:
        await uow.rollback()
        return violated(exc)
    return None


def _slot_view(a: Appointment) -> dict[str, Any]:
    return {"slot_id": a.slot_id, "date": a.date.isoformat(), "start": a.start.isoformat(), "end": a.end.isoformat()}


async def _register(
    ctx: QueueContext,
    uow: UowDep,
    *,
    office_code: str,
    slot_id: int,
    members: list[MemberIn],
    group: bool,
    key: str | None,
    route: str,
    body: Strict,
) -> JSONResponse:
    """Take the places and register the applications, all or none, in one transaction."""
    # The body's hash serves only an Idempotency-Key: a booking rush sends none.
    request_hash = "" if key is None else _request_hash(route, body)
    postgres = ctx.runtime.engine.dialect.name == "postgresql"
    info = ctx.offices.peek_office(office_code)
    found = ctx.offices.peek_slot(slot_id)
    # In a rush everything comes from the cache, and the session's connection is never checked out.
    conn: AsyncConnection | None = None
    if key is not None or info is None or found is None or group or not postgres:
        conn = await uow.session.connection()
        if key is not None and (replayed := await _replay(conn, key, request_hash)) is not None:
            return replayed
        info = await office_or_404(ctx, conn, office_code)
        found = await ctx.offices.slot(conn, slot_id)
    if found is None:
        raise problem("slot_not_found")
    if found.office != info.code:
        raise problem("slot_of_other_office")
    now = ctx.now()
    today = local_today(now, info.timezone)
    check_bookable(found.date, today, info.settings)
    niks = [m.applicant.nik for m in members]
    if len(set(niks)) != len(niks):
        raise problem("duplicate_nik_in_group")
    for m in members:
        check_birth_date(m.applicant.birth_date, today)
        check_priority_category(m.priority_category, m.applicant.birth_date, found.date, by_officer=False)
    appointment = Appointment(found.id, found.date, found.start, found.end)
    bookings = [m.booking() for m in members]
    if group:
        assert conn is not None
        # Say which member is the problem; the unique index still guards the race.
        hashes = [ctx.nik_hash(n) for n in niks]
        taken = set(
            (
                await conn.execute(
                    select(application.c.nik_hash).where(
                        application.c.nik_hash.in_(hashes), application.c.active.is_(True)
                    )
                )
            ).scalars()
        )
        if taken:
            raise problem(
                "active_application_exists", extra={"members": [i for i, h in enumerate(hashes) if h in taken]}
            )
    group_id = uuid4().hex if group else None
    for _attempt in range(_RECEIPT_ATTEMPTS):
        receipts: list[str] = []
        while len(receipts) < len(members):
            r = new_receipt_number(info.code, today)
            if r not in receipts:
                receipts.append(r)
        rows = [
            application_row(
                ctx,
                receipt_number=r,
                office=info.code,
                appointment=appointment,
                booking=b,
                walk_in=False,
                status=Status.BOOKED,
                group_id=group_id,
                now=now,
            )
            for r, b in zip(receipts, bookings, strict=True)
        ]
        if group:
            body: dict[str, Any] = {"group_id": group_id, "receipt_numbers": receipts, "slot": _slot_view(appointment)}
        else:
            b = bookings[0]
            body = {
                "receipt_number": receipts[0],
                "status": Status.BOOKED.value,
                "office": info.code,
                "slot": _slot_view(appointment),
                "priority_category": b.priority_category.value,
                "lane": lane_for(b.priority_category).value,
            }
        for r, b in zip(receipts, bookings, strict=True):
            uow.emit(
                registered_event(receipt_number=r, office=info.code, appointment=appointment, booking=b, walk_in=False)
            )
        idempotency = (
            None
            if key is None
            else {"key": key, "request_hash": request_hash, "status_code": 201, "body": body, "created_at": now}
        )
        if postgres:
            kind = await _book_on_postgres(ctx, uow, conn, info.code, found.id, rows, idempotency, now)
        else:
            assert conn is not None
            kind = await _book_portably(uow, conn, info.code, found.id, rows, idempotency)
        if kind is None:
            return JSONResponse(body, status_code=201)
        if kind == "idempotency" or (kind == "nik" and key is not None):
            # The same key committed concurrently: answer what it answered.
            replayed = await _replay(await uow.session.connection(), key or "", request_hash)
            if replayed is not None:
                return replayed
        if kind == "nik":
            raise problem("active_application_exists")
        if kind != "receipt":
            raise RuntimeError(f"unexpected unique violation: {kind}")
        if conn is not None:
            conn = await uow.session.connection()  # rolled back: a receipt collided, draw new ones
    raise RuntimeError("could not draw a free receipt number")


@router.post("/v1/applications", status_code=201)
async def create_application(body: ApplicationIn, request: Request, key: IdempotencyKey = None) -> JSONResponse:
    """Book a place and register a pre-application; `Idempotency-Key` honoured."""
    key = _check_key(key)
    # The endpoint of a booking rush opens its unit of work itself: as a dependency (UowDep) it costs
    # FastAPI an exit stack and a cancel scope per request (bench/booking.py).
    async with request_uow(request) as uow:
        return await _register(
            context_of(request),
            uow,
            office_code=body.office,
            slot_id=body.slot_id,
            members=[body],
            group=False,
            key=key,
            route="applications",
            body=body,
        )


@router.post("/v1/application-groups", status_code=201)
async def create_group(body: GroupIn, ctx: Ctx, uow: UowDep, key: IdempotencyKey = None) -> JSONResponse:
    """A family books one slot together (1-5 members): all get places or none does."""
    key = _check_key(key)
    return await _register(
        ctx,
        uow,
        office_code=body.office,
        slot_id=body.slot_id,
        members=list(body.members),
        group=True,
        key=key,
        route="application-groups",
        body=body,
    )


def _is_officer(principal: Principal | None) -> bool:
    return principal is not None and principal.has_any(*OFFICER_ROLES)


async def _proven(
    ctx: QueueContext,
    conn: AsyncConnection,
    receipt: str,
    principal: Principal | None,
    birth_date: dt.date | None,
    *,
    lock: bool = False,
) -> Row[Any]:
    """The application, for an officer of its office or for whoever knows its birth date.

    An unknown receipt and a wrong birth date answer the same 404, so neither can be probed.
    """
    row = await load_application(conn, receipt, lock=lock)
    if _is_officer(principal) and birth_date is None:
        assert principal is not None
        officer_of_office(principal, receipt[:3])
    elif birth_date is None or row is None or row.birth_hash != ctx.birth_hash(receipt, birth_date):
        raise problem("application_not_found")
    if row is None:
        raise problem("application_not_found")
    return row


def _decrypt(ctx: QueueContext, row: Row[Any], field: str) -> str | None:
    token = getattr(row, f"{field}_enc")
    if token is None:
        return None
    try:
        return ctx.cipher.decrypt(token, context=f"application.{field}:{row.receipt_number}")
    except DecryptionError:
        return None


@router.get("/v1/applications/{receipt}", dependencies=[RateLimited])
async def get_application(
    receipt: str,
    ctx: Ctx,
    conn: Conn,
    principal: OptionalPrincipal,
    birth_date: dt.date | None = Query(default=None),
) -> dict[str, Any]:
    """Status, slot, bill, ticket, pickup date and the timeline of every step.

    The applicant never sees a hold: it reads IN_PROCESS and its steps are left out.
    """
    valid_receipt(receipt)
    row = await _proven(ctx, conn, receipt, principal, birth_date)
    officer = _is_officer(principal) and birth_date is None
    status = Status(row.status)
    entries = (
        await conn.execute(
            select(timeline_entry)
            .where(timeline_entry.c.receipt_number == receipt)
            .order_by(timeline_entry.c.at, timeline_entry.c.id)
        )
    ).all()
    timeline: list[dict[str, Any]] = [
        {"at": row.created_at, "step": "WALK_IN_REGISTERED" if row.walk_in else "REGISTERED", "detail": None}
    ]
    timeline += [{"at": e.at, "step": e.kind, "detail": e.detail} for e in entries if officer or e.public]
    v = (
        await conn.execute(
            select(visit).where(visit.c.receipt_number == receipt).order_by(visit.c.checked_in_at.desc()).limit(1)
        )
    ).first()
    ticket = None
    if v is not None:
        ticket = {
            "visit_id": v.id,
            "ticket": v.ticket,
            "lane": v.lane,
            "seat": v.seat,
            "stage": v.stage,
            "state": v.state,
            "counter": v.counter,
            "position": await position_of(conn, v),
        }
    bill = None
    if row.billing_code is not None or row.paid_at is not None:
        bill = {
            "billing_code": row.billing_code,
            "amount": row.bill_amount,
            "expires_at": row.bill_expires_at,
            "status": row.bill_status or ("PAID" if row.paid_at else None),
            "paid_at": row.paid_at,
        }
    view: dict[str, Any] = {
        "receipt_number": receipt,
        "office": row.office,
        "status": status.value if officer else public_status(status),
        "applicant": {"full_name": _decrypt(ctx, row, "full_name")},
        "service_type": row.service_type,
        "passport_type": row.passport_type,
        "priority_category": row.priority_category,
        "lane": lane_for_category(row.priority_category),
        "walk_in": row.walk_in,
        "slot": {
            "slot_id": row.slot_id,
            "date": row.slot_date,
            "start": row.slot_start,
            "end": row.slot_end,
        },
        "bill": bill,
        "paid": row.paid_at is not None,
        "arrival_confirmed_at": row.arrival_confirmed_at,
        "ticket": ticket,
        "pickup_from": row.pickup_from,
        "timeline": timeline,
    }
    return view


def lane_for_category(category: str) -> str:
    """The lane of a stored priority category."""
    return lane_for(PriorityCategory(category)).value


class CancelIn(Strict):
    """`POST /v1/applications/{receipt}/cancel`: the applicant proves the receipt by birth date."""

    birth_date: dt.date | None = None
    detail: str | None = Field(default=None, max_length=500)


@router.post("/v1/applications/{receipt}/cancel", dependencies=[RateLimited])
async def cancel_application(
    receipt: str, body: CancelIn, ctx: Ctx, conn: Conn, uow: UowDep, principal: OptionalPrincipal
) -> dict[str, Any]:
    """Cancel before check-in and give the place back (officers cancel with reason OFFICER)."""
    valid_receipt(receipt)
    row = await _proven(ctx, conn, receipt, principal, body.birth_date, lock=True)
    status = Status(row.status)
    if status == Status.CANCELLED:
        return {"receipt_number": receipt, "status": status.value}
    if status not in NOT_YET_ARRIVED:
        raise problem("not_cancellable", extra={"status": public_status(status)})
    by_officer = body.birth_date is None and principal is not None
    reason = CancelReason.OFFICER if by_officer else CancelReason.APPLICANT
    now = ctx.now()
    await conn.execute(
        update(application)
        .where(application.c.receipt_number == receipt)
        .values(status=Status.CANCELLED.value, active=False, closed_at=now, close_reason=reason.value, updated_at=now)
    )
    await give_place_back(conn, row.slot_id)
    await add_timeline(conn, receipt, "CANCELLED", now, detail={"reason": reason.value})
    if by_officer:
        assert principal is not None
        await add_audit(conn, principal, "application.cancelled", now, receipt_number=receipt)
    uow.emit(ApplicationCancelled(receipt_number=receipt, reason=reason, detail=body.detail))
    await uow.commit()
    return {"receipt_number": receipt, "status": Status.CANCELLED.value}


class ArrivalIn(Strict):
    """`POST /v1/applications/{receipt}/arrival-confirmation`."""

    token: str = Field(min_length=1, max_length=200)


@router.post("/v1/applications/{receipt}/arrival-confirmation", dependencies=[RateLimited])
async def confirm_arrival(receipt: str, body: ArrivalIn, ctx: Ctx, conn: Conn, uow: UowDep) -> dict[str, Any]:
    """The applicant confirms they will come; idempotent. Bad token 403, expired 410."""
    valid_receipt(receipt)
    now = ctx.now()
    # The token is checked before any look-up: a forged link learns nothing about the receipt.
    verify_arrival_token(receipt, body.token, now, ctx.mac("arrival"))
    row = await load_application(conn, receipt, lock=True)
    if row is None:
        raise problem("invalid_token")
    status = Status(row.status)
    if row.arrival_confirmed_at is not None:
        return {"receipt_number": receipt, "confirmed_at": row.arrival_confirmed_at}
    if status not in NOT_YET_ARRIVED and status not in {Status.CHECKED_IN, Status.IN_SERVICE}:
        raise problem("application_closed")
    await conn.execute(
        update(application)
        .where(application.c.receipt_number == receipt)
        .values(arrival_confirmed_at=now, updated_at=now)
    )
    if status in NOT_YET_ARRIVED:
        await set_status(conn, receipt, Status.ARRIVAL_CONFIRMED, now)
    await add_timeline(conn, receipt, "ARRIVAL_CONFIRMED", now)
    uow.emit(ArrivalConfirmed(receipt_number=receipt, confirmed_at=now))
    await uow.commit()
    return {"receipt_number": receipt, "confirmed_at": now}


__all__ = ["router"]
