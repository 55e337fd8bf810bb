"""Bank payment notifications (webhook), signed with HMAC-SHA256 per partner key."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from sambang_runtime.http import read_limited_body

from ..domain.notifications import NotificationBody, SignatureError, missing_signature, parse_notification
from ..errors import signature_refused
from ..usecases.payments import authenticate_notification, record_notification
from .deps import ContextDep, UowDep

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
    key_id = request.headers.get("x-partner-key", "").strip()[:64]
    header = request.headers.get("x-signature")
    if not key_id or not header:
        raise signature_refused(missing_signature())
    body = await read_limited_body(request, context.settings.notification_max_bytes)
    now = uow.now()
    try:
        signed = await authenticate_notification(uow, key_id=key_id, header=header, body=body, now=now)
    except SignatureError as error:
        raise signature_refused(error) from None
    recorded = await record_notification(uow, signed, _parsed(body), body=body, now=now)
    await uow.commit()
    return NotificationOutcome(
        notification_id=recorded.notification_id,
        outcome=recorded.verdict.outcome.value,
        discrepancy_kind=recorded.verdict.kind.value if recorded.verdict.kind else None,
        billing_code=recorded.payment.billing_code,
        ntpn=recorded.payment.ntpn,
    )


def _parsed(body: bytes) -> NotificationBody:
    """The notification body, or 422 ``validation_failed`` rendered as every request body is."""
    try:
        return parse_notification(body)
    except ValidationError as exc:
        # Locations and messages only: the input is not echoed.
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False, include_input=False)]
        ) from None
