"""Delivery rules: what a send's outcome means, when to try again, and how an address is shown."""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass

from sambang_contracts import NotificationChannel


class Status(enum.StrEnum):
    """Where one message stands."""

    PENDING = "PENDING"  # due at next_attempt_at
    SENDING = "SENDING"  # claimed by a dispatcher: never claimed again (at most once)
    SENT = "SENT"
    FAILED = "FAILED"


class Verdict(enum.StrEnum):
    """What a channel said about one try."""

    SENT = "SENT"
    TRANSIENT = "TRANSIENT"  # try again later (4xx SMTP, timeouts, 429/5xx from the SMS provider)
    PERMANENT = "PERMANENT"  # never try again (5xx SMTP, a refused number)


@dataclass(frozen=True, slots=True)
class SendResult:
    """The outcome of one try; ``reason`` is safe to log and to publish (no address, no number)."""

    verdict: Verdict
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    """What to record after a try."""

    status: Status
    next_attempt_at: dt.datetime | None
    permanent: bool


def backoff(attempts: int, *, base_seconds: float, max_seconds: float) -> dt.timedelta:
    """The wait after the ``attempts``-th failed try: base, 2 x base, 4 x base, ... capped."""
    return dt.timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def decide(
    result: SendResult, *, attempts: int, max_attempts: int, now: dt.datetime, base_seconds: float, max_seconds: float
) -> Decision:
    """After try number ``attempts``: sent, retried later, or failed for good (a transient failure too often)."""
    if result.verdict == Verdict.SENT:
        return Decision(Status.SENT, None, permanent=False)
    if result.verdict == Verdict.TRANSIENT and attempts < max_attempts:
        wait = backoff(attempts, base_seconds=base_seconds, max_seconds=max_seconds)
        return Decision(Status.PENDING, now + wait, permanent=False)
    return Decision(Status.FAILED, None, permanent=True)


def smtp_verdict(code: int) -> Verdict:
    """RFC 5321: 4yz is a transient negative reply, 5yz a permanent one."""
    if 200 <= code < 400:
        return Verdict.SENT
    return Verdict.TRANSIENT if 400 <= code < 500 else Verdict.PERMANENT


def http_verdict(status: int) -> Verdict:
    """An SMS provider's answer: 2xx sent; 408, 425, 429 and 5xx are worth another try; other 4xx are not."""
    if 200 <= status < 300:
        return Verdict.SENT
    if status in (408, 425, 429) or status >= 500:
        return Verdict.TRANSIENT
    return Verdict.PERMANENT


_EMAIL = re.compile(r"[^\s<>@]+@[^\s<>@]+")
# Seven digits or more (a phone number, a NIK), possibly grouped; status codes like "451 4.3.0" stay.
_DIGITS = re.compile(r"\+?\d(?:[ .-]?\d){6,}")


def scrub(reason: str, limit: int = 300) -> str:
    """A server's words without the addresses or numbers it may echo back (for logs, the log and events)."""
    text = _DIGITS.sub("[number]", _EMAIL.sub("[address]", reason))
    return " ".join(text.split())[:limit]


def mask(channel: NotificationChannel, address: str) -> str:
    """An address as the delivery log shows it: ``s***@example.id``, ``0812****890``."""
    if channel == NotificationChannel.EMAIL:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}" if domain else "***"
    digits = address.strip()
    return f"{digits[:4]}****{digits[-3:]}" if len(digits) > 7 else "****"


def normalise_address(channel: NotificationChannel, address: str) -> str:
    """The form an address is deduplicated by: e-mail case-folded, phone numbers as +62 digits."""
    if channel == NotificationChannel.EMAIL:
        return address.strip().lower()
    digits = re.sub(r"[^\d+]", "", address)
    if digits.startswith("+"):
        return digits
    if digits.startswith("0"):
        return "+62" + digits[1:]
    if digits.startswith("62"):
        return "+" + digits
    return digits
