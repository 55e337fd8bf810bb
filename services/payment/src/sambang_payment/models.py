"""Tables of the payment service (its own database)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sambang_runtime.db import new_metadata
from sambang_runtime.outbox import define_bus_tables
from sqlalchemy import JSON, BigInteger, DateTime, Index, Table, Text, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

metadata = new_metadata()
bus_tables = define_bus_tables(metadata)

UTC_TIME = DateTime(timezone=True)


class Model(SQLModel, registry=registry(metadata=metadata)):
    """Base of this service's tables: they live in this service's metadata only."""


class FeeSchedule(Model, table=True):
    """A fee schedule (tarif PNBP) as data, in force from its effective date until the next one."""

    __tablename__ = "fee_schedule"

    id: int | None = Field(default=None, primary_key=True)
    effective_from: dt.date = Field(unique=True)
    name: str = Field(max_length=100)
    document: dict[str, Any] = Field(sa_type=JSON)
    loaded_at: dt.datetime = Field(sa_type=UTC_TIME)
    loaded_by: str = Field(max_length=200)


class OfficeRule(Model, table=True):
    """The office rules this service needs, copied from ``queue.office.updated``."""

    __tablename__ = "office_rule"

    office: str = Field(primary_key=True, max_length=3)
    timezone: str = Field(max_length=64)
    bill_validity_seconds: int
    priority_bill_validity_seconds: int
    #: Time of the event the copy comes from: an older event arriving late does not overwrite it.
    event_time: dt.datetime = Field(sa_type=UTC_TIME)


class Bill(Model, table=True):
    """One bill (tagihan) per application, with its unique 15-digit billing code."""

    __tablename__ = "bill"
    __table_args__ = (Index("ix_bill_status_expires_at", "status", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    receipt_number: str = Field(max_length=16, unique=True)
    office: str = Field(max_length=3, index=True)
    billing_code: str = Field(max_length=15, unique=True)
    amount: int = Field(sa_type=BigInteger)
    items: list[dict[str, Any]] = Field(sa_type=JSON)
    schedule_name: str = Field(max_length=100)
    validity_years: int
    priority: bool
    status: str = Field(max_length=10)
    issued_at: dt.datetime = Field(sa_type=UTC_TIME)
    expires_at: dt.datetime = Field(sa_type=UTC_TIME)
    paid_at: dt.datetime | None = Field(default=None, sa_type=UTC_TIME)
    ntpn: str | None = Field(default=None, max_length=16)
    expired_at: dt.datetime | None = Field(default=None, sa_type=UTC_TIME)
    voided_at: dt.datetime | None = Field(default=None, sa_type=UTC_TIME)
    #: Birth date encrypted (context bound to the receipt) and its keyed hash for comparison.
    birth_date_enc: str = Field(sa_type=Text)
    birth_date_index: str = Field(max_length=64)


class CancelledApplication(Model, table=True):
    """Receipts cancelled by the queue: a registration arriving after its cancellation gets no bill."""

    __tablename__ = "cancelled_application"

    receipt_number: str = Field(primary_key=True, max_length=16)
    reason: str = Field(max_length=20)
    cancelled_at: dt.datetime = Field(sa_type=UTC_TIME)


class Partner(Model, table=True):
    """A bank or payment partner (bank persepsi) that notifies payments."""

    __tablename__ = "partner"

    partner_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    created_at: dt.datetime = Field(sa_type=UTC_TIME)


class PartnerKey(Model, table=True):
    """A signing key of a partner; its secret is encrypted at rest and shown only once."""

    __tablename__ = "partner_key"

    key_id: str = Field(primary_key=True, max_length=64)
    partner_id: str = Field(foreign_key="partner.partner_id", max_length=32, index=True)
    secret_enc: str = Field(sa_type=Text)
    created_at: dt.datetime = Field(sa_type=UTC_TIME)
    #: Set at rotation: the old key keeps working until then (the grace period).
    valid_until: dt.datetime | None = Field(default=None, sa_type=UTC_TIME)
    revoked_at: dt.datetime | None = Field(default=None, sa_type=UTC_TIME)


class Payment(Model, table=True):
    """Every payment we were told about, one row per NTPN: the unique NTPN counts money once."""

    __tablename__ = "payment"

    id: int | None = Field(default=None, primary_key=True)
    ntpn: str = Field(max_length=16, unique=True)
    billing_code: str = Field(max_length=15, index=True)
    bill_id: int | None = Field(default=None, foreign_key="bill.id")
    receipt_number: str | None = Field(default=None, max_length=16)
    office: str | None = Field(default=None, max_length=3)
    amount: int = Field(sa_type=BigInteger)
    channel: str = Field(max_length=10)
    bank_reference: str = Field(max_length=200)
    paid_at: dt.datetime = Field(sa_type=UTC_TIME, index=True)
    source: str = Field(max_length=10)
    partner_id: str = Field(max_length=32)
    #: APPLIED (it paid the bill) or DISCREPANCY (money the office must resolve).
    outcome: str = Field(max_length=12)
    discrepancy_kind: str | None = Field(default=None, max_length=30)
    recorded_at: dt.datetime = Field(sa_type=UTC_TIME)


class BankNotification(Model, table=True):
    """Every signed, well-formed bank notification, with what it did (audit of the webhook)."""

    __tablename__ = "bank_notification"

    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(max_length=32)
    key_id: str = Field(max_length=64)
    signed_at: dt.datetime = Field(sa_type=UTC_TIME)
    received_at: dt.datetime = Field(sa_type=UTC_TIME, index=True)
    billing_code: str = Field(max_length=15)
    ntpn: str = Field(max_length=16, index=True)
    amount: int = Field(sa_type=BigInteger)
    outcome: str = Field(max_length=12)
    discrepancy_kind: str | None = Field(default=None, max_length=30)
    body: str = Field(sa_type=Text)


class Discrepancy(Model, table=True):
    """A payment problem for the office to resolve; the same problem is recorded once."""

    __tablename__ = "discrepancy"

    id: int | None = Field(default=None, primary_key=True)
    office: str | None = Field(default=None, max_length=3, index=True)
    receipt_number: str | None = Field(default=None, max_length=16)
    billing_code: str = Field(max_length=64)
    ntpn: str | None = Field(default=None, max_length=16)
    amount: int | None = Field(default=None, sa_type=BigInteger)
    kind: str = Field(max_length=30)
    detail: str = Field(max_length=2000)
    source: str = Field(max_length=10)
    partner_id: str | None = Field(default=None, max_length=32)
    detected_at: dt.datetime = Field(sa_type=UTC_TIME, index=True)
    dedupe_key: str = Field(max_length=200, unique=True)


class Reconciliation(Model, table=True):
    """One uploaded settlement file; its sha256 makes a second upload of the same bytes a no-op."""

    __tablename__ = "reconciliation"
    __table_args__ = (UniqueConstraint("partner_id", "office", "file_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_id: str = Field(max_length=32)
    office: str = Field(max_length=3)
    file_sha256: str = Field(max_length=64)
    uploaded_at: dt.datetime = Field(sa_type=UTC_TIME)
    uploaded_by: str = Field(max_length=200)
    result: dict[str, Any] = Field(sa_type=JSON)


class AuditEntry(Model, table=True):
    """Who did what, when, from which office, to which receipt, partner or file, and who approved it
    (append-only: on PostgreSQL a trigger refuses UPDATE and DELETE).

    National admin and supervisor actions only. Never a secret or personal data: key ids, partner ids and
    file hashes name what was touched; the detail holds counts and dates.
    """

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(sa_type=UTC_TIME, index=True)
    #: The token's ``sub``.
    officer: str = Field(max_length=200)
    office: str = Field(max_length=3)
    action: str = Field(max_length=40)
    receipt_number: str | None = Field(default=None, max_length=16, index=True)
    partner_id: str | None = Field(default=None, max_length=32, index=True)
    file_sha256: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    #: Four eyes: the second person who approved the action (the approval's ``sub``), their office and
    #: the approval's single-use id; null for actions that take no approval.
    approved_by: str | None = Field(default=None, max_length=200)
    approver_office: str | None = Field(default=None, max_length=3)
    approval_id: str | None = Field(default=None, max_length=64, unique=True)


def table_of(model: type[Model]) -> Table:
    """The Core table of a model, for set-based statements (conditional updates, ON CONFLICT)."""
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


FEE_SCHEDULE = table_of(FeeSchedule)
OFFICE_RULE = table_of(OfficeRule)
BILL = table_of(Bill)
CANCELLED = table_of(CancelledApplication)
PARTNER = table_of(Partner)
PARTNER_KEY = table_of(PartnerKey)
PAYMENT = table_of(Payment)
NOTIFICATION = table_of(BankNotification)
DISCREPANCY = table_of(Discrepancy)
RECONCILIATION = table_of(Reconciliation)
AUDIT = table_of(AuditEntry)
