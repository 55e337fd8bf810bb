"""Rules of one capture: finger positions, who gives fingerprints, exceptions, what is still missing,
the interview, the capture mode and the office's rules (retention: ``domain.retention``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sambang_contracts import CaptureItemKind, CaptureMode, InterviewDecision, Lane
from sambang_runtime.errors import DomainError

from .documents import Requirement

#: ISO/IEC 19794-4 finger positions: 1 right thumb … 5 right little, 6 left thumb … 10 left little.
FINGER_POSITIONS: tuple[int, ...] = tuple(range(1, 11))
FINGER_NAMES: dict[int, str] = {
    1: "right thumb",
    2: "right index",
    3: "right middle",
    4: "right ring",
    5: "right little",
    6: "left thumb",
    7: "left index",
    8: "left middle",
    9: "left ring",
    10: "left little",
}
#: Children below this age give no fingerprints (their ridges are too small to match reliably).
FINGERPRINT_MIN_AGE = 5


class FingerprintExceptionReason(StrEnum):
    """Why a finger could not be captured; each needs a supervisor's single-use approval of that finger."""

    AMPUTATED = "AMPUTATED"
    BANDAGED = "BANDAGED"
    UNUSABLE = "UNUSABLE"
    OTHER = "OTHER"


class SignatureExceptionReason(StrEnum):
    """Why there is no signature."""

    CANNOT_SIGN = "CANNOT_SIGN"


class ViolationCategory(StrEnum):
    """What an officer saw that must be reported at once."""

    #: Suspected non-procedural migrant worker (calon PMI non-prosedural).
    NONPROCEDURAL_MIGRANT_WORKER = "NONPROCEDURAL_MIGRANT_WORKER"
    FORGED_DOCUMENT = "FORGED_DOCUMENT"
    IDENTITY_FRAUD = "IDENTITY_FRAUD"
    FALSE_STATEMENT = "FALSE_STATEMENT"
    OTHER = "OTHER"


def finger_position(position: int) -> int:
    """A valid ISO/IEC 19794-4 finger position (1-10), else ``invalid_finger_position``."""
    if position not in FINGER_POSITIONS:
        raise DomainError("invalid_finger_position", position=position)
    return position


def local_day(now: dt.datetime, timezone: str) -> dt.date:
    """The calendar day at the office (ages change at the office's midnight, not UTC's)."""
    return now.astimezone(ZoneInfo(timezone)).date()


def check_open(completed: bool) -> None:
    """Once completed (and possibly submitted to SIMKIM), a capture no longer changes."""
    if completed:
        raise DomainError("capture_already_completed")


def gives_fingerprints(age_years: int) -> bool:
    """Whether an applicant of this age gives fingerprints (not below 5)."""
    return age_years >= FINGERPRINT_MIN_AGE


# -- completeness -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaptureState:
    """What is recorded for one application, as far as completeness is concerned."""

    unmet_documents: tuple[Requirement, ...]
    has_photo: bool
    fingerprints_required: bool
    fingerprints: frozenset[int]
    fingerprint_exceptions: frozenset[int]
    has_signature: bool
    signature_exception: bool


def missing(state: CaptureState) -> list[dict[str, Any]]:
    """Exactly what is still missing before the capture can be completed, in checklist order."""
    out: list[dict[str, Any]] = [
        {"item": "DOCUMENT", "requirement": r.key, "kinds": [k.value for k in r.kinds], "holder": r.holder.value}
        for r in state.unmet_documents
    ]
    if not state.has_photo:
        out.append({"item": CaptureItemKind.PHOTO.value})
    if state.fingerprints_required:
        covered = state.fingerprints | state.fingerprint_exceptions
        out += [
            {"item": CaptureItemKind.FINGERPRINT.value, "position": p, "finger": FINGER_NAMES[p]}
            for p in FINGER_POSITIONS
            if p not in covered
        ]
    if not (state.has_signature or state.signature_exception):
        out.append({"item": CaptureItemKind.SIGNATURE.value})
    return out


# -- interview and mode -------------------------------------------------------------------------

#: Decisions that close the interview; NEEDS_DOCUMENTS waits for the applicant to come back.
FINAL_DECISIONS = frozenset({InterviewDecision.APPROVED, InterviewDecision.REJECTED})


def check_interview_change(previous: InterviewDecision | None, decision: InterviewDecision) -> None:
    """A final decision (APPROVED or REJECTED) is not changed afterwards; the same one again is fine."""
    if previous in FINAL_DECISIONS and decision is not previous:
        raise DomainError("interview_already_decided", decision=previous.value if previous else None)


def capture_mode(explicit: CaptureMode | None, lane: Lane | None, roles: Collection[str]) -> CaptureMode:
    """Where the work happened: as said, else at the seat for the priority lane or a tablet officer."""
    if explicit is not None:
        return explicit
    if lane is Lane.PRIORITY or (lane is None and "sambang_officer" in roles and "interviewer" not in roles):
        return CaptureMode.SAMBANG
    return CaptureMode.COUNTER


# -- office rules and retention ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfficeRules:
    """An office's time zone, fingerprint quality threshold and biometric retention (from queue), within
    their bounds (``domain.retention``)."""

    timezone: str
    fingerprint_quality_threshold: int
    biometric_retention_days: int
