"""Bank payment notifications (webhook), signed with HMAC-SHA256 per partner key."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from sambang_contracts import PaymentSource
from sambang_runtime.logs import get_logger

from ..domain.notifications import (
    SignatureError,
    invalid_signature,
    missing_signature,
    parse_notification,
    verify_signature,
)
from ..domain.offices import as_utc
from ..domain.partners import KeyState, key_state
from ..domain.payments import IncomingPayment
from ..errors import signature_refused
from ..ledger import record_payment
from ..stores import partners, payments
from .deps import ContextDep, UowDep, read_body

log = get_logger(__name__)

router = APIRouter(prefix="/v1/payments", tags=["payments"])


class NotificationOutcome(BaseModel):
    """What a signed notification did."""

    notification_id: int
    outcome: str = Field(description="APPLIED, DUPLICATE or DISCREPANCY")
    discrepancy_kind: str | None
    billing_code: str
    ntpn: str


_SIGNED_BODY = {
    "requestBody": {
        "required": True,
        "description": "JSON {billing_code, amount, ntpn, bank_reference, channel, paid_at}, signed as sent",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


@router.post(
    "/notifications",
    responses={401: {"description": "missing, forged or stale signature"}, 413: {}, 422: {}},
    openapi_extra=_SIGNED_BODY,
)
async def receive_bank_notification(request: Request, uow: UowDep, context: ContextDep) -> NotificationOutcome:
    """A bank's signed payment notification: recorded and answered APPLIED, DUPLICATE or DISCREPANCY.

    The signature is checked over the exact bytes received, before the body is parsed; a refused
    call (401, 413, 422) changes nothing.
    """
    settings = context.settings
    key_id = request.headers.get("x-partner-key", "").strip()[:64]
    header = request.headers.get("x-signature")
    if not key_id or not header:
        raise signature_refused(missing_signature())
    body = await read_body(request, settings.notification_max_bytes)
    now = uow.now()
    key = await partners.signing_key(uow, key_id)
    if (
        key is None
        or key.secret is None
        or key_state(revoked_at=key.revoked_at, valid_until=key.valid_until, now=now) is not KeyState.ACTIVE
    ):
        log.warning("notification.refused", reason="unknown_revoked_or_expired_key", key_id=key_id)
        raise signature_refused(invalid_signature())
    try:
        signed = verify_signature(
            [key.secret],
            header,
            body,
            now=now.timestamp(),
            window_seconds=settings.signature_window_seconds,
            future_skew_seconds=settings.signature_future_skew_seconds,
        )
    except SignatureError as error:
        log.warning("notification.refused", reason=error.code, key_id=key_id, partner=key.partner_id)
        raise signature_refused(error) from None
    try:
        notice = parse_notification(body)
    except ValidationError as exc:
        # Rendered as every request body is (422 validation_failed, locations and messages only).
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_input=False)]
        ) from None
    payment = IncomingPayment(
        billing_code=notice.billing_code,
        ntpn=notice.ntpn,
        amount=notice.amount,
        paid_at=as_utc(notice.paid_at),
        channel=notice.channel,
        bank_reference=notice.bank_reference,
        source=PaymentSource.WEBHOOK,
        partner_id=key.partner_id,
    )
    recorded = await record_payment(uow, payment)
    assert recorded is not None  # no office scope: every payment is recorded
    notification_id = await payments.record_notification(
        uow,
        partner_id=key.partner_id,
        key_id=key_id,
        signed_at=dt.datetime.fromtimestamp(signed, dt.UTC),
        p=payment,
        verdict=recorded.verdict,
        body=body,
        now=now,
    )
    await uow.commit()
    return NotificationOutcome(
        notification_id=notification_id,
        outcome=recorded.verdict.outcome.value,
        discrepancy_kind=recorded.verdict.kind.value if recorded.verdict.kind else None,
        billing_code=payment.billing_code,
        ntpn=payment.ntpn,
    )
