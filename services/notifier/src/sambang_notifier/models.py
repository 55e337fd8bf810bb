"""Tables of the notifier service (its own database).

SQLAlchemy Core tables: the writes that matter are claims decided by a unique key or a row count
(a message claimed before it is sent, a stream event numbered once), written out as statements.
Personal data (names, addresses, rendered messages, held events) is stored encrypted (``*_enc``).
"""

from __future__ import annotations

from sambang_runtime.db import UtcDateTime, new_metadata
from sambang_runtime.outbox import define_bus_tables
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    false,
    true,
)

metadata = new_metadata()
bus_tables = define_bus_tables(metadata)


#: Who to tell about a receipt, from queue.application.registered: language, name and contacts.
recipient = Table(
    "recipient",
    metadata,
    Column("receipt_number", String(16), primary_key=True),
    Column("office", String(3), nullable=False),
    Column("language", String(2), nullable=False),
    Column("name_enc", Text, nullable=False),
    Column("email_enc", Text),
    Column("phone_enc", Text),
    Column("registered_at", UtcDateTime, nullable=False),
)

#: Office names, time zones and reminder rules, from queue.office.updated (deadlines are told in office time).
office = Table(
    "office",
    metadata,
    Column("code", String(3), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("reminder_enabled", Boolean, nullable=False, server_default=true()),
    # Office-local hour of the reminder the day before (0-23).
    Column("reminder_hour", Integer, nullable=False, server_default="16"),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: What the reminder the day before needs of each application, from queue and payment events in any order:
#: the registration's columns stay empty until it arrives (a cancellation may come first). The birth date
#: (for the age on the visit day) and the arrival link (a secret) are encrypted.
appointment = Table(
    "appointment",
    metadata,
    Column("receipt_number", String(16), primary_key=True),
    Column("office", String(3), nullable=False),
    Column("slot_date", Date),
    Column("slot_start", Time),
    Column("slot_end", Time),
    Column("service_type", String(32)),
    Column("birth_date_enc", Text),
    Column("walk_in", Boolean),
    Column("arrival_url_enc", Text),
    Column("arrival_expires_at", UtcDateTime),
    Column("arrival_confirmed", Boolean, nullable=False, server_default=false()),
    # Why no reminder goes any more: CANCELLED_<queue's reason>, BILL_EXPIRED, BILL_VOIDED.
    Column("closed", String(40)),
    # Set once, by the replica that claimed the reminder (in the transaction that records its messages).
    Column("reminded_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index(
    "ix_appointment_due",
    appointment.c.office,
    appointment.c.slot_date,
    postgresql_where=appointment.c.reminded_at.is_(None),
    sqlite_where=appointment.c.reminded_at.is_(None),
)

#: One message to one address: the delivery log. The unique key (event, channel, recipient) is claimed
#: in the transaction of the event, before anything is sent, so a redelivered event sends nothing twice.
notification = Table(
    "notification",
    metadata,
    # The order messages were recorded in (created_at ties within one transaction, and under a test's clock).
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("receipt_number", String(16), nullable=False, index=True),
    Column("office", String(3), nullable=False),
    Column("template", String(50), nullable=False),
    Column("language", String(2), nullable=False),
    Column("channel", String(8), nullable=False),
    # A keyed hash of the address: the dedupe key without the address in clear.
    Column("recipient_key", String(64), nullable=False),
    Column("recipient_enc", Text, nullable=False),
    Column("content_enc", Text, nullable=False),
    # PENDING (due at next_attempt_at), SENDING (claimed by a dispatcher), SENT, FAILED
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime),
    Column("claimed_at", UtcDateTime),
    Column("last_error", String(500)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("failed_at", UtcDateTime),
    UniqueConstraint("event_id", "channel", "recipient_key"),
)
Index(
    "ix_notification_due",
    notification.c.next_attempt_at,
    postgresql_where=notification.c.status == "PENDING",
    sqlite_where=notification.c.status == "PENDING",
)
Index("ix_notification_sending", notification.c.claimed_at)

#: Events about a receipt the notifier has no registration for yet (events may arrive in any order);
#: replayed when queue.application.registered comes. The event is stored encrypted.
deferred_event = Table(
    "deferred_event",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("receipt_number", String(16), nullable=False, index=True),
    Column("event_type", String(100), nullable=False),
    Column("body_enc", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, index=True),
)

#: Message templates by name and language, editable by an admin; the shipped defaults are seeded.
template = Table(
    "template",
    metadata,
    Column("name", String(50), nullable=False),
    Column("language", String(2), nullable=False),
    Column("subject", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("sms", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # None while the shipped default stands.
    Column("updated_by", String(200)),
    PrimaryKeyConstraint("name", "language"),
)

#: The last id given to a stream's events: taking it (UPDATE ... +1) serialises the writers of one stream,
#: so ids are in commit order and a reader that has seen id N has seen everything below N.
stream_counter = Table(
    "stream_counter",
    metadata,
    Column("office", String(3), nullable=False),
    Column("stream", String(16), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("office", "stream"),
)

#: What each live stream said, numbered per (office, stream): the Last-Event-ID replay, the same on every replica.
stream_event = Table(
    "stream_event",
    metadata,
    Column("office", String(3), nullable=False),
    Column("stream", String(16), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    # Never sent on a display stream; it finds the priority seat of a called ticket.
    Column("receipt_number", String(16)),
    Column("created_at", UtcDateTime, nullable=False, index=True),
    PrimaryKeyConstraint("office", "stream", "seq"),
    UniqueConstraint("stream", "event_id"),
)
Index("ix_stream_event_receipt", stream_event.c.office, stream_event.c.receipt_number)

#: Stream tickets already used to open a stream: a ticket opens one stream once (a copy of its URL, from a
#: log or the browser history, opens nothing). Kept until the ticket expires, then forgotten.
stream_ticket_use = Table(
    "stream_ticket_use",
    metadata,
    Column("ticket_id", String(36), primary_key=True),
    Column("used_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)

#: Who did what, and when: template edits (which template, hashes of the old and new text) and reads of
#: a receipt's delivery log. Append-only (on PostgreSQL a trigger refuses UPDATE and DELETE); no personal
#: data in ``detail``.
audit_entry = Table(
    "audit_entry",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    #: The token's ``sub``, its office and roles.
    Column("officer", String(200), nullable=False),
    Column("office", String(3), nullable=False),
    Column("roles", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("receipt_number", String(16), index=True),
    Column("template", String(50)),
    Column("language", String(2)),
    Column("detail", JSON),
)
