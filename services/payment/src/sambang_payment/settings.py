"""Settings of the payment service that are not office rules (env prefix ``SAMBANG_PAYMENT_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PaymentSettings(BaseSettings):
    """Knobs of the payment service; office rules (bill validity) come from ``queue.office.updated``."""

    model_config = SettingsConfigDict(env_prefix="SAMBANG_PAYMENT_", extra="ignore")

    #: How often the expiry sweeper looks for unpaid bills past their expiry.
    sweep_interval_seconds: float = Field(default=15.0, gt=0)
    #: Bills expired per sweeper transaction (a replica takes a batch, the other skips it).
    sweep_batch: int = Field(default=500, ge=1, le=10_000)
    #: Seconds a bank signature may be old (API.md: 300).
    signature_window_seconds: int = Field(default=300, ge=1, le=3600)
    #: Seconds a bank clock may run ahead of ours before a timestamp counts as "in the future".
    signature_future_skew_seconds: int = Field(default=30, ge=0, le=300)
    #: Largest notification body accepted.
    notification_max_bytes: int = Field(default=16 * 1024, ge=1024)
    #: Default grace period of an old partner key after rotation.
    rotation_grace_seconds: int = Field(default=24 * 3600, ge=0)
    #: Largest settlement file and row count accepted in one upload.
    settlement_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    settlement_max_rows: int = Field(default=50_000, ge=1)
    #: Public bill lookups per client IP: a burst of ``lookup_burst``, refilled at ``lookup_per_minute``.
    lookup_burst: int = Field(default=10, ge=1)
    lookup_per_minute: float = Field(default=10.0, gt=0)
    #: Wrong birth dates per receipt: after ``receipt_guess_limit`` within ``receipt_guess_window_seconds``
    #: (from any address), proving that receipt by birth date answers 429 ``receipt_locked`` for
    #: ``receipt_lock_seconds``; officers reading the bill at the counter are not locked out.
    receipt_guess_limit: int = Field(default=5, ge=1)
    receipt_guess_window_seconds: float = Field(default=900.0, gt=0)
    receipt_lock_seconds: float = Field(default=900.0, gt=0)
    #: Office time zone when the office is not known yet (queue.office.updated not seen).
    default_timezone: str = "Asia/Jakarta"
