"""Tables of the SIMKIM gateway (its own database).

SQLAlchemy Core tables: every write that matters here is a conditional update (a replica claims a piece
of work, a supervisor decides an open hold) whose row count decides who acts.
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
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
)

metadata = new_metadata()
bus_tables = define_bus_tables(metadata)


#: One row per application: its readiness, its state with SIMKIM, and the next call it waits for.
submission = Table(
    "submission",
    metadata,
    Column("receipt_number", String(16), primary_key=True),
    Column("office", String(3), nullable=False),
    # readiness (queue.application.registered, payment.confirmed, capture.completed, capture.interview.completed)
    Column("registered", Boolean, nullable=False, default=False),
    Column("paid", Boolean, nullable=False, default=False),
    Column("captured", Boolean, nullable=False, default=False),
    Column("interview_decision", String(20)),
    Column("interview_officer_id", String(200)),
    Column("interview_completed_at", UtcDateTime),
    Column("capture_completed_at", UtcDateTime),
    #: capture.completed's items [{kind, position, sha256}] and exceptions [{kind, position, reason}]
    Column("manifest", JSON),
    Column("capture_exceptions", JSON),
    Column("service_type", String(30)),
    Column("passport_type", String(30)),
    Column("priority_category", String(20)),
    Column("validity_years", Integer),
    #: Name, NIK and birth date, encrypted (AES-GCM, uow.cipher); dropped when the application ends.
    Column("biodata_enc", Text),
    # state and work
    Column("state", String(12), nullable=False, default="WAITING"),
    Column("work", String(8), nullable=False, default="NONE"),
    Column("next_attempt_at", UtcDateTime),
    #: The replica working on it now, until lease_until (then another may take over).
    Column("lease_owner", String(36)),
    Column("lease_until", UtcDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    #: Failed calls of the current work other than submitting (a decision, an issuance poll), for backoff.
    Column("work_failures", Integer, nullable=False, default=0),
    #: Put off because the breaker was open: woken at once when it closes.
    Column("deferred", Boolean, nullable=False, default=False),
    Column("last_error", String(500)),
    Column("ready_at", UtcDateTime),
    Column("simkim_reference", String(64)),
    Column("accepted_at", UtcDateTime),
    Column("hold_kind", String(30)),
    Column("hold_reference", String(64)),
    Column("held_at", UtcDateTime),
    Column("decision", String(10)),
    Column("decided_by", String(200)),
    Column("decision_reason", Text),
    Column("decided_at", UtcDateTime),
    Column("issued_at", UtcDateTime),
    Column("expires_at", UtcDateTime),
    Column("pickup_from", Date),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_submission_next_attempt_at", submission.c.next_attempt_at)
Index("ix_submission_office_state", submission.c.office, submission.c.state)

#: The office rules the gateway needs, copied from queue.office.updated.
office_rule = Table(
    "office_rule",
    metadata,
    Column("office", String(3), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("pickup_working_days", Integer, nullable=False),
    #: Time of the event the copy comes from: an older event arriving late does not overwrite it.
    Column("event_time", UtcDateTime, nullable=False),
)

#: Violations flagged by officers (capture.violation.flagged), forwarded to SIMKIM at once.
violation_report = Table(
    "violation_report",
    metadata,
    #: The event id: SIMKIM's idempotency key for the report.
    Column("id", String(36), primary_key=True),
    Column("receipt_number", String(16), nullable=False, index=True),
    Column("office", String(3), nullable=False),
    Column("category", String(200), nullable=False),
    #: The officer's free text may name people: encrypted at rest.
    Column("detail_enc", Text, nullable=False),
    Column("officer_id", String(200), nullable=False),
    Column("flagged_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("lease_owner", String(36)),
    Column("lease_until", UtcDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Column("deferred", Boolean, nullable=False, default=False),
    Column("last_error", String(500)),
    Column("forwarded_at", UtcDateTime),
)
Index("ix_violation_report_next_attempt_at", violation_report.c.next_attempt_at)

#: The circuit breaker in front of SIMKIM: one row, shared by every replica.
circuit_breaker = Table(
    "circuit_breaker",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("state", String(10), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("open_seconds", Float, nullable=False),
    Column("retry_at", UtcDateTime),
    Column("probe_until", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: Who did what to which receipt, and when: hold decisions, retries and reads of hold data (append-only:
#: nothing updates or deletes a row; on PostgreSQL a trigger refuses it). No personal data in ``detail``.
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
    Column("detail", JSON),
)
