"""Arrival links: a signed, expiring token the applicant uses to confirm they will come."""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Callable

from sambang_runtime.errors import DomainError

from .times import day_bounds

Mac = Callable[[str], str]
"""A keyed hash (HMAC) of a message, hex; the key never leaves the service."""


def arrival_link_expiry(slot_date: dt.date, tz: str) -> dt.datetime:
    """An arrival link is valid until the end of the appointment day (office time)."""
    return day_bounds(slot_date, tz)[1]


def _arrival_message(receipt_number: str, expires_at: int) -> str:
    return f"{receipt_number}|{expires_at}"


def sign_arrival_token(receipt_number: str, expires_at: dt.datetime, mac: Mac) -> str:
    """`<expiry unix seconds>.<128-bit HMAC>`: the expiry is inside the signed message."""
    stamp = int(expires_at.timestamp())
    return f"{stamp}.{mac(_arrival_message(receipt_number, stamp))[:32]}"


def verify_arrival_token(receipt_number: str, token: str, now: dt.datetime, mac: Mac) -> None:
    """Refuse a forged token (403 invalid_token) or an expired one (410 link_expired)."""
    stamp_text, _, signature = token.partition(".")
    if not stamp_text.isdigit() or len(signature) != 32:
        raise DomainError("invalid_token")
    expected = mac(_arrival_message(receipt_number, int(stamp_text)))[:32]
    if not hmac.compare_digest(expected, signature):
        raise DomainError("invalid_token")
    if now.timestamp() >= int(stamp_text):
        raise DomainError("link_expired")
