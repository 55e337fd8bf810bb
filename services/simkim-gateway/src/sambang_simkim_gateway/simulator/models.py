"""Tables of the SIMKIM simulator (its own database, so what it received survives a restart)."""

from __future__ import annotations

from sambang_runtime.db import UtcDateTime, new_metadata
from sambang_runtime.outbox import define_bus_tables
from sqlalchemy import JSON, BigInteger, Column, Integer, String, Table, Text

metadata = new_metadata()
#: The runtime wants an outbox and an inbox; the simulator publishes and consumes nothing.
bus_tables = define_bus_tables(metadata)

ID = BigInteger().with_variant(Integer, "sqlite")

#: One row per receipt number: SIMKIM's idempotency key.
simkim_application = Table(
    "simkim_application",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("reference", String(64), nullable=False, unique=True),
    Column("receipt_number", String(16), nullable=False, unique=True),
    Column("office", String(3), nullable=False),
    Column("service_type", String(30), nullable=False),
    Column("passport_type", String(30), nullable=False),
    Column("validity_years", Integer, nullable=False),
    #: Blind index of the NIK (the screening key); the biodata itself encrypted.
    Column("nik_index", String(64), nullable=False, index=True),
    Column("biodata_enc", Text, nullable=False),
    Column("biometric_sha256", JSON, nullable=False),
    Column("status", String(10), nullable=False),
    Column("hold_kind", String(30)),
    Column("hold_reference", String(64)),
    Column("decision", String(10)),
    Column("decided_by", String(200)),
    Column("decision_reason", Text),
    #: How many times this application was submitted: 1 plus the repeats its idempotency key absorbed.
    Column("received_count", Integer, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("last_received_at", UtcDateTime, nullable=False),
    Column("issue_after", UtcDateTime),
    Column("passport_number", String(20)),
    Column("issued_at", UtcDateTime),
    Column("expires_at", UtcDateTime),
)

#: The watch list (daftar cekal), by blind index of the NIK.
watchlist_entry = Table(
    "watchlist_entry",
    metadata,
    Column("nik_index", String(64), primary_key=True),
)

#: Passports in force, by blind index of the holder's NIK.
active_passport = Table(
    "active_passport",
    metadata,
    Column("nik_index", String(64), primary_key=True),
    Column("passport_number", String(20), nullable=False),
)

#: Violations reported by offices, one row per violation id (the idempotency key).
violation = Table(
    "violation",
    metadata,
    Column("violation_id", String(64), primary_key=True),
    Column("reference", String(64), nullable=False, unique=True),
    Column("receipt_number", String(16), nullable=False, index=True),
    Column("office", String(3), nullable=False),
    Column("category", String(200), nullable=False),
    Column("detail_enc", Text, nullable=False),
    Column("officer_id", String(200), nullable=False),
    Column("flagged_at", UtcDateTime, nullable=False),
    Column("received_count", Integer, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)
