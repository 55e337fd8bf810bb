"""Tables of the queue service (its own database).

SQLAlchemy Core tables rather than ORM classes: nearly every write here is a conditional update
(take a place, call a ticket, claim a visit) whose row count decides the answer, and the booking
path is hot, so statements are written out and rows read as named tuples.
"""

from __future__ import annotations

from sambang_runtime.db import UtcDateTime, new_metadata
from sambang_runtime.outbox import define_bus_tables
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    false,
    text,
)

metadata = new_metadata()
bus_tables = define_bus_tables(metadata)

ID = BigInteger().with_variant(Integer, "sqlite")


office = Table(
    "office",
    metadata,
    Column("code", String(3), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

slot = Table(
    "slot",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("office", String(3), nullable=False),
    Column("date", Date, nullable=False),
    Column("start", Time, nullable=False),
    Column("end", Time, nullable=False),
    Column("quota", Integer, nullable=False),
    Column("booked", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("office", "date", "start"),
    # The last line of defence against overselling; the conditional update never reaches it.
    CheckConstraint("booked >= 0 AND booked <= quota", name="booked_within_quota"),
    CheckConstraint('"end" > start', name="ends_after_start"),
)

application = Table(
    "application",
    metadata,
    Column("receipt_number", String(16), primary_key=True),
    Column("office", String(3), nullable=False),
    Column("slot_id", ID, ForeignKey("slot.id"), nullable=True),
    Column("group_id", String(32), nullable=True),
    # The appointment, copied from the slot so that status and check-in need no join.
    Column("slot_date", Date, nullable=False),
    Column("slot_start", Time, nullable=False),
    Column("slot_end", Time, nullable=False),
    Column("service_type", String(32), nullable=False),
    Column("passport_type", String(32), nullable=False),
    Column("priority_category", String(16), nullable=False),
    Column("walk_in", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("active", Boolean, nullable=False),
    # Keyed hashes (blind indexes): the NIK and birth date themselves are only stored encrypted.
    Column("nik_hash", String(64), nullable=False),
    Column("birth_hash", String(64), nullable=False),
    Column("nik_enc", Text, nullable=False),
    Column("full_name_enc", Text, nullable=False),
    Column("birth_date_enc", Text, nullable=False),
    Column("email_enc", Text, nullable=True),
    Column("phone_enc", Text, nullable=True),
    Column("language", String(2), nullable=False),
    # v1.1: 5 or 10 years, as booked (NULL: booked before the applicant could choose).
    Column("validity_years", Integer, nullable=True),
    # v1.1: same-day service asked for.
    Column("express", Boolean, nullable=False, server_default=false()),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("billing_code", String(15), nullable=True),
    Column("bill_amount", BigInteger, nullable=True),
    Column("bill_expires_at", UtcDateTime, nullable=True),
    Column("bill_status", String(10), nullable=True),
    Column("paid_at", UtcDateTime, nullable=True),
    Column("ntpn", String(16), nullable=True),
    Column("arrival_expires_at", UtcDateTime, nullable=True),
    Column("arrival_confirmed_at", UtcDateTime, nullable=True),
    Column("capture_completed_at", UtcDateTime, nullable=True),
    Column("interview_completed_at", UtcDateTime, nullable=True),
    Column("interview_decision", String(20), nullable=True),
    Column("simkim_reference", String(200), nullable=True),
    Column("pickup_from", Date, nullable=True),
    Column("passport_number_enc", Text, nullable=True),
    Column("issued_at", UtcDateTime, nullable=True),
    Column("collected_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("close_reason", String(20), nullable=True),
    # v1.2: when the notifier first delivered the reminder the day before (notifier.notification.sent).
    Column("reminder_sent_at", UtcDateTime, nullable=True),
)
# One active application per NIK, enforced by the database so no race can create two.
Index(
    "uq_application_active_nik",
    application.c.nik_hash,
    unique=True,
    postgresql_where=text("active"),
    sqlite_where=text("active"),
)
Index("ix_application_office_slot_date", application.c.office, application.c.slot_date)

idempotency_record = Table(
    "idempotency_record",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

timeline_entry = Table(
    "timeline_entry",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("receipt_number", String(16), nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    # False for what the applicant must not see (a hold, its decision, a failed submission).
    Column("public", Boolean, nullable=False),
    Column("detail", JSON, nullable=True),
)

visit = Table(
    "visit",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("receipt_number", String(16), nullable=False),
    Column("office", String(3), nullable=False),
    Column("day", Date, nullable=False),
    Column("purpose", String(8), nullable=False),  # SERVICE or PICKUP
    Column("lane", String(10), nullable=False),
    Column("ticket", String(4), nullable=False),
    Column("seat", String(200), nullable=True),
    Column("priority_category", String(16), nullable=False),
    Column("channel", String(16), nullable=False),  # KIOSK, CUSTOMER_CARE, WALK_IN
    Column("paid", Boolean, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("state", String(12), nullable=False),  # WAITING, CALLED, IN_SERVICE, DONE, NO_SHOW
    Column("counter", String(200), nullable=True),
    Column("calls", Integer, nullable=False, server_default="0"),
    Column("called_at", UtcDateTime, nullable=True),
    Column("first_called_at", UtcDateTime, nullable=True),
    Column("claimed_by", String(200), nullable=True),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("checked_in_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
    # v1.2: the estimated wait given with the ticket (minutes; NULL: none was given), measured in the
    # monthly report against the actual wait (checked_in_at to first_called_at).
    Column("estimate_low_minutes", Integer, nullable=True),
    Column("estimate_high_minutes", Integer, nullable=True),
    UniqueConstraint("office", "day", "ticket"),
    UniqueConstraint("receipt_number", "purpose", "day"),
)
Index("ix_visit_waiting", visit.c.office, visit.c.day, visit.c.stage, visit.c.state, visit.c.checked_in_at)

visit_stage = Table(
    "visit_stage",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("visit_id", String(32), ForeignKey("visit.id"), nullable=False, index=True),
    Column("office", String(3), nullable=False),
    Column("day", Date, nullable=False),
    Column("stage", String(16), nullable=False),
    Column("officer", String(200), nullable=False),
    Column("counter", String(200), nullable=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime, nullable=True),
    Column("outcome", String(12), nullable=True),  # COMPLETED, NO_SHOW, TRANSFERRED, RELEASED
)
Index("ix_visit_stage_office_day", visit_stage.c.office, visit_stage.c.day)
# The estimated wait reads the last completed services of a stage, newest first.
Index("ix_visit_stage_office_stage_ended", visit_stage.c.office, visit_stage.c.stage, visit_stage.c.ended_at)

# queue.ticket.near_turn went out for this visit at this stage: the primary key makes it once only,
# however many counters call at the same moment. No foreign key to visit on purpose: its check would
# share-lock the visit row, and a counter completing that ticket (SELECT … FOR UPDATE) would then wait
# on a call-next that waits on it in turn (deadlocks, seen with twenty counters calling at once).
near_turn_notice = Table(
    "near_turn_notice",
    metadata,
    Column("visit_id", String(32), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("visit_id", "stage"),
)

ticket_sequence = Table(
    "ticket_sequence",
    metadata,
    Column("office", String(3), nullable=False),
    Column("day", Date, nullable=False),
    Column("letter", String(1), nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("office", "day", "letter"),
)

seat_assignment = Table(
    "seat_assignment",
    metadata,
    Column("office", String(3), nullable=False),
    Column("day", Date, nullable=False),
    Column("seat", String(200), nullable=False),
    Column("visit_id", String(32), nullable=False),
    PrimaryKeyConstraint("office", "day", "seat"),
)

pickup = Table(
    "pickup",
    metadata,
    Column("id", String(32), ForeignKey("visit.id"), primary_key=True),
    Column("receipt_number", String(16), nullable=False, index=True),
    Column("office", String(3), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("handed_over_at", UtcDateTime, nullable=True),
    Column("officer", String(200), nullable=True),
    Column("collected_by", String(5), nullable=True),
    Column("proxy_name_enc", Text, nullable=True),
    Column("proxy_nik_enc", Text, nullable=True),
    Column("proxy_letter_reference", String(100), nullable=True),
)

audit_entry = Table(
    "audit_entry",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("officer", String(200), nullable=False),
    Column("office", String(3), nullable=False),
    Column("action", String(40), nullable=False),
    Column("receipt_number", String(16), nullable=True, index=True),
    Column("detail", JSON, nullable=True),
)
