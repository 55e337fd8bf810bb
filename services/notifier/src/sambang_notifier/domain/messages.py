"""Which message an event becomes, and what its template is given: pure rules, no I/O, no clock.

Holds (simkim.hold.*) are never told to the applicant: no template maps them, and the handler table
does not even bind them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sambang_contracts import (
    ApplicationCancelled,
    ApplicationRegistered,
    ArrivalLinkIssued,
    BillIssued,
    CancelReason,
    CollectedBy,
    EventData,
    Lane,
    Language,
    PassportCollected,
    PassportIssued,
    TicketNearTurn,
    VisitCheckedIn,
    WaitEstimate,
)

#: Every template the notifier ships, in the order an applicant meets them.
TEMPLATE_NAMES: tuple[str, ...] = (
    "receipt",
    "bill_issued",
    "arrival_link",
    "bill_expired",
    "ticket",
    "near_turn",
    "passport_ready",
    "passport_collected",
    "cancelled",
    "visit_reminder",
)


@dataclass(frozen=True, slots=True)
class Applicant:
    """Who a receipt's messages go to (decrypted from the notifier's own copy of the registration)."""

    name: str
    language: Language
    email: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class Office:
    """An office as the applicant reads it (its name and its clock), and its reminder rules."""

    code: str
    name: str
    timezone: str
    #: The office's ``reminder_enabled`` and ``reminder_hour`` (office-local), as queue.office.updated said.
    reminder_enabled: bool = True
    reminder_hour: int = 16


#: The template each kind of event is told with.
_TEMPLATE_OF: dict[type[EventData], str] = {
    ApplicationRegistered: "receipt",
    BillIssued: "bill_issued",
    ArrivalLinkIssued: "arrival_link",
    ApplicationCancelled: "cancelled",
    VisitCheckedIn: "ticket",
    TicketNearTurn: "near_turn",
    PassportIssued: "passport_ready",
    PassportCollected: "passport_collected",
}


def template_for(data: EventData) -> str | None:
    """The template an event is told with, or None when the applicant is not told (holds, an internal change)."""
    if isinstance(data, ApplicationCancelled) and data.reason == CancelReason.BILL_EXPIRED:
        # The queue releases the booking when the bill expires and says so with this reason: one message
        # tells both (payment.bill.expired alone would be a second message about the same thing).
        return "bill_expired"
    return _TEMPLATE_OF.get(type(data))


def language_of(value: str | None) -> Language:
    """The applicant's language; Bahasa Indonesia when unknown."""
    return Language.EN if value == Language.EN.value else Language.ID


_MONTHS = {
    Language.ID: (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ),
    Language.EN: (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
#: Indonesian time zone names as applicants read them on a clock.
_ZONE_NAMES = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


def zone(name: str) -> ZoneInfo:
    """An IANA zone, Asia/Jakarta when the name is unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Jakarta")


def format_date(day: dt.date, language: Language) -> str:
    """``1 Desember 2026`` / ``1 December 2026``."""
    return f"{day.day} {_MONTHS[language][day.month - 1]} {day.year}"


def format_time(t: dt.time) -> str:
    """``08.00`` as Indonesians write it, ``08:00`` is read the same way in English."""
    return f"{t.hour:02d}.{t.minute:02d}"


def format_instant(when: dt.datetime, timezone: str, language: Language) -> str:
    """An instant in the office's time: ``1 Desember 2026 pukul 10.00 WIB`` / ``1 December 2026 at 10:00 WIB``."""
    local = when.astimezone(zone(timezone))
    label = _ZONE_NAMES.get(timezone, local.tzname() or timezone)
    if language == Language.ID:
        return f"{format_date(local.date(), language)} pukul {format_time(local.time())} {label}"
    return f"{format_date(local.date(), language)} at {local:%H:%M} {label}"


def format_rupiah(amount: int, language: Language) -> str:
    """``Rp350.000`` in Bahasa Indonesia, ``IDR 350,000`` in English."""
    if language == Language.ID:
        return "Rp" + f"{amount:,}".replace(",", ".")
    return f"IDR {amount:,}"


#: A wait within this many minutes is told as "less than" it: the queue says 0-5 then, never a false precision.
SHORT_WAIT_MINUTES = 5


def format_wait(estimate: WaitEstimate | None, language: Language) -> str:
    """An estimated wait in words, as the kiosk, the status page and the board word it: ``sekitar 20-30 menit``
    / ``about 20-30 minutes`` (an en dash between); ``kurang dari 5 menit`` / ``less than 5 minutes`` when it
    is within five minutes (the queue says 0-5), ``less than N minutes`` for any 0-N; empty when there is no
    estimate."""
    if estimate is None:
        return ""
    low, high = estimate.low_minutes, estimate.high_minutes
    if high <= SHORT_WAIT_MINUTES or low == 0:
        under = max(high, SHORT_WAIT_MINUTES)
        return f"kurang dari {under} menit" if language == Language.ID else f"less than {under} minutes"
    span = f"{low}" if low == high else f"{low}\u2013{high}"
    return f"sekitar {span} menit" if language == Language.ID else f"about {span} minutes"


_CANCEL_REASONS = {
    Language.ID: {
        CancelReason.APPLICANT: "atas permintaan Anda",
        CancelReason.BILL_EXPIRED: "karena tagihan tidak dibayar tepat waktu",
        CancelReason.NO_SHOW: "karena Anda tidak hadir saat dipanggil",
        CancelReason.OFFICER: "oleh petugas",
    },
    Language.EN: {
        CancelReason.APPLICANT: "at your request",
        CancelReason.BILL_EXPIRED: "because the bill was not paid in time",
        CancelReason.NO_SHOW: "because you were not present when called",
        CancelReason.OFFICER: "by an officer",
    },
}


def variables_for(data: EventData, applicant: Applicant, office: Office) -> dict[str, Any]:
    """What a template is given for an event: formatted in the applicant's language and the office's time."""
    lang = applicant.language
    base: dict[str, Any] = {
        "name": applicant.name,
        "receipt_number": getattr(data, "receipt_number", ""),
        "office_name": office.name,
        "language": lang.value,
    }
    if isinstance(data, ApplicationRegistered):
        base |= {
            "slot_date": format_date(data.slot.date, lang),
            "slot_start": format_time(data.slot.start),
            "slot_end": format_time(data.slot.end),
            "express": data.express,
            "walk_in": data.walk_in,
        }
    elif isinstance(data, BillIssued):
        base |= {
            "billing_code": data.billing_code,
            "amount": format_rupiah(data.amount, lang),
            "deadline": format_instant(data.expires_at, office.timezone, lang),
        }
    elif isinstance(data, ArrivalLinkIssued):
        base |= {"url": data.url, "link_expires": format_instant(data.expires_at, office.timezone, lang)}
    elif isinstance(data, ApplicationCancelled):
        base |= {"reason": _CANCEL_REASONS[lang][data.reason]}
    elif isinstance(data, VisitCheckedIn):
        base |= {"ticket": data.ticket, "priority": data.lane == Lane.PRIORITY, "seat": data.seat or ""}
    elif isinstance(data, TicketNearTurn):
        base |= {
            "ticket": data.ticket,
            "position": data.position,
            "estimated_wait": format_wait(data.estimated_wait, lang),
        }
    elif isinstance(data, PassportIssued):
        base |= {"pickup_from": format_date(data.pickup_from, lang)}
    elif isinstance(data, PassportCollected):
        base |= {
            "collected_at": format_instant(data.collected_at, office.timezone, lang),
            "by_proxy": data.collected_by == CollectedBy.PROXY,
        }
    return base


_COMMON_SAMPLE: dict[str, Any] = {
    "name": "Siti Aminah",
    "receipt_number": "BLT2612010421733",
    "office_name": "Kantor Imigrasi Blitar",
    "language": "id",
}

#: Variables each template is rendered with when an admin saves it: a template that needs more fails then.
SAMPLE_VARIABLES: dict[str, dict[str, Any]] = {
    "receipt": _COMMON_SAMPLE
    | {"slot_date": "2 Desember 2026", "slot_start": "08.00", "slot_end": "12.00", "express": False, "walk_in": False},
    "bill_issued": _COMMON_SAMPLE
    | {"billing_code": "820261201000017", "amount": "Rp350.000", "deadline": "1 Desember 2026 pukul 12.00 WIB"},
    "arrival_link": _COMMON_SAMPLE
    | {
        "url": "https://antrian.example.id/arrival?receipt=x&token=y",
        "link_expires": "2 Desember 2026 pukul 12.00 WIB",
    },
    "bill_expired": _COMMON_SAMPLE,
    "ticket": _COMMON_SAMPLE | {"ticket": "P001", "priority": True, "seat": "P1"},
    "near_turn": _COMMON_SAMPLE | {"ticket": "A017", "position": 3, "estimated_wait": "sekitar 20\u201330 menit"},
    "passport_ready": _COMMON_SAMPLE | {"pickup_from": "9 Desember 2026"},
    "passport_collected": _COMMON_SAMPLE | {"collected_at": "9 Desember 2026 pukul 10.00 WIB", "by_proxy": False},
    "cancelled": _COMMON_SAMPLE | {"reason": "atas permintaan Anda"},
    "visit_reminder": _COMMON_SAMPLE
    | {
        "office_address": "Jl. Sudanco Supriyadi No. 1, Blitar",
        "visit_day": "Rabu, 2 Desember 2026",
        "slot_start": "08.00",
        "slot_end": "12.00",
        "documents": [
            "KTP",
            "Kartu Keluarga (KK)",
            "Salah satu: akta kelahiran, buku nikah/akta perkawinan atau ijazah",
            "Surat keterangan hilang dari kepolisian",
            "Formulir Perdim 11",
            "Surat pernyataan",
        ],
        "arrival_url": "https://antrian.example.id/arrival?receipt=BLT2612010421733&token=1764694800.0123456789abcdef0123456789abcdef",
        "arrival_expires": "2 Desember 2026 pukul 23.59 WIB",
    },
}
