"""The simulator's pure rules: faults, screening, passport numbers and validity, decisions."""

from __future__ import annotations

import datetime as dt

import pytest
from sambang_contracts.enums import HoldDecision, HoldKind, PassportType, ServiceType
from sambang_runtime.errors import DomainError
from sambang_simkim_gateway.adapters.protocol import ApplicationStatus
from sambang_simkim_gateway.simulator.domain import (
    Faults,
    Verdict,
    decision_outcome,
    fault_verdict,
    issue_due,
    passport_expiry,
    passport_number,
    screen,
)

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def test_down_answers_every_call_and_the_error_rate_a_share_of_them() -> None:
    assert fault_verdict(Faults(down=True), 0.99) is Verdict.DOWN
    assert fault_verdict(Faults(error_rate=0.5), 0.49) is Verdict.ERROR
    assert fault_verdict(Faults(error_rate=0.5), 0.5) is Verdict.SERVE
    assert fault_verdict(Faults(), 0.0) is Verdict.SERVE


def test_the_watch_list_comes_first_and_only_a_new_application_duplicates_an_active_passport() -> None:
    assert screen(on_watchlist=True, has_active_passport=True, service_type=ServiceType.NEW) is HoldKind.CEKAL
    assert (
        screen(on_watchlist=False, has_active_passport=True, service_type=ServiceType.NEW)
        is HoldKind.DUPLICATE_PASSPORT
    )
    for replacement in (ServiceType.RENEWAL, ServiceType.REPLACEMENT_LOST, ServiceType.REPLACEMENT_DAMAGED):
        assert screen(on_watchlist=False, has_active_passport=True, service_type=replacement) is None
    assert screen(on_watchlist=False, has_active_passport=False, service_type=ServiceType.NEW) is None


def test_passport_numbers_and_validity() -> None:
    assert passport_number(PassportType.ELECTRONIC, 42) == "X0000042"
    assert passport_number(PassportType.REGULAR, 7) == "C0000007"
    assert passport_expiry(T0, 10) == dt.datetime(2036, 12, 1, 2, 0, tzinfo=dt.UTC)
    leap = dt.datetime(2028, 2, 29, tzinfo=dt.UTC)
    assert passport_expiry(leap, 5) == dt.datetime(2033, 2, 28, tzinfo=dt.UTC)


def test_an_accepted_application_is_issued_after_its_delay() -> None:
    later = T0 + dt.timedelta(seconds=10)
    assert not issue_due(ApplicationStatus.ACCEPTED, later, T0)
    assert issue_due(ApplicationStatus.ACCEPTED, later, later)
    assert not issue_due(ApplicationStatus.HELD, None, later)


def test_a_decision_is_taken_once_and_only_on_a_held_application() -> None:
    assert decision_outcome(ApplicationStatus.HELD, None, HoldDecision.RELEASE) is ApplicationStatus.ACCEPTED
    assert decision_outcome(ApplicationStatus.HELD, None, HoldDecision.DENY) is ApplicationStatus.DENIED
    assert decision_outcome(ApplicationStatus.ACCEPTED, HoldDecision.RELEASE, HoldDecision.RELEASE) is None
    with pytest.raises(DomainError) as e:
        decision_outcome(ApplicationStatus.DENIED, HoldDecision.DENY, HoldDecision.RELEASE)
    assert e.value.code == "decision_conflict"
    with pytest.raises(DomainError) as e:
        decision_outcome(ApplicationStatus.ACCEPTED, None, HoldDecision.RELEASE)
    assert e.value.code == "not_held"
