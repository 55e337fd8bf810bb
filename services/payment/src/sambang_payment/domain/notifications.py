"""Bank notifications (the webhook): HMAC signatures under a partner's key, and the body a bank sends."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sambang_contracts import PaymentChannel
from sambang_contracts.values import Text
from sambang_runtime.errors import DomainError

from .fees import Rupiah

# --- bank signatures ----------------------------------------------------------------------------

SIGNATURE_WINDOW_SECONDS = 300
_SIGNATURE_PART = re.compile(r"^(t|v1)=([^,=\s]+)$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class SignatureError(DomainError):
    """A bank notification whose signature cannot be trusted (401)."""


def _missing() -> SignatureError:
    return SignatureError("missing_signature")


def _forged() -> SignatureError:
    # One code for an unknown key, a revoked key and a wrong signature: an attacker learns nothing.
    return SignatureError("invalid_signature")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``"<t>.<raw body>"`` under the partner's secret."""
    return hmac.new(secret.encode("utf-8"), str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Signature`` value a bank sends."""
    return f"t={timestamp},v1={sign(secret, timestamp, body)}"


@dataclass(frozen=True)
class ParsedSignature:
    """The parts of an ``X-Signature`` header."""

    timestamp: int
    candidates: tuple[str, ...]


def parse_signature_header(header: str | None) -> ParsedSignature:
    """Read ``t=<unix seconds>,v1=<hex>[,v1=<hex>…]``; anything else is a missing/invalid signature."""
    if header is None or not header.strip():
        raise _missing()
    timestamp: int | None = None
    candidates: list[str] = []
    for raw in header.split(","):
        match = _SIGNATURE_PART.match(raw.strip())
        if match is None:
            raise _forged()
        name, value = match.groups()
        if name == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit() or len(value) > 12:
                raise _forged()
            timestamp = int(value)
        elif _HEX64.match(value):
            candidates.append(value)
    if timestamp is None or not candidates or len(candidates) > 4:
        raise _forged()
    return ParsedSignature(timestamp, tuple(candidates))


def verify_signature(
    secrets: Sequence[str],
    header: str | None,
    body: bytes,
    *,
    now: float,
    window_seconds: int = SIGNATURE_WINDOW_SECONDS,
    future_skew_seconds: int = 30,
) -> int:
    """Check a notification against the partner key's secret(s); returns the signed timestamp.

    The HMAC is checked first, with ``hmac.compare_digest`` against every candidate, so a stale
    answer is only given to a genuinely signed request. Then the time window: older than
    ``window_seconds`` or further in the future than ``future_skew_seconds`` (clock drift) is stale.
    """
    parsed = parse_signature_header(header)
    ok = False
    for secret in secrets:
        expected = sign(secret, parsed.timestamp, body)
        for candidate in parsed.candidates:
            # Keep comparing after a match: the time taken must not depend on which one matched.
            ok |= hmac.compare_digest(expected, candidate)
    if not ok:
        raise _forged()
    age = now - parsed.timestamp
    if age > window_seconds or age < -future_skew_seconds:
        raise SignatureError("stale_signature", window_seconds=window_seconds)
    return parsed.timestamp


@dataclass(frozen=True, slots=True)
class SignedNotification:
    """A notification whose signature passed: the partner and key that signed it, and when."""

    partner_id: str
    key_id: str
    signed_at: dt.datetime


def missing_signature() -> SignatureError:
    """The error for a request without the signature headers."""
    return _missing()


def invalid_signature() -> SignatureError:
    """The error for an unknown, revoked or expired key, or a wrong signature."""
    return _forged()


# --- bank notification body ---------------------------------------------------------------------


class NotificationBody(BaseModel):
    """What a bank notifies: unknown extra fields are ignored, known ones are strict."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    billing_code: Annotated[str, Field(pattern=r"^[0-9]{15}$")]
    amount: Rupiah
    ntpn: Annotated[str, Field(pattern=r"^[0-9A-Z]{16}$")]
    bank_reference: Annotated[Text, Field(min_length=1, max_length=200)]
    channel: PaymentChannel
    paid_at: dt.datetime

    @model_validator(mode="after")
    def _aware_time(self) -> Self:
        if self.paid_at.tzinfo is None:
            raise ValueError("paid_at must carry a time zone")
        return self


def parse_notification(body: bytes) -> NotificationBody:
    """Validate a notification body (raises pydantic ``ValidationError``)."""
    return NotificationBody.model_validate_json(body)
