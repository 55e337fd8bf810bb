"""Outcomes of sending: each recorded with its notifier.* event, by the dispatcher or the housekeeping."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import NotificationFailed, NotificationSent
from sambang_runtime.uow import UnitOfWork

from ..domain.delivery import Decision, Status
from ..stores import notifications
from ..stores.notifications import Claimed, Settled


def _announce(uow: UnitOfWork, settled: Settled) -> None:
    """notifier.notification.sent, or .failed (permanent or, when it will be tried again, not)."""
    if settled.status == Status.SENT:
        sent = NotificationSent(
            receipt_number=settled.receipt_number,
            notification_id=settled.id,
            channel=settled.channel,
            template=settled.template,
        )
        uow.emit(sent, office=settled.office)
        return
    failed = NotificationFailed(
        receipt_number=settled.receipt_number,
        notification_id=settled.id,
        channel=settled.channel,
        template=settled.template,
        reason=settled.reason or "failed",
        permanent=settled.permanent,
    )
    uow.emit(failed, office=settled.office)


async def settle_message(
    uow: UnitOfWork, message: Claimed, decision: Decision, *, reason: str, now: dt.datetime
) -> Settled | None:
    """Record what a try did and announce it; None (nothing announced) when the row was not ours any more."""
    settled = await notifications.settle(uow, message, decision, reason=reason, now=now)
    if settled is not None:
        _announce(uow, settled)
    return settled


async def fail_interrupted_sends(uow: UnitOfWork, *, now: dt.datetime, lease: dt.timedelta) -> list[Settled]:
    """Messages left SENDING past their lease (a dispatcher died mid-send): failed and announced, never resent."""
    interrupted = await notifications.fail_interrupted(uow, now=now, lease=lease)
    for settled in interrupted:
        _announce(uow, settled)
    return interrupted
