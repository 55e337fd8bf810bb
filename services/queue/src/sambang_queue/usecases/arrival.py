"""The arrival link: signed and sent once the application is paid (payment.confirmed), confirmed by
the applicant (POST .../arrival-confirmation). Both sides use the same keyed MAC."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import ArrivalConfirmed, ArrivalLinkIssued
from sambang_runtime.crypto import PiiCipher
from sambang_runtime.errors import DomainError
from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..domain.arrival import Mac, arrival_link_expiry, sign_arrival_token, verify_arrival_token
from ..domain.status import NOT_YET_ARRIVED, Status
from ..stores import applications, offices, trail
from ..stores.applications import ApplicationRecord, ApplicationUpdate


def arrival_mac(cipher: PiiCipher) -> Mac:
    """The keyed hash that signs arrival links (the cipher's blind-index key, for this purpose only)."""

    def sign(message: str) -> str:
        return cipher.blind_index(message, purpose="arrival")

    return sign


async def issue_arrival_link(uow: UnitOfWork, app: ApplicationRecord, status: Status, now: dt.datetime) -> None:
    """Once paid and not yet arrived: a link valid until the end of the appointment day (at most once;
    never for a walk-in, who is already there)."""
    if status not in NOT_YET_ARRIVED or app.walk_in or app.arrival_expires_at is not None:
        return
    expires_at = arrival_link_expiry(app.slot_date, await offices.timezone_of(uow, app.office))
    if expires_at <= now:
        return
    receipt = app.receipt_number
    token = sign_arrival_token(receipt, expires_at, arrival_mac(uow.cipher))
    url = f"{context_of(uow).public_base_url}/arrival?receipt={receipt}&token={token}"
    await applications.update_application(uow, receipt, ApplicationUpdate(arrival_expires_at=expires_at))
    await trail.add_timeline(uow, receipt, "ARRIVAL_LINK_ISSUED", now, detail={"expires_at": expires_at.isoformat()})
    uow.emit(ArrivalLinkIssued(receipt_number=receipt, url=url, token=token, expires_at=expires_at))


async def confirm_arrival(uow: UnitOfWork, receipt_number: str, token: str, now: dt.datetime) -> dt.datetime:
    """The applicant confirms they will come; idempotent (returns when they first confirmed).
    A forged token 403 invalid_token, an expired one 410 link_expired."""
    # The token is checked before any look-up: a forged link learns nothing about the receipt.
    verify_arrival_token(receipt_number, token, now, arrival_mac(uow.cipher))
    app = await applications.find(uow, receipt_number, lock=True)
    if app is None:
        raise DomainError("invalid_token")
    if app.arrival_confirmed_at is not None:
        return app.arrival_confirmed_at
    status = Status(app.status)
    if status not in NOT_YET_ARRIVED and status not in {Status.CHECKED_IN, Status.IN_SERVICE}:
        raise DomainError("application_closed")
    await applications.update_application(
        uow, receipt_number, ApplicationUpdate(arrival_confirmed_at=now, updated_at=now)
    )
    if status in NOT_YET_ARRIVED:
        await applications.set_status(uow, receipt_number, Status.ARRIVAL_CONFIRMED, now)
    await trail.add_timeline(uow, receipt_number, "ARRIVAL_CONFIRMED", now)
    uow.emit(ArrivalConfirmed(receipt_number=receipt_number, confirmed_at=now))
    return now
