"""Pure rules of the SIMKIM simulator: injected faults, watch-list and duplicate-passport screening,
issuance, passport numbers and validity, decisions on holds. No I/O, no wall clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sambang_contracts.enums import HoldDecision, HoldKind, PassportType, ServiceType
from sambang_runtime.errors import DomainError

from ..adapters.protocol import ApplicationStatus


@dataclass(slots=True)
class Faults:
    """What the simulator does wrong on purpose (admin endpoint ``PUT /simkim/_admin/faults``)."""

    error_rate: float = 0.0
    latency_ms: int = 0
    down: bool = False


class Verdict(StrEnum):
    """What happens to one request under the current faults."""

    DOWN = "DOWN"  # 503 before anything is done
    ERROR = "ERROR"  # 500 before anything is done
    SERVE = "SERVE"


def fault_verdict(faults: Faults, draw: float) -> Verdict:
    """Down answers 503; else a request fails with 500 with probability ``error_rate`` (``draw`` in [0, 1))."""
    if faults.down:
        return Verdict.DOWN
    if draw < faults.error_rate:
        return Verdict.ERROR
    return Verdict.SERVE


def screen(*, on_watchlist: bool, has_active_passport: bool, service_type: ServiceType) -> HoldKind | None:
    """SIMKIM's checks on a new application: the watch list (cekal) first, then a duplicate passport.

    A renewal or a replacement (penggantian: RENEWAL, REPLACEMENT_LOST, REPLACEMENT_DAMAGED) supersedes the
    active passport, so only a NEW application with an active passport is a duplicate.
    """
    if on_watchlist:
        return HoldKind.CEKAL
    if has_active_passport and service_type is ServiceType.NEW:
        return HoldKind.DUPLICATE_PASSPORT
    return None


_SERIES = {
    PassportType.REGULAR: "C",
    PassportType.ELECTRONIC: "X",
    PassportType.ELECTRONIC_POLYCARBONATE: "E",
}


def passport_number(passport_type: PassportType, serial: int) -> str:
    """A passport number: a series letter by booklet type and seven digits."""
    return f"{_SERIES[passport_type]}{serial % 10_000_000:07d}"


def passport_expiry(issued_at: dt.datetime, years: int) -> dt.datetime:
    """The same calendar day ``years`` later (28 February for a passport issued on 29 February)."""
    try:
        return issued_at.replace(year=issued_at.year + years)
    except ValueError:
        return issued_at.replace(year=issued_at.year + years, day=28)


def issue_due(status: ApplicationStatus, issue_after: dt.datetime | None, now: dt.datetime) -> bool:
    """An accepted application is issued once its issuance delay has passed."""
    return status is ApplicationStatus.ACCEPTED and issue_after is not None and now >= issue_after


def decision_outcome(
    status: ApplicationStatus, recorded: HoldDecision | None, decision: HoldDecision
) -> ApplicationStatus | None:
    """The status a decision leads to; None when the same decision was already recorded (a repeat)."""
    if recorded is not None:
        if recorded is decision:
            return None
        raise DomainError("decision_conflict")
    if status is not ApplicationStatus.HELD:
        raise DomainError("not_held")
    return ApplicationStatus.ACCEPTED if decision is HoldDecision.RELEASE else ApplicationStatus.DENIED
