"""Live streams: what each audience is shown, the ids a reconnecting client names, and stream tickets.

Two streams per office: ``officers`` (sambang officers' tablets: priority check-ins with seat and
category, claims, releases) and ``displays`` (display boards: called tickets with counter or seat —
never a name or a receipt number).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sambang_contracts import Lane, SambangClaimed, SambangReleased, TicketCalled, VisitCheckedIn
from sambang_runtime.errors import DomainError

OFFICERS = "officers"
DISPLAYS = "displays"
PRIORITY_CHECK_IN = "priority_check_in"
#: The role each stream admits.
STREAM_ROLES = {OFFICERS: "sambang_officer", DISPLAYS: "display"}


@dataclass(frozen=True, slots=True)
class StreamItem:
    """One event as a stream tells it."""

    stream: str
    kind: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StreamRow:
    """One recorded stream event: its number in the stream, its kind and its JSON payload."""

    seq: int
    kind: str
    payload: str


def contiguous_after(rows: Iterable[StreamRow], cursor: int) -> list[StreamRow] | None:
    """The rows numbered cursor+1, cursor+2, ... without a gap; None when a later one is there but not the next
    (what is missing must be read from the database); [] when nothing is newer than ``cursor``."""
    newer = sorted({r.seq: r for r in rows if r.seq > cursor}.values(), key=lambda r: r.seq)
    run: list[StreamRow] = []
    for row in newer:
        if row.seq != cursor + len(run) + 1:
            break
        run.append(row)
    if newer and not run:
        return None
    return run


def priority_check_in(data: VisitCheckedIn) -> StreamItem | None:
    """A priority applicant sat down: the tablets are told where and who waits (no name)."""
    if data.lane != Lane.PRIORITY:
        return None
    return StreamItem(
        OFFICERS,
        PRIORITY_CHECK_IN,
        {
            "visit_id": data.visit_id,
            "receipt_number": data.receipt_number,
            "ticket": data.ticket,
            "seat": data.seat,
            "priority_category": data.priority_category.value,
            "paid": data.paid,
            "checked_in_at": data.checked_in_at.isoformat().replace("+00:00", "Z"),
        },
    )


def sambang_claimed(data: SambangClaimed) -> StreamItem:
    """An officer took a priority visit: the other tablets drop it from their worklist."""
    return StreamItem(
        OFFICERS,
        "sambang_claimed",
        {
            "visit_id": data.visit_id,
            "receipt_number": data.receipt_number,
            "officer_id": data.officer_id,
            "seat": data.seat,
        },
    )


def sambang_released(data: SambangReleased) -> StreamItem:
    """An officer gave a claim back: the visit waits again on every tablet."""
    return StreamItem(
        OFFICERS,
        "sambang_released",
        {"visit_id": data.visit_id, "receipt_number": data.receipt_number, "officer_id": data.officer_id},
    )


def ticket_called(data: TicketCalled, seat: str | None) -> StreamItem:
    """A display board shows the ticket and where to go: the counter, or the priority seat. Nothing else."""
    return StreamItem(
        DISPLAYS,
        "ticket_called",
        {
            "ticket": data.ticket,
            "stage": data.stage.value,
            "counter": data.counter,
            "seat": seat,
            "recall": data.recall,
        },
    )


def parse_last_event_id(value: str | None) -> int | None:
    """The id a reconnecting client names (``Last-Event-ID``); anything but a non-negative integer is none."""
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 18:
        return None
    return int(value)


def replay_needs_reset(last_seen: int, oldest_kept: int | None, newest: int) -> bool:
    """Whether a client that saw ``last_seen`` missed events no longer kept (or names an id never given):
    it is told to reload its view instead of being given a partial replay."""
    if last_seen > newest:
        return True
    if oldest_kept is None:
        return last_seen < newest  # everything after it was pruned
    return oldest_kept > last_seen + 1


# -- stream tickets ------------------------------------------------------------------------------------
# Browsers' EventSource cannot send an Authorization header. A ticket, asked for with the bearer token,
# goes in the URL instead: it opens only the one stream of one office, once, within a minute, so a URL
# that ends up in an access log, a proxy or the browser history is worth nothing, unlike the officer's
# 8-hour token. It carries the bearer token's own end (``until``): the stream it opens ends then, as a
# stream opened with the bearer token itself does.

Mac = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class TicketClaims:
    """Who a stream ticket admits, to which stream of which office, until when; its single-use id and when
    the bearer token it was asked for with ends (the stream it opens ends then)."""

    sub: str
    office: str
    stream: str
    expires_at: dt.datetime
    id: str
    until: dt.datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def sign_ticket(claims: TicketClaims, mac: Mac) -> str:
    """``<payload>.<mac>``: the payload in base64url JSON, the MAC keyed with the service's secret."""
    payload = _b64(
        json.dumps(
            {
                "sub": claims.sub,
                "office": claims.office,
                "stream": claims.stream,
                "exp": int(claims.expires_at.timestamp()),
                "jti": claims.id,
                "until": int(claims.until.timestamp()),
            },
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{mac(payload)}"


def verify_ticket(ticket: str, *, stream: str, office: str, now: dt.datetime, mac: Mac) -> TicketClaims:
    """The claims of a ticket for this stream and office, or 401 (stream_ticket_invalid / _expired; expired
    too once the bearer token it was asked for with has). Whether it was used already is the caller's
    to check (``stores.tickets.use``)."""
    payload, _, signature = ticket.partition(".")
    if not payload or not signature or not _same(mac(payload), signature):
        raise DomainError("stream_ticket_invalid")
    try:
        raw: Any = _unb64(payload)
        claims = TicketClaims(
            sub=str(raw["sub"]),
            office=str(raw["office"]),
            stream=str(raw["stream"]),
            expires_at=dt.datetime.fromtimestamp(int(raw["exp"]), dt.UTC),
            id=str(raw["jti"]),
            until=dt.datetime.fromtimestamp(int(raw["until"]), dt.UTC),
        )
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error):
        raise DomainError("stream_ticket_invalid") from None
    if claims.stream != stream or claims.office.casefold() != office.casefold():
        raise DomainError("stream_ticket_invalid")
    if now >= claims.expires_at or now >= claims.until:
        raise DomainError("stream_ticket_expired")
    return claims


def bearer_expiry(token: str) -> dt.datetime | None:
    """The ``exp`` of a bearer token that was verified already (its signature is not checked again here);
    None when it has none that can be read."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        raw: Any = _unb64(parts[1])
        return dt.datetime.fromtimestamp(int(raw["exp"]), dt.UTC)
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error):
        return None


def stream_wait(poll_seconds: float, now: dt.datetime, until: dt.datetime | None) -> float | None:
    """How long an open stream may wait for news before looking again: the poll interval, or less when
    its token ends sooner; None when the token has ended (the stream ends)."""
    if until is None:
        return poll_seconds
    left = (until - now).total_seconds()
    return None if left <= 0 else min(poll_seconds, left)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
