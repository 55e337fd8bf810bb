"""Tables of the capture service (its own database).

SQLAlchemy Core tables, as in the queue service: the stores write explicit statements (upserts
from events, conditional updates) and read rows as named tuples. Personal data is stored only
encrypted (``*_enc``): biometrics as AES-GCM binary envelopes, notes and birth dates as text tokens.
"""

from __future__ import annotations

from sambang_runtime.db import UtcDateTime, new_metadata
from sambang_runtime.outbox import define_bus_tables
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = new_metadata()
bus_tables = define_bus_tables(metadata)

ID = BigInteger().with_variant(Integer, "sqlite")
#: ``position`` of items and exceptions that are not fingerprints (photo, signature). A real value
#: rather than NULL, so that the unique constraint holds one photo per application on both backends.
NO_POSITION = 0


#: The office rules capture needs, copied from ``queue.office.updated``.
office_rule = Table(
    "office_rule",
    metadata,
    Column("office", String(3), primary_key=True),
    Column("timezone", String(64), nullable=False),
    Column("fingerprint_quality_threshold", Integer, nullable=False),
    Column("biometric_retention_days", Integer, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: What capture knows of an application: from ``queue.application.registered`` (service type,
#: birth date), ``queue.visit.checked_in`` (lane, seat), its final outcome (retention: collected,
#: rejected, denied, cancelled, no-show, failed) and its own completion. Events may come in any
#: order, so every event-fed column is nullable (an outcome may even come before the registration).
application = Table(
    "application",
    metadata,
    Column("receipt_number", String(16), primary_key=True),
    Column("office", String(3), nullable=False),
    Column("service_type", String(32)),
    Column("passport_type", String(32)),
    Column("priority_category", String(16)),
    Column("walk_in", Boolean),
    Column("birth_date_enc", Text),
    Column("registered_at", UtcDateTime),
    Column("visit_id", String(200)),
    Column("ticket", String(8)),
    Column("lane", String(16)),
    Column("seat", String(200)),
    Column("checked_in_at", UtcDateTime),
    Column("completed_at", UtcDateTime),
    #: The capture.completed manifest (hashes, sizes, quality; never biometric bytes).
    Column("completion", JSON),
    Column("issued_at", UtcDateTime),
    #: The first final outcome (``domain.retention.Outcome``) and when it happened: it starts the
    #: retention clock. Later outcomes may only bring the deletion forward, never postpone it.
    Column("outcome", String(16)),
    Column("outcome_at", UtcDateTime),
    Column("purge_due_at", UtcDateTime),
    Column("purged_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)
Index("ix_application_purge_due_at", application.c.purge_due_at)
Index("ix_application_office_purge_due_at", application.c.office, application.c.purge_due_at)

#: The latest result of checking each document (the audit trail keeps the history).
document_check = Table(
    "document_check",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("receipt_number", String(16), ForeignKey("application.receipt_number"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("holder", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("note_enc", Text),
    Column("officer", String(200), nullable=False),
    Column("checked_at", UtcDateTime, nullable=False),
    UniqueConstraint("receipt_number", "kind", "holder"),
)

#: Nonconformances (ketidaksesuaian); ``detail_hash`` (keyed) makes a resent one a no-op.
nonconformance = Table(
    "nonconformance",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("receipt_number", String(16), ForeignKey("application.receipt_number"), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("detail_enc", Text, nullable=False),
    Column("detail_hash", String(64), nullable=False),
    Column("officer", String(200), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("receipt_number", "kind", "detail_hash"),
)

#: One photo, one signature and up to ten fingerprints per application, encrypted.
biometric_item = Table(
    "biometric_item",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("receipt_number", String(16), ForeignKey("application.receipt_number"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    #: SHA-256 of the bytes as uploaded: a resend of the same bytes is recognised by it.
    Column("upload_sha256", String(64), nullable=False),
    #: SHA-256 and size of the stored (re-encoded) image: what the manifest and the bundle carry.
    Column("sha256", String(64), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("media_type", String(32), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("quality", Float, nullable=False),
    Column("checks", JSON, nullable=False),
    #: What the content is sealed with: ``dek`` (the application's own data key, ``biometric_key``) or,
    #: for rows written before envelope encryption, the PII key id (``make rotate-data-key`` moves them
    #: under a data key). NULL once purged.
    Column("key_id", String(32)),
    #: AES-256-GCM envelope of the image; NULL once purged (the hashes stay).
    Column("content_enc", LargeBinary),
    Column("captured_by", String(200), nullable=False),
    Column("captured_at", UtcDateTime, nullable=False),
    Column("purged_at", UtcDateTime),
    UniqueConstraint("receipt_number", "kind", "position"),
)

#: Crypto-shredding: each application's biometrics are sealed with a data key (DEK) of their own, kept
#: here only wrapped (encrypted) under the service's PII key (``key_id`` says which, for rotation). The
#: purge deletes the row: without it the images' ciphertext, wherever a copy of it lives (a dump of
#: ``biometric_item``, a restored backup of it), cannot be read by anyone, the service included.
biometric_key = Table(
    "biometric_key",
    metadata,
    Column("receipt_number", String(16), ForeignKey("application.receipt_number"), primary_key=True),
    Column("key_id", String(32), nullable=False),
    Column("wrapped_dek", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
Index("ix_biometric_key_key_id", biometric_key.c.key_id)

#: A fingerprint or signature that could not be captured, with its approval.
capture_exception = Table(
    "capture_exception",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("receipt_number", String(16), ForeignKey("application.receipt_number"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("note_enc", Text),
    Column("recorded_by", String(200), nullable=False),
    #: The supervisor who approved it (fingerprints); NULL where no approval is needed (signature).
    Column("approved_by", String(200)),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("receipt_number", "kind", "position"),
)

#: Interview decisions (wawancara), newest last.
interview = Table(
    "interview",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("receipt_number", String(16), ForeignKey("application.receipt_number"), nullable=False),
    Column("decision", String(20), nullable=False),
    Column("notes_enc", Text),
    Column("mode", String(16), nullable=False),
    Column("officer", String(200), nullable=False),
    #: Keyed hash of the request, so that a resent interview is recognised and changes nothing.
    Column("request_hash", String(64), nullable=False),
    Column("decided_at", UtcDateTime, nullable=False),
)
Index("ix_interview_receipt_number", interview.c.receipt_number)

violation = Table(
    "violation",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("receipt_number", String(16), ForeignKey("application.receipt_number"), nullable=False),
    Column("interview_id", ID, ForeignKey("interview.id"), nullable=True),
    Column("category", String(40), nullable=False),
    Column("detail_enc", Text, nullable=False),
    Column("officer", String(200), nullable=False),
    Column("flagged_at", UtcDateTime, nullable=False),
)
Index("ix_violation_receipt_number", violation.c.receipt_number)

#: Append-only: who did what, when, on which receipt. Never personal data or image bytes in detail.
audit_entry = Table(
    "audit_entry",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("officer", String(200), nullable=False),
    Column("office", String(3), nullable=False),
    Column("action", String(40), nullable=False),
    Column("receipt_number", String(16), nullable=True),
    Column("detail", JSON),
)
Index("ix_audit_entry_receipt_number", audit_entry.c.receipt_number)
#: The daily purge report counts ``biometrics.purged`` entries of an office and a day.
Index("ix_audit_entry_office_action_at", audit_entry.c.office, audit_entry.c.action, audit_entry.c.at)
