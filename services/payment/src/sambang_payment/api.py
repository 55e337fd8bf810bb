"""REST endpoints of the payment service (API.md, payment table)."""

from __future__ import annotations

import datetime as dt
import hmac
import time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sambang_contracts import PaymentSource
from sambang_runtime.auth import OptionalPrincipal, Principal, ensure_office, require_roles
from sambang_runtime.clientaddr import client_address
from sambang_runtime.logs import get_logger
from sambang_runtime.problems import ProblemError
from sambang_runtime.ratelimit import RateLimiter
from sambang_runtime.service import RuntimeDep, UowDep
from sqlalchemy import select

from .billing import birth_date_index, office_rules, zone
from .dialects import insert_ignoring_conflicts
from .domain import (
    FeeScheduleDocument,
    PaymentRuleError,
    SettlementFileError,
    SignatureError,
    as_utc,
    invalid_signature,
    local_day_bounds,
    missing_signature,
    parse_notification,
    parse_settlement,
    settlement_sha256,
    verify_signature,
)
from .ledger import IncomingPayment, reconcile, record_notification, record_payment
from .models import BILL, DISCREPANCY, FEE_SCHEDULE, PARTNER
from .partners import PARTNER_ID, active_secret, list_partners, register_partner, revoke_key, rotate_key
from .schedules import all_schedules, schedule_row
from .settings import PaymentSettings

log = get_logger(__name__)

router = APIRouter(tags=["payment"])

#: Officers who may read any bill of their own office without the applicant's birth date.
OFFICER_ROLES = ("customer_care", "verifier", "sambang_officer", "interviewer", "supervisor")

_STATUS = {
    "missing_signature": 401,
    "invalid_signature": 401,
    "stale_signature": 401,
    "partner_exists": 409,
    "unknown_partner": 404,
    "unknown_key": 404,
}

AdminDep = Annotated[Principal, Depends(require_roles("admin"))]
SupervisorDep = Annotated[Principal, Depends(require_roles("supervisor"))]


def problem(error: PaymentRuleError, status: int | None = None) -> ProblemError:
    """A domain rule error as a problem response."""
    headers = {"WWW-Authenticate": 'HMAC realm="sambang-payment"'} if isinstance(error, SignatureError) else None
    return ProblemError(
        status or _STATUS.get(error.code, 422), error.code, error.detail_en, error.detail_id, headers=headers
    )


async def settings_of(request: Request) -> PaymentSettings:
    """The payment settings built by the composition root."""
    settings: PaymentSettings = request.app.state.payment_settings
    return settings


PaymentSettingsDep = Annotated[PaymentSettings, Depends(settings_of)]


def utcnow() -> dt.datetime:
    """Now, in UTC."""
    return dt.datetime.now(dt.UTC)


def _field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    # Locations and messages only: inputs are what the caller sent and are not echoed.
    return [
        {"loc": ["body", *[str(p) for p in e["loc"]]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def _too_large(limit: int) -> ProblemError:
    return ProblemError(
        413,
        "payload_too_large",
        f"The request body is larger than {limit} bytes",
        f"Isi permintaan lebih besar dari {limit} byte",
    )


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    body = await request.body()
    if len(body) > limit:
        raise _too_large(limit)
    return body


# --- fee schedule -------------------------------------------------------------------------------


@router.get("/v1/fees")
async def read_fee_schedule(
    uow: UowDep,
    payment_settings: PaymentSettingsDep,
    on: Annotated[dt.date | None, Query(description="Date (YYYY-MM-DD); today in Indonesia by default")] = None,
) -> dict[str, Any]:
    """The fee schedule (tarif PNBP) in force on a date, and any schedule loaded for later."""
    day = on or utcnow().astimezone(zone(payment_settings.default_timezone)).date()
    schedules = await all_schedules(uow.session)
    in_force = [s for s in schedules if s.effective_from <= day]
    if not in_force:
        raise ProblemError(
            404,
            "no_fee_schedule",
            "No fee schedule is in force on that date",
            "Tidak ada tarif yang berlaku pada tanggal itu",
        )
    current = max(in_force, key=lambda s: s.effective_from)
    upcoming = [{"name": s.name, "effective_from": s.effective_from} for s in schedules if s.effective_from > day]
    return {"on": day, **current.model_dump(mode="json"), "upcoming": upcoming}


@router.put("/v1/fees", status_code=201)
async def load_fee_schedule(
    document: FeeScheduleDocument, uow: UowDep, principal: AdminDep, payment_settings: PaymentSettingsDep
) -> dict[str, Any]:
    """Load a new fee schedule from today or a later date; bills already issued keep their amounts."""
    today = utcnow().astimezone(zone(payment_settings.default_timezone)).date()
    if document.effective_from < today:
        raise ProblemError(
            422,
            "effective_date_in_past",
            "A new fee schedule cannot take effect in the past",
            "Tarif baru tidak dapat berlaku surut",
        )
    row = schedule_row(document, loaded_by=principal.sub, now=utcnow())
    conn = await uow.session.connection()
    inserted = await conn.execute(insert_ignoring_conflicts(conn, FEE_SCHEDULE, row.model_dump(exclude={"id"})))
    if not inserted.rowcount:
        raise ProblemError(
            409,
            "schedule_exists",
            "A fee schedule already takes effect on that date",
            "Sudah ada tarif yang berlaku mulai tanggal itu",
        )
    await uow.commit()
    log.info("fees.schedule_loaded", name=document.name, effective_from=document.effective_from.isoformat())
    return {"name": document.name, "effective_from": document.effective_from}


# --- bills --------------------------------------------------------------------------------------


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.lookup_limiter
    return limiter


def _rate_limit(request: Request) -> None:
    wait = _limiter(request).take(client_address(request), time.monotonic())
    if wait > 0:
        raise ProblemError.common(429, "rate_limited", headers={"Retry-After": str(max(1, int(wait + 0.999)))})


def _not_found() -> ProblemError:
    return ProblemError.common(404, "not_found")


@router.get("/v1/bills/{receipt_number}")
async def read_bill(
    receipt_number: str,
    request: Request,
    uow: UowDep,
    runtime: RuntimeDep,
    principal: OptionalPrincipal,
    birth_date: Annotated[dt.date | None, Query(description="The applicant's birth date (public callers)")] = None,
) -> dict[str, Any]:
    """A bill: applicants prove the receipt with their birth date; officers of the office need not."""
    officer = principal is not None and principal.has_any(*OFFICER_ROLES) and birth_date is None
    if not officer:
        # Counted before any lookup, so guessing birth dates is slow whatever the answers are.
        _rate_limit(request)
        if birth_date is None:
            raise ProblemError(
                422,
                "birth_date_required",
                "The applicant's birth date is required",
                "Tanggal lahir pemohon wajib diisi",
            )
    conn = await uow.session.connection()
    bill = (await conn.execute(select(BILL).where(BILL.c.receipt_number == receipt_number[:32]))).first()
    if bill is None:
        raise _not_found()
    if officer:
        assert principal is not None
        ensure_office(principal, bill.office)
    else:
        assert birth_date is not None
        given = birth_date_index(runtime.cipher, bill.receipt_number, birth_date)
        # Wrong birth date and unknown receipt answer alike.
        if not hmac.compare_digest(given, bill.birth_date_index):
            raise _not_found()
    out: dict[str, Any] = {
        "receipt_number": bill.receipt_number,
        "office": bill.office,
        "billing_code": bill.billing_code,
        "amount": bill.amount,
        "items": bill.items,
        "status": bill.status,
        "issued_at": as_utc(bill.issued_at),
        "expires_at": as_utc(bill.expires_at),
        "paid_at": as_utc(bill.paid_at) if bill.paid_at else None,
        "ntpn": bill.ntpn,
    }
    if officer:
        out |= {"priority": bill.priority, "validity_years": bill.validity_years, "schedule": bill.schedule_name}
    return out


# --- bank notifications -------------------------------------------------------------------------


@router.post("/v1/payments/notifications")
async def receive_bank_notification(
    request: Request, uow: UowDep, runtime: RuntimeDep, payment_settings: PaymentSettingsDep
) -> dict[str, Any]:
    """A bank's signed payment notification: recorded and answered APPLIED, DUPLICATE or DISCREPANCY.

    The signature is checked over the exact bytes received, before the body is parsed; a refused
    call (401, 413, 422) changes nothing.
    """
    key_id = request.headers.get("x-partner-key", "").strip()
    header = request.headers.get("x-signature")
    if not key_id or not header:
        raise problem(missing_signature())
    body = await _read_body(request, payment_settings.notification_max_bytes)
    now = utcnow()
    conn = await uow.session.connection()
    found = await active_secret(conn, runtime.cipher, key_id[:64], now=now)
    if found is None:
        log.warning("notification.refused", reason="unknown_revoked_or_expired_key", key_id=key_id[:64])
        raise problem(invalid_signature())
    partner_id, secret = found
    try:
        signed = verify_signature(
            [secret],
            header,
            body,
            now=now.timestamp(),
            window_seconds=payment_settings.signature_window_seconds,
            future_skew_seconds=payment_settings.signature_future_skew_seconds,
        )
    except SignatureError as error:
        log.warning("notification.refused", reason=error.code, key_id=key_id, partner=partner_id)
        raise problem(error) from None
    try:
        notice = parse_notification(body)
    except ValidationError as exc:
        errors = _field_errors(exc)
        if any(e["type"] == "json_invalid" for e in errors):
            raise ProblemError(
                422,
                "validation_failed",
                "The request body is not valid JSON",
                "Isi permintaan bukan JSON yang valid",
                extra={"errors": errors},
            ) from None
        raise ProblemError(
            422,
            "validation_failed",
            "The notification contains invalid data",
            "Notifikasi berisi data yang tidak valid",
            extra={"errors": errors},
        ) from None
    payment = IncomingPayment(
        billing_code=notice.billing_code,
        ntpn=notice.ntpn,
        amount=notice.amount,
        paid_at=as_utc(notice.paid_at),
        channel=notice.channel,
        bank_reference=notice.bank_reference,
        source=PaymentSource.WEBHOOK,
        partner_id=partner_id,
    )
    recorded = await record_payment(uow, payment, now=now)
    assert recorded is not None
    notification_id = await record_notification(
        conn,
        partner_id=partner_id,
        key_id=key_id,
        signed_at=dt.datetime.fromtimestamp(signed, dt.UTC),
        p=payment,
        verdict=recorded.verdict,
        body=body,
        now=now,
    )
    await uow.commit()
    return {
        "notification_id": notification_id,
        "outcome": recorded.verdict.outcome.value,
        "discrepancy_kind": recorded.verdict.kind.value if recorded.verdict.kind else None,
        "billing_code": payment.billing_code,
        "ntpn": payment.ntpn,
    }


# --- settlement reconciliation ------------------------------------------------------------------


@router.post("/v1/reconciliations")
async def upload_settlement(
    request: Request,
    uow: UowDep,
    principal: SupervisorDep,
    payment_settings: PaymentSettingsDep,
    partner: Annotated[str, Query(description="The partner (bank) whose settlement file this is")],
    date: Annotated[
        dt.date | None, Query(description="Settlement day (office time); default: the days of the rows")
    ] = None,
) -> dict[str, Any]:
    """Reconcile a bank's daily settlement file (text/csv) for the supervisor's office; once per file.

    Header exactly ``billing_code,ntpn,amount,paid_at,channel,bank_reference`` (CRLF and a UTF-8 BOM
    accepted). The bank is named by the ``partner`` query parameter. Uploading the same bytes again
    answers the first result with ``already_processed: true`` and applies nothing.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("text/csv", "application/csv"):
        raise ProblemError(
            415,
            "unsupported_media_type",
            "Send the settlement file as text/csv",
            "Kirim berkas settlement sebagai text/csv",
        )
    raw = await _read_body(request, payment_settings.settlement_max_bytes)
    conn = await uow.session.connection()
    if (await conn.execute(select(PARTNER.c.partner_id).where(PARTNER.c.partner_id == partner))).first() is None:
        raise ProblemError(404, "unknown_partner", "No partner has this id", "Tidak ada mitra dengan id ini")
    try:
        parsed = parse_settlement(raw)
    except SettlementFileError as error:
        raise problem(error, 422) from None
    if len(parsed.rows) + len(parsed.errors) > payment_settings.settlement_max_rows:
        raise ProblemError(
            422,
            "too_many_rows",
            f"A settlement file may hold at most {payment_settings.settlement_max_rows} rows",
            f"Berkas settlement paling banyak {payment_settings.settlement_max_rows} baris",
        )
    result = await reconcile(
        uow,
        partner_id=partner,
        office=principal.office,
        uploaded_by=principal.sub,
        sha256=settlement_sha256(raw),
        parsed=parsed,
        settlement_date=date,
        default_timezone=payment_settings.default_timezone,
        now=utcnow(),
    )
    await uow.commit()
    return result


@router.get("/v1/discrepancies")
async def list_discrepancies(
    uow: UowDep,
    principal: SupervisorDep,
    payment_settings: PaymentSettingsDep,
    office: str | None = None,
    date_from: Annotated[dt.date | None, Query(alias="from")] = None,
    date_to: Annotated[dt.date | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> dict[str, Any]:
    """Discrepancies of the supervisor's office detected between two office-local dates (inclusive)."""
    office = office or principal.office
    ensure_office(principal, office)
    office = principal.office
    rules = await office_rules(uow, office, payment_settings.default_timezone)
    today = utcnow().astimezone(rules.timezone).date()
    first = date_from or today - dt.timedelta(days=30)
    last = date_to or today
    if last < first:
        raise ProblemError(422, "invalid_range", "'to' is before 'from'", "'to' sebelum 'from'")
    start, end = local_day_bounds([first, last], rules.timezone)
    conn = await uow.session.connection()
    rows = (
        await conn.execute(
            select(DISCREPANCY)
            .where(DISCREPANCY.c.office == office, DISCREPANCY.c.detected_at >= start, DISCREPANCY.c.detected_at < end)
            .order_by(DISCREPANCY.c.detected_at, DISCREPANCY.c.id)
            .limit(limit)
        )
    ).all()
    items = [
        {
            "id": r.id,
            "kind": r.kind,
            "receipt_number": r.receipt_number,
            "billing_code": r.billing_code,
            "ntpn": r.ntpn,
            "amount": r.amount,
            "detail": r.detail,
            "source": r.source,
            "partner": r.partner_id,
            "detected_at": as_utc(r.detected_at),
        }
        for r in rows
    ]
    return {"office": office, "from": first, "to": last, "items": items}


# --- partners -----------------------------------------------------------------------------------


class PartnerIn(BaseModel):
    """A new payment partner."""

    model_config = ConfigDict(extra="forbid")

    partner_id: Annotated[str, Field(pattern=PARTNER_ID.pattern, description="e.g. BANKBRI")]
    name: Annotated[str, Field(min_length=1, max_length=200)]


class RotateIn(BaseModel):
    """How long the old key keeps working."""

    model_config = ConfigDict(extra="forbid")

    grace_seconds: Annotated[int | None, Field(ge=0, le=30 * 24 * 3600)] = None


class RevokeIn(BaseModel):
    """The key to refuse from now on."""

    model_config = ConfigDict(extra="forbid")

    key_id: Annotated[str, Field(min_length=1, max_length=64)]


_SIGNING = "X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.<raw body>')>"


@router.post("/v1/partners", status_code=201)
async def create_partner(body: PartnerIn, uow: UowDep, runtime: RuntimeDep, principal: AdminDep) -> dict[str, Any]:
    """Register a bank partner and its first key; the secret is shown this once."""
    conn = await uow.session.connection()
    try:
        issued = await register_partner(conn, runtime.cipher, body.partner_id, body.name, now=utcnow())
    except PaymentRuleError as error:
        raise problem(error) from None
    await uow.commit()
    log.info("partner.registered", partner=issued.partner_id, key_id=issued.key_id, by=principal.sub)
    return {
        "partner_id": issued.partner_id,
        "name": body.name,
        "key_id": issued.key_id,
        "secret": issued.secret,
        "signing": _SIGNING,
    }


@router.get("/v1/partners")
async def read_partners(uow: UowDep, _principal: AdminDep) -> list[dict[str, object]]:
    """Partners and the state of their keys (never a secret)."""
    return await list_partners(await uow.session.connection(), now=utcnow())


@router.post("/v1/partners/{partner_id}/rotate")
async def rotate_partner_key(
    partner_id: str,
    uow: UowDep,
    runtime: RuntimeDep,
    principal: AdminDep,
    payment_settings: PaymentSettingsDep,
    body: Annotated[RotateIn | None, Body()] = None,
) -> dict[str, Any]:
    """A new key; the old ones keep working for the grace period (default 24 hours, 0 ends them now)."""
    grace = body.grace_seconds if body and body.grace_seconds is not None else payment_settings.rotation_grace_seconds
    conn = await uow.session.connection()
    try:
        issued = await rotate_key(conn, runtime.cipher, partner_id, grace_seconds=grace, now=utcnow())
    except PaymentRuleError as error:
        raise problem(error) from None
    await uow.commit()
    log.info("partner.key_rotated", partner=partner_id, key_id=issued.key_id, grace_seconds=grace, by=principal.sub)
    return {
        "partner_id": partner_id,
        "key_id": issued.key_id,
        "secret": issued.secret,
        "previous_keys_valid_until": issued.previous_valid_until,
        "signing": _SIGNING,
    }


@router.post("/v1/partners/{partner_id}/revoke")
async def revoke_partner_key(partner_id: str, body: RevokeIn, uow: UowDep, principal: AdminDep) -> Response:
    """Refuse one key from now on (a leaked secret)."""
    conn = await uow.session.connection()
    try:
        await revoke_key(conn, partner_id, body.key_id, now=utcnow())
    except PaymentRuleError as error:
        raise problem(error) from None
    await uow.commit()
    log.warning("partner.key_revoked", partner=partner_id, key_id=body.key_id, by=principal.sub)
    return Response(status_code=204)
