"""Pure rules of the SIMKIM gateway: readiness, retries and backoff, the circuit breaker, the bundle check,
hold decisions and the pickup date. No I/O, no framework, no wall clock. Passport validity and the
working-day calendar are the contracts' (``sambang_contracts.values``), shared with queue and payment."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from zoneinfo import ZoneInfo

from sambang_contracts.enums import HoldDecision, InterviewDecision
from sambang_contracts.values import IsHoliday, add_working_days, is_working_day
from sambang_runtime.errors import DomainError


class SubmissionState(StrEnum):
    """Where one application stands with SIMKIM (API.md ``GET /v1/submissions/{receipt_number}``)."""

    WAITING = "WAITING"  # not all four readiness facts yet
    SUBMITTING = "SUBMITTING"  # ready; being sent, or waiting for the next try
    ACCEPTED = "ACCEPTED"  # SIMKIM has it; waiting for issuance
    HELD = "HELD"  # cekal or duplicate passport: the head of office decides
    DENIED = "DENIED"  # rejected at interview, or the hold was denied
    ISSUED = "ISSUED"  # SIMKIM issued the passport
    FAILED = "FAILED"  # the gateway gave up; a supervisor may retry


class Work(StrEnum):
    """The next call to SIMKIM a submission waits for, if any."""

    NONE = "NONE"
    SUBMIT = "SUBMIT"  # send the application (biodata and biometrics)
    DECIDE = "DECIDE"  # tell SIMKIM the head of office's decision on a hold
    POLL = "POLL"  # ask whether the passport was issued


#: States in which a new capture (capture.completed) still replaces the manifest: before submission, and
#: after a failure (a re-capture is how a bundle that did not match its manifest gets fixed).
MANIFEST_REPLACEABLE = frozenset({SubmissionState.WAITING, SubmissionState.FAILED})


# --- readiness ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Readiness:
    """The four facts a submission waits for, from four services' events, in any order."""

    registered: bool = False
    paid: bool = False
    captured: bool = False
    interview: InterviewDecision | None = None

    @property
    def ready(self) -> bool:
        """Registered, paid, captured and approved at interview."""
        return self.registered and self.paid and self.captured and self.interview is InterviewDecision.APPROVED

    @property
    def rejected(self) -> bool:
        """The interview rejected the application: it ends here."""
        return self.interview is InterviewDecision.REJECTED


def state_after_fact(state: SubmissionState, readiness: Readiness) -> SubmissionState:
    """The state once a readiness fact is recorded: only a waiting application moves (once)."""
    if state is not SubmissionState.WAITING:
        return state
    if readiness.rejected:
        return SubmissionState.DENIED
    if readiness.ready:
        return SubmissionState.SUBMITTING
    return state


def supersedes(recorded_at: dt.datetime | None, incoming_at: dt.datetime) -> bool:
    """Whether an incoming fact replaces the recorded one: a late, older event changes nothing."""
    return recorded_at is None or incoming_at >= recorded_at


# --- retries and backoff ----------------------------------------------------------------------------


def backoff_seconds(failures: int, *, base: float, cap: float, spread: float) -> float:
    """Exponential backoff with jitter: the n-th retry waits half of min(cap, base * 2^(n-1)) plus a random
    share of the other half, so retries spread out yet still grow. ``spread`` is uniform in [0, 1)."""
    if failures < 1:
        raise ValueError("backoff is for the first failure onwards")
    if not 0.0 <= spread < 1.0:
        raise ValueError("spread must be in [0, 1)")
    step = min(cap, base * 2.0 ** min(failures - 1, 60))
    return step / 2 + spread * step / 2


def gives_up(attempts: int, max_attempts: int, *, outage: bool) -> bool:
    """Whether the gateway stops retrying: only after ``max_attempts``, and never during a SIMKIM outage
    (an open breaker), so a long outage loses no application."""
    return attempts >= max_attempts and not outage


# --- circuit breaker ----------------------------------------------------------------------------------


class BreakerState(StrEnum):
    """The breaker in front of SIMKIM, shared by every replica (one database row)."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class Permit(StrEnum):
    """What the breaker lets a caller do now."""

    CALL = "CALL"
    PROBE = "PROBE"  # the one call that tests whether SIMKIM is back (whoever claims it first)
    WAIT = "WAIT"


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """How many failures open the breaker and how long it stays open."""

    threshold: int
    open_seconds: float
    open_cap_seconds: float
    probe_lease_seconds: float


@dataclass(frozen=True, slots=True)
class Breaker:
    """The breaker's state: consecutive failures, and when the next probe may go."""

    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    open_seconds: float = 0.0
    retry_at: dt.datetime | None = None
    probe_until: dt.datetime | None = None


def breaker_permit(b: Breaker, now: dt.datetime) -> tuple[Permit, dt.datetime | None]:
    """Whether a call may go now; with WAIT, from when it is worth asking again."""
    if b.state is BreakerState.CLOSED:
        return Permit.CALL, None
    if b.state is BreakerState.OPEN:
        if b.retry_at is None or now >= b.retry_at:
            return Permit.PROBE, None
        return Permit.WAIT, b.retry_at
    # Half open: one probe is out. If its replica died, its lease runs out and another may probe.
    if b.probe_until is None or now >= b.probe_until:
        return Permit.PROBE, None
    return Permit.WAIT, b.probe_until


def breaker_probing(b: Breaker, now: dt.datetime, policy: BreakerPolicy) -> Breaker:
    """The breaker once a caller took the probe."""
    return replace(b, state=BreakerState.HALF_OPEN, probe_until=now + dt.timedelta(seconds=policy.probe_lease_seconds))


def breaker_after_success(b: Breaker) -> Breaker:
    """SIMKIM answered: close (any answer, even a straggler's, shows it is up)."""
    if b.state is BreakerState.CLOSED and b.failures == 0:
        return b
    return Breaker()


def breaker_probe_returned(b: Breaker, now: dt.datetime) -> Breaker:
    """The probe never reached SIMKIM (it failed before, e.g. at capture): the next caller may probe at once."""
    if b.state is not BreakerState.HALF_OPEN:
        return b
    return replace(b, state=BreakerState.OPEN, retry_at=now, probe_until=None)


def breaker_after_failure(b: Breaker, now: dt.datetime, policy: BreakerPolicy, *, probe: bool) -> Breaker:
    """SIMKIM failed (timeout, refused connection, 5xx): count it; open at the threshold; a failed probe
    reopens for twice as long (up to the cap)."""
    if probe:
        seconds = min(policy.open_cap_seconds, max(policy.open_seconds, b.open_seconds * 2))
        return Breaker(BreakerState.OPEN, b.failures + 1, seconds, now + dt.timedelta(seconds=seconds), None)
    if b.state is not BreakerState.CLOSED:
        return b  # a call started before the breaker opened: the breaker already knows
    failures = b.failures + 1
    if failures < policy.threshold:
        return replace(b, failures=failures)
    seconds = policy.open_seconds
    return Breaker(BreakerState.OPEN, failures, seconds, now + dt.timedelta(seconds=seconds), None)


# --- the biometric bundle ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ManifestItem:
    """One item capture.completed announced: kind, finger position and sha256."""

    kind: str
    position: int | None
    sha256: str

    @property
    def label(self) -> str:
        """``FINGERPRINT 3`` or ``PHOTO``: names an item in an error without its content."""
        return f"{self.kind} {self.position}" if self.position is not None else self.kind


@dataclass(frozen=True, slots=True)
class BundlePiece:
    """One item of the bundle fetched from capture, with its bytes."""

    kind: str
    position: int | None
    sha256: str
    data: bytes


def bundle_mismatches(manifest: Sequence[ManifestItem], bundle: Sequence[BundlePiece]) -> list[str]:
    """What differs between the manifest of capture.completed and the fetched bundle; empty when they agree.

    Each item's bytes must hash to the sha256 it carries, and that hash must be the one the manifest announced,
    so neither a corrupted transfer nor a different capture reaches SIMKIM.
    """
    problems: list[str] = []
    announced = {(m.kind, m.position): m for m in manifest}
    seen: set[tuple[str, int | None]] = set()
    for piece in bundle:
        key = (piece.kind, piece.position)
        item = announced.get(key)
        label = ManifestItem(piece.kind, piece.position, piece.sha256).label
        if item is None:
            problems.append(f"{label}: not in the manifest")
            continue
        if key in seen:
            problems.append(f"{label}: twice in the bundle")
            continue
        seen.add(key)
        if hashlib.sha256(piece.data).hexdigest() != piece.sha256:
            problems.append(f"{label}: bytes do not match their sha256")
        elif piece.sha256 != item.sha256:
            problems.append(f"{label}: sha256 differs from the manifest")
    problems += [f"{m.label}: missing from the bundle" for key, m in announced.items() if key not in seen]
    return problems


# --- holds ------------------------------------------------------------------------------------------------


def check_hold_decision(state: SubmissionState, *, decider: str, interviewer: str | None) -> None:
    """The head of office may decide an open hold, unless they interviewed the applicant themselves."""
    if state is not SubmissionState.HELD:
        raise DomainError("hold_not_open", state=state.value)
    if interviewer is not None and decider == interviewer:
        raise DomainError("decider_is_interviewer")


def after_decision(decision: HoldDecision) -> SubmissionState:
    """Released applications go on to issuance; denied ones end. SIMKIM is told either way."""
    return SubmissionState.ACCEPTED if decision is HoldDecision.RELEASE else SubmissionState.DENIED


def check_retryable(state: SubmissionState) -> None:
    """A supervisor retries only what the gateway gave up on."""
    if state is not SubmissionState.FAILED:
        raise DomainError("not_retryable", state=state.value)


# --- pickup --------------------------------------------------------------------


def pickup_from(interview_day: dt.date, working_days: int, issued_day: dt.date, is_holiday: IsHoliday) -> dt.date:
    """First pickup day: the interview day plus the office's working-day target; never before the passport
    exists (a late issuance moves it to the first working day from the issue day)."""
    target = add_working_days(interview_day, working_days, is_holiday)
    if issued_day <= target:
        return target
    day = issued_day
    while not is_working_day(day, is_holiday):
        day += dt.timedelta(days=1)
    return day


def local_day(instant: dt.datetime, timezone: str) -> dt.date:
    """The office-local calendar day of an instant."""
    return instant.astimezone(ZoneInfo(timezone)).date()
