"""The reminder the day before a visit: when it is due, and how capture's checklist reads to the applicant.

Pure rules, no I/O and no clock: the instant comes in as an argument, the holiday calendar as a function
(``sambang_contracts.values.indonesian_public_holidays``). The checklist itself is capture's (the same list
the verifier ticks), fetched by ``adapters.capture``; this module only words its lines.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sambang_contracts import Language
from sambang_contracts.values import IsHoliday, age_on, is_working_day

from .messages import Applicant, Office, format_date, format_instant, format_time, zone

#: The template of the reminder (``notifier.notification.sent`` carries it).
TEMPLATE = "visit_reminder"
#: The delivery log's event type of a reminder (no event of another service causes it: the clock does).
EVENT_TYPE = "notifier.visit.reminder"
#: Visit days looked ahead for reminders due now: longer than any run of holidays and weekends.
LOOKAHEAD_DAYS = 31

_REMINDER_NAMESPACE = uuid.UUID("0b9b1f57-33c5-4d0a-9a39-6f1c1c1f2a24")


def reminder_id(receipt: str) -> str:
    """The one reminder of an application, as the delivery log's event id: its (event, channel, recipient)
    unique key then refuses a second reminder to the same address, whichever replica tries."""
    return str(uuid.uuid5(_REMINDER_NAMESPACE, f"{TEMPLATE}:{receipt}"))


def working_day_before(day: dt.date, is_holiday: IsHoliday) -> dt.date:
    """The last working day before ``day``: back over weekends and public holidays."""
    before = day - dt.timedelta(days=1)
    while not is_working_day(before, is_holiday):
        before -= dt.timedelta(days=1)
    return before


def reminder_due_at(visit_day: dt.date, *, hour: int, timezone: str, is_holiday: IsHoliday) -> dt.datetime:
    """When the reminder of a visit on ``visit_day`` goes: ``hour`` o'clock, office time, the working day before."""
    local = dt.datetime.combine(working_day_before(visit_day, is_holiday), dt.time(hour), tzinfo=zone(timezone))
    return local.astimezone(dt.UTC)


def office_today(now: dt.datetime, timezone: str) -> dt.date:
    """The office's calendar day at ``now``."""
    return now.astimezone(zone(timezone)).date()


def last_visit_day_due(now: dt.datetime, *, hour: int, timezone: str, is_holiday: IsHoliday) -> dt.date | None:
    """The latest visit day whose reminder is due at ``now`` (visits after today, office time), or None.

    The due instant never decreases from one visit day to the next, so the due visit days are the run
    from tomorrow up to the answer: one range query finds them, and a reminder missed while the notifier
    was down still goes before the visit day (never on it).
    """
    today = office_today(now, timezone)
    last: dt.date | None = None
    for ahead in range(1, LOOKAHEAD_DAYS + 1):
        day = today + dt.timedelta(days=ahead)
        if reminder_due_at(day, hour=hour, timezone=timezone, is_holiday=is_holiday) > now:
            break
        last = day
    return last


@dataclass(frozen=True, slots=True)
class ChecklistLine:
    """One line of capture's checklist: any one of ``kinds`` (DocumentKind values), held by ``holder``."""

    requirement: str
    kinds: tuple[str, ...]
    holder: str


@dataclass(frozen=True, slots=True)
class Visit:
    """What the reminder says about one application's visit (decrypted from the notifier's copy)."""

    receipt_number: str
    office: str
    slot_date: dt.date
    slot_start: dt.time
    slot_end: dt.time
    service_type: str
    birth_date: dt.date
    arrival_url: str | None
    arrival_expires_at: dt.datetime | None
    arrival_confirmed: bool

    @property
    def age(self) -> int:
        """The applicant's age on the visit day: the checklist a child brings is not an adult's."""
        return age_on(self.birth_date, self.slot_date)


_KINDS: dict[Language, dict[str, str]] = {
    Language.ID: {
        "KTP": "KTP",
        "KK": "Kartu Keluarga (KK)",
        "BIRTH_CERTIFICATE": "akta kelahiran",
        "MARRIAGE_CERTIFICATE": "buku nikah/akta perkawinan",
        "DIPLOMA": "ijazah",
        "OLD_PASSPORT": "paspor lama",
        "POLICE_REPORT": "surat keterangan hilang dari kepolisian",
        "PERDIM_11": "formulir Perdim 11",
        "STATEMENT_LETTER": "surat pernyataan",
        "OTHER": "dokumen pendukung lain",
    },
    Language.EN: {
        "KTP": "identity card (KTP)",
        "KK": "family card (KK)",
        "BIRTH_CERTIFICATE": "birth certificate",
        "MARRIAGE_CERTIFICATE": "marriage certificate",
        "DIPLOMA": "diploma",
        "OLD_PASSPORT": "old passport",
        "POLICE_REPORT": "police report of the loss",
        "PERDIM_11": "form Perdim 11",
        "STATEMENT_LETTER": "statement letter",
        "OTHER": "other supporting document",
    },
}
#: Whose document a line asks for, when it is not the applicant's own (a child's parents').
_HOLDERS: dict[Language, dict[str, str]] = {
    Language.ID: {"FATHER": "{doc} ayah", "MOTHER": "{doc} ibu", "PARENTS": "{doc} orang tua"},
    Language.EN: {"FATHER": "father's {doc}", "MOTHER": "mother's {doc}", "PARENTS": "parents' {doc}"},
}
_ONE_OF = {Language.ID: ("salah satu: {docs}", " atau "), Language.EN: ("one of: {docs}", " or ")}


def _kind(kind: str, language: Language) -> str:
    # A kind newer than this notifier still reads as something: its name in words.
    return _KINDS[language].get(kind, kind.replace("_", " ").lower())


def document_line(line: ChecklistLine, language: Language) -> str:
    """One checklist line as the applicant reads it: ``KTP ayah``, ``one of: birth certificate, …``."""
    names = [_kind(k, language) for k in line.kinds] or [line.requirement.replace("_", " ").lower()]
    if len(names) == 1:
        doc = names[0]
    else:
        pattern, last_join = _ONE_OF[language]
        doc = pattern.format(docs=", ".join(names[:-1]) + last_join + names[-1])
    held = _HOLDERS[language].get(line.holder)
    if held is not None:
        doc = held.format(doc=doc)
    return doc[:1].upper() + doc[1:]


_WEEKDAYS = {
    Language.ID: ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    Language.EN: ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}


def format_day(day: dt.date, language: Language) -> str:
    """``Senin, 18 Agustus 2025`` / ``Monday, 18 August 2025``."""
    return f"{_WEEKDAYS[language][day.weekday()]}, {format_date(day, language)}"


def reminder_variables(
    visit: Visit, applicant: Applicant, office: Office, checklist: Sequence[ChecklistLine], *, now: dt.datetime
) -> dict[str, Any]:
    """What the ``visit_reminder`` template is given: the day, the session, the office, the documents to bring,
    and the arrival link while arrival is not confirmed (and the link still works)."""
    lang = applicant.language
    link_open = (
        visit.arrival_url is not None
        and not visit.arrival_confirmed
        and (visit.arrival_expires_at is None or visit.arrival_expires_at > now)
    )
    return {
        "name": applicant.name,
        "receipt_number": visit.receipt_number,
        "office_name": office.name,
        # queue.office.updated carries no address yet: the template shows it once one is known.
        "office_address": "",
        "language": lang.value,
        "visit_day": format_day(visit.slot_date, lang),
        "slot_start": format_time(visit.slot_start),
        "slot_end": format_time(visit.slot_end),
        "documents": [document_line(line, lang) for line in checklist],
        "arrival_url": visit.arrival_url if link_open else "",
        "arrival_expires": (
            format_instant(visit.arrival_expires_at, office.timezone, lang)
            if link_open and visit.arrival_expires_at is not None
            else ""
        ),
    }
