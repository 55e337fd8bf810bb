"""The gateway's pure rules: readiness in any order, backoff, the breaker, the bundle check, holds, pickup days."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from dataclasses import replace

import pytest
from sambang_contracts.enums import HoldDecision, InterviewDecision
from sambang_contracts.values import add_working_days, indonesian_public_holidays
from sambang_runtime.errors import DomainError
from sambang_simkim_gateway.domain import (
    Breaker,
    BreakerPolicy,
    BreakerState,
    BundlePiece,
    ManifestItem,
    Permit,
    Readiness,
    SubmissionState,
    after_decision,
    backoff_seconds,
    breaker_after_failure,
    breaker_after_success,
    breaker_permit,
    breaker_probe_returned,
    breaker_probing,
    bundle_mismatches,
    check_hold_decision,
    check_retryable,
    gives_up,
    local_day,
    pickup_from,
    state_after_fact,
    supersedes,
)

FACTS = ("registered", "paid", "captured", "approved")
T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def _apply(state: SubmissionState, readiness: Readiness, fact: str) -> tuple[SubmissionState, Readiness]:
    if fact == "approved":
        readiness = replace(readiness, interview=InterviewDecision.APPROVED)
    elif fact == "rejected":
        readiness = replace(readiness, interview=InterviewDecision.REJECTED)
    elif fact == "needs_documents":
        readiness = replace(readiness, interview=InterviewDecision.NEEDS_DOCUMENTS)
    else:
        readiness = replace(
            readiness,
            registered=readiness.registered or fact == "registered",
            paid=readiness.paid or fact == "paid",
            captured=readiness.captured or fact == "captured",
        )
    return state_after_fact(state, readiness), readiness


def _run(facts: list[str]) -> list[SubmissionState]:
    """The states after each fact, from a new application."""
    state, readiness = SubmissionState.WAITING, Readiness()
    states = []
    for fact in facts:
        state, readiness = _apply(state, readiness, fact)
        states.append(state)
    return states


@pytest.mark.parametrize("order", list(itertools.permutations(FACTS)), ids="-".join)
def test_the_four_facts_in_any_order_each_twice_make_exactly_one_submission(order: tuple[str, ...]) -> None:
    # Each fact delivered twice: once in its place and again right after the last one.
    facts = [f for fact in order for f in (fact, fact)] + list(order)
    states = _run(facts)
    became_ready = [
        i
        for i in range(len(states))
        if states[i] is SubmissionState.SUBMITTING and (i == 0 or states[i - 1] is SubmissionState.WAITING)
    ]
    assert len(became_ready) == 1
    assert states[-1] is SubmissionState.SUBMITTING
    # Ready exactly when the last distinct fact arrived.
    assert became_ready[0] == 2 * len(FACTS) - 2


def test_three_facts_are_not_enough() -> None:
    for three in itertools.combinations(FACTS, 3):
        assert _run(list(three))[-1] is SubmissionState.WAITING


def test_rejected_at_interview_ends_the_application_and_a_later_approval_changes_nothing() -> None:
    states = _run(["registered", "rejected", "paid", "captured", "approved"])
    assert states[1] is SubmissionState.DENIED
    assert states[-1] is SubmissionState.DENIED


def test_needs_documents_waits_for_a_later_approval() -> None:
    states = _run(["registered", "paid", "captured", "needs_documents", "approved"])
    assert states[-2] is SubmissionState.WAITING
    assert states[-1] is SubmissionState.SUBMITTING


def test_an_older_fact_arriving_late_does_not_replace_a_newer_one() -> None:
    assert supersedes(None, T0)
    assert supersedes(T0, T0 + dt.timedelta(seconds=1))
    assert not supersedes(T0, T0 - dt.timedelta(seconds=1))


def test_backoff_grows_exponentially_with_jitter_and_stops_at_the_cap() -> None:
    lows = [backoff_seconds(n, base=2, cap=300, spread=0.0) for n in range(1, 10)]
    highs = [backoff_seconds(n, base=2, cap=300, spread=0.999999) for n in range(1, 10)]
    assert lows[:5] == [1, 2, 4, 8, 16]
    assert all(h < 2 * lo + 1e-3 for lo, h in zip(lows, highs, strict=True))
    assert max(highs) <= 300
    assert backoff_seconds(60, base=2, cap=300, spread=0.5) == pytest.approx(225)
    with pytest.raises(ValueError):
        backoff_seconds(0, base=2, cap=300, spread=0.5)


def test_the_gateway_gives_up_after_the_last_attempt_but_never_during_an_outage() -> None:
    assert not gives_up(7, 8, outage=False)
    assert gives_up(8, 8, outage=False)
    assert not gives_up(80, 8, outage=True)


POLICY = BreakerPolicy(threshold=3, open_seconds=10, open_cap_seconds=35, probe_lease_seconds=60)


def test_the_breaker_opens_after_consecutive_failures_and_fails_fast_until_a_probe_is_due() -> None:
    b = Breaker()
    for _ in range(2):
        b = breaker_after_failure(b, T0, POLICY, probe=False)
        assert breaker_permit(b, T0)[0] is Permit.CALL
    b = breaker_after_failure(b, T0, POLICY, probe=False)
    assert b.state is BreakerState.OPEN
    assert breaker_permit(b, T0 + dt.timedelta(seconds=9)) == (Permit.WAIT, T0 + dt.timedelta(seconds=10))
    assert breaker_permit(b, T0 + dt.timedelta(seconds=10))[0] is Permit.PROBE


def test_one_success_resets_the_failure_count() -> None:
    b = breaker_after_failure(breaker_after_failure(Breaker(), T0, POLICY, probe=False), T0, POLICY, probe=False)
    b = breaker_after_success(b)
    assert b == Breaker()
    assert breaker_after_success(b) is b  # nothing to write in the common case


def test_a_probe_that_fails_reopens_for_twice_as_long_up_to_the_cap() -> None:
    b = Breaker(BreakerState.OPEN, 3, 10, T0, None)
    seen = []
    now = T0
    for _ in range(4):
        b = breaker_probing(b, now, POLICY)
        assert b.state is BreakerState.HALF_OPEN
        assert breaker_permit(b, now)[0] is Permit.WAIT  # one probe at a time
        b = breaker_after_failure(b, now, POLICY, probe=True)
        seen.append(b.open_seconds)
        now = b.retry_at or now
    assert seen == [20, 35, 35, 35]
    b = breaker_after_success(breaker_probing(b, now, POLICY))
    assert b.state is BreakerState.CLOSED and b.failures == 0


def test_a_lost_probe_lets_another_replica_probe_once_its_lease_runs_out() -> None:
    b = breaker_probing(Breaker(BreakerState.OPEN, 3, 10, T0, None), T0, POLICY)
    assert breaker_permit(b, T0 + dt.timedelta(seconds=59))[0] is Permit.WAIT
    assert breaker_permit(b, T0 + dt.timedelta(seconds=60))[0] is Permit.PROBE


def test_a_probe_given_back_unused_may_be_taken_at_once() -> None:
    b = breaker_probe_returned(breaker_probing(Breaker(BreakerState.OPEN, 3, 10, T0, None), T0, POLICY), T0)
    assert breaker_permit(b, T0)[0] is Permit.PROBE


def test_a_straggler_failing_after_the_breaker_opened_changes_nothing() -> None:
    b = Breaker(BreakerState.OPEN, 3, 10, T0 + dt.timedelta(seconds=10), None)
    assert breaker_after_failure(b, T0, POLICY, probe=False) is b


def _piece(kind: str, position: int | None, data: bytes) -> BundlePiece:
    return BundlePiece(kind, position, hashlib.sha256(data).hexdigest(), data)


def _manifest(*pieces: BundlePiece) -> list[ManifestItem]:
    return [ManifestItem(p.kind, p.position, p.sha256) for p in pieces]


def test_a_bundle_matching_its_manifest_passes() -> None:
    photo, finger = _piece("PHOTO", None, b"photo"), _piece("FINGERPRINT", 3, b"finger")
    assert bundle_mismatches(_manifest(photo, finger), [finger, photo]) == []


def test_bundle_mismatches_name_each_item_without_its_content() -> None:
    photo, finger, sig = (
        _piece("PHOTO", None, b"photo"),
        _piece("FINGERPRINT", 3, b"finger"),
        _piece("SIGNATURE", None, b"s"),
    )
    other = _piece("PHOTO", None, b"another photo")
    corrupted = BundlePiece("FINGERPRINT", 3, finger.sha256, b"tampered")
    extra = _piece("FINGERPRINT", 4, b"x")
    problems = bundle_mismatches(_manifest(photo, finger, sig), [other, corrupted, extra])
    assert problems == [
        "PHOTO: sha256 differs from the manifest",
        "FINGERPRINT 3: bytes do not match their sha256",
        "FINGERPRINT 4: not in the manifest",
        "SIGNATURE: missing from the bundle",
    ]
    assert bundle_mismatches(_manifest(photo), [photo, photo]) == ["PHOTO: twice in the bundle"]


def test_the_interviewing_officer_may_not_decide_the_hold() -> None:
    with pytest.raises(DomainError) as e:
        check_hold_decision(SubmissionState.HELD, decider="officer-7", interviewer="officer-7")
    assert e.value.code == "decider_is_interviewer"
    check_hold_decision(SubmissionState.HELD, decider="head-1", interviewer="officer-7")
    with pytest.raises(DomainError) as e:
        check_hold_decision(SubmissionState.ACCEPTED, decider="head-1", interviewer="officer-7")
    assert e.value.code == "hold_not_open"
    assert after_decision(HoldDecision.RELEASE) is SubmissionState.ACCEPTED
    assert after_decision(HoldDecision.DENY) is SubmissionState.DENIED


def test_only_a_failed_submission_can_be_retried() -> None:
    check_retryable(SubmissionState.FAILED)
    for state in SubmissionState:
        if state is not SubmissionState.FAILED:
            with pytest.raises(DomainError):
                check_retryable(state)


HOLIDAYS = indonesian_public_holidays()


@pytest.mark.parametrize(
    ("interview", "expected", "why"),
    [
        (dt.date(2026, 12, 7), dt.date(2026, 12, 14), "a plain week: Monday to Monday"),
        (dt.date(2026, 12, 21), dt.date(2026, 12, 29), "Christmas Day (Friday 25 December 2026) skipped"),
        (dt.date(2026, 8, 14), dt.date(2026, 8, 24), "Independence Day (Monday 17 August 2026) skipped"),
        (dt.date(2026, 3, 16), dt.date(2026, 3, 24), "Nyepi (Thursday 19 March 2026) skipped"),
        (dt.date(2027, 3, 5), dt.date(2027, 3, 17), "Nyepi (8 March) and Idul Fitri (10-11 March 2027) skipped"),
        (dt.date(2027, 5, 14), dt.date(2027, 5, 25), "Idul Adha (Monday 17 May) and Waisak (Thursday 20 May 2027)"),
        (dt.date(2027, 12, 24), dt.date(2027, 12, 31), "Christmas on a Saturday costs no working day"),
    ],
)
def test_pickup_is_five_working_days_after_the_interview_skipping_weekends_and_public_holidays(
    interview: dt.date, expected: dt.date, why: str
) -> None:
    assert add_working_days(interview, 5, HOLIDAYS) == expected, why
    assert pickup_from(interview, 5, interview, HOLIDAYS) == expected


def test_the_calendar_knows_the_2026_and_2027_holidays_used_above() -> None:
    for day in (
        dt.date(2026, 12, 25),
        dt.date(2026, 8, 17),
        dt.date(2026, 3, 19),
        dt.date(2027, 3, 8),
        dt.date(2027, 3, 10),
    ):
        assert HOLIDAYS(day), day
    assert not HOLIDAYS(dt.date(2026, 12, 14))


def test_pickup_is_never_before_the_passport_exists() -> None:
    interview = dt.date(2026, 12, 7)
    # Issued on Christmas Day, after the target: the first working day from then.
    assert pickup_from(interview, 5, dt.date(2026, 12, 25), HOLIDAYS) == dt.date(2026, 12, 28)
    assert pickup_from(interview, 0, interview, HOLIDAYS) == interview


def test_the_interview_day_is_the_office_local_day() -> None:
    late_evening_utc = dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC)
    assert local_day(late_evening_utc, "Asia/Jakarta") == dt.date(2026, 12, 2)
    assert local_day(late_evening_utc, "UTC") == dt.date(2026, 12, 1)
