"""The delivery log: one row per message to one address, claimed before it is sent.

The unique key (event, channel, recipient) is taken in the transaction that handles the event, so a
redelivered or replayed event finds its messages already there and adds none. A dispatcher takes due
rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two replicas never take the same row), marks them
SENDING in its own commit, and only then sends: a row is never taken twice, so nothing is sent twice.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sambang_contracts import NotificationChannel
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Row, select, update

from ..domain.delivery import Decision, Status, mask, normalise_address
from ..models import notification


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to record: rendered, for one address on one channel."""

    id: str
    event_id: str
    event_type: str
    receipt_number: str
    office: str
    template: str
    language: str
    channel: NotificationChannel
    address: str
    content: dict[str, str]


@dataclass(frozen=True, slots=True)
class Claimed(NewMessage):
    """A message a dispatcher took: the message, and the attempt this is (1 for the first)."""

    attempts: int


@dataclass(frozen=True, slots=True)
class Settled:
    """A message whose outcome was recorded (what the notifier.* event says)."""

    id: str
    receipt_number: str
    office: str
    template: str
    channel: NotificationChannel
    status: Status
    reason: str
    permanent: bool


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One message of the delivery log as officers see it (the address masked)."""

    notification_id: str
    event_id: str
    event_type: str
    template: str
    language: str
    channel: str
    recipient: str
    status: str
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    failed_at: dt.datetime | None


def _address_context(message_id: str) -> str:
    return f"notification.recipient:{message_id}"


def _content_context(message_id: str) -> str:
    return f"notification.content:{message_id}"


async def record(uow: UnitOfWork, messages: list[NewMessage], *, now: dt.datetime) -> list[str]:
    """Record messages, skipping each whose (event, channel, recipient) is already there; returns the new ids."""
    if not messages:
        return []
    cipher = uow.cipher
    rows = [
        {
            "id": m.id,
            "event_id": m.event_id,
            "event_type": m.event_type,
            "receipt_number": m.receipt_number,
            "office": m.office,
            "template": m.template,
            "language": m.language,
            "channel": m.channel.value,
            "recipient_key": cipher.blind_index(
                normalise_address(m.channel, m.address), purpose=f"notification.{m.channel.value.lower()}"
            ),
            "recipient_enc": cipher.encrypt(m.address, context=_address_context(m.id)),
            "content_enc": cipher.encrypt(json.dumps(m.content), context=_content_context(m.id)),
            "status": Status.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for m in messages
    ]
    conn = await uow.session.connection()
    key = ["event_id", "channel", "recipient_key"]
    return [r[0] for r in await upsert(conn, notification, rows, key=key, returning=[notification.c.id])]


async def claim_due(uow: UnitOfWork, *, now: dt.datetime, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due messages: SENDING, one more attempt; commit before sending them."""
    due = (
        select(notification.c.id)
        .where(notification.c.status == Status.PENDING.value, notification.c.next_attempt_at <= now)
        .order_by(notification.c.next_attempt_at, notification.c.seq)
        .limit(limit)
    )
    conn = await uow.session.connection()
    if conn.dialect.name == "postgresql":
        # Two replicas' dispatchers take disjoint rows instead of waiting for each other.
        due = due.with_for_update(skip_locked=True)
    # The ids first, then the update: as ``UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)``
    # PostgreSQL may run the subquery more than once, each time skipping the rows it has just locked,
    # and so claimed every due row whatever the limit (seen: 20 claimed for a limit of 4).
    ids = list((await conn.execute(due)).scalars())
    if not ids:
        return []
    stmt = (
        update(notification)
        .where(notification.c.id.in_(ids), notification.c.status == Status.PENDING.value)
        .values(status=Status.SENDING.value, claimed_at=now, attempts=notification.c.attempts + 1)
        .returning(*notification.c)
    )
    rows = (await conn.execute(stmt)).all()
    cipher = uow.cipher
    return [
        Claimed(
            id=r.id,
            event_id=r.event_id,
            event_type=r.event_type,
            language=r.language,
            receipt_number=r.receipt_number,
            office=r.office,
            template=r.template,
            channel=NotificationChannel(r.channel),
            address=cipher.decrypt(r.recipient_enc, context=_address_context(r.id)),
            content=json.loads(cipher.decrypt(r.content_enc, context=_content_context(r.id))),
            attempts=r.attempts,
        )
        for r in sorted(rows, key=lambda r: r.seq)
    ]


async def settle(
    uow: UnitOfWork, message: Claimed, decision: Decision, *, reason: str, now: dt.datetime
) -> Settled | None:
    """Record the outcome of a try (sent, due again later, or failed); None when the row was not ours any more."""
    values: dict[str, Any] = {
        "status": decision.status.value,
        "next_attempt_at": decision.next_attempt_at,
        "claimed_at": None,
        "last_error": reason[:500] if reason else None,
    }
    if decision.status == Status.SENT:
        values["sent_at"] = now
    elif decision.status == Status.FAILED:
        values["failed_at"] = now
    conn = await uow.session.connection()
    result = await conn.execute(
        update(notification)
        .where(notification.c.id == message.id, notification.c.status == Status.SENDING.value)
        .values(**values)
        .returning(notification.c.id)
    )
    if result.first() is None:
        return None
    return Settled(
        message.id,
        message.receipt_number,
        message.office,
        message.template,
        message.channel,
        decision.status,
        reason,
        decision.permanent,
    )


async def fail_interrupted(uow: UnitOfWork, *, now: dt.datetime, lease: dt.timedelta) -> list[Settled]:
    """Messages left SENDING past their lease (a dispatcher died mid-send): failed, never sent again."""
    reason = "interrupted while sending; not sent again, it may have gone out"
    conn = await uow.session.connection()
    rows = await conn.execute(
        update(notification)
        .where(notification.c.status == Status.SENDING.value, notification.c.claimed_at < now - lease)
        .values(status=Status.FAILED.value, failed_at=now, claimed_at=None, last_error=reason)
        .returning(
            notification.c.id,
            notification.c.receipt_number,
            notification.c.office,
            notification.c.template,
            notification.c.channel,
        )
    )
    return [
        Settled(
            r.id, r.receipt_number, r.office, r.template, NotificationChannel(r.channel), Status.FAILED, reason, True
        )
        for r in rows
    ]


def _entry(row: Row[Any], address: str) -> LogEntry:
    channel = NotificationChannel(row.channel)
    return LogEntry(
        notification_id=row.id,
        event_id=row.event_id,
        event_type=row.event_type,
        template=row.template,
        language=row.language,
        channel=row.channel,
        recipient=mask(channel, address),
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        failed_at=row.failed_at,
    )


async def log_of(uow: UnitOfWork, receipt: str) -> list[LogEntry]:
    """The delivery log of one receipt, oldest first, addresses masked."""
    conn = await uow.session.connection()
    rows = await conn.execute(
        select(notification).where(notification.c.receipt_number == receipt).order_by(notification.c.seq)
    )
    cipher = uow.cipher
    return [_entry(r, cipher.decrypt(r.recipient_enc, context=_address_context(r.id))) for r in rows]
