"""Priority categories, lanes and stages: who is served where, and which officer calls which stage."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sambang_contracts import Lane, PriorityCategory, Stage
from sambang_contracts.values import age_on
from sambang_runtime.errors import DomainError

ELDERLY_FROM_AGE = 60
CHILD_UNDER_AGE = 5


def check_priority_category(category: PriorityCategory, birth_date: dt.date, on: dt.date, *, by_officer: bool) -> None:
    """ELDERLY means over 60 and CHILD under 5 on the day of the visit (the birth date proves it);
    OTHER is set only by an officer on sight; DISABLED and PREGNANT are confirmed on sight."""
    if category == PriorityCategory.OTHER and not by_officer:
        raise DomainError("priority_category_officer_only")
    age = age_on(birth_date, on)
    if category == PriorityCategory.ELDERLY and age < ELDERLY_FROM_AGE:
        raise DomainError("priority_category_mismatch", category=category.value)
    if category == PriorityCategory.CHILD and age >= CHILD_UNDER_AGE:
        raise DomainError("priority_category_mismatch", category=category.value)


def check_birth_date(birth_date: dt.date, today: dt.date) -> None:
    """A birth date cannot lie in the future."""
    if birth_date > today:
        raise DomainError("birth_date_in_future")


def lane_for(category: PriorityCategory) -> Lane:
    """Priority categories are served at a priority seat (sambang); everyone else at the counters."""
    return Lane.REGULAR if category == PriorityCategory.NONE else Lane.PRIORITY


#: Internal stage of a priority visit: served at the seat by a sambang officer.
SAMBANG_STAGE = "SAMBANG"
#: A visit whose stages are all done.
DONE_STAGE = "DONE"


def first_stage(lane: Lane) -> str:
    """Where a new visit starts."""
    if lane == Lane.REGULAR:
        return Stage.VERIFICATION.value
    if lane == Lane.PICKUP:
        return Stage.PICKUP.value
    return SAMBANG_STAGE


def next_stage(lane: Lane, stage: str) -> str:
    """The stage after `stage` on the lane: regular lane VERIFICATION, then INTERVIEW, then done."""
    if lane == Lane.REGULAR and stage == Stage.VERIFICATION.value:
        return Stage.INTERVIEW.value
    return DONE_STAGE


#: Which officer roles call which stage (verifikasi berkas, wawancara, pengambilan paspor).
STAGE_ROLES: dict[Stage, frozenset[str]] = {
    Stage.VERIFICATION: frozenset({"verifier", "customer_care"}),
    Stage.INTERVIEW: frozenset({"interviewer"}),
    Stage.PICKUP: frozenset({"customer_care"}),
    Stage.SAMBANG: frozenset(),  # served at the seat after a claim, never called to a counter
}


def may_call(roles: Iterable[str], stage: Stage) -> bool:
    """Whether an officer with these roles serves this stage."""
    return not STAGE_ROLES[stage].isdisjoint(roles)


def serves_stage(roles: Iterable[str], stage: str) -> bool:
    """Whether an officer with these roles may act on a ticket at `stage` (recall, no-show, complete,
    transfer): the roles that call the stage. A priority visit at its seat (SAMBANG) is the sambang
    officer's, through its claim, never a counter's; a finished visit (DONE) is left to the state check."""
    try:
        known = Stage(stage)
    except ValueError:
        return True
    return may_call(roles, known)


def transfer_allowed(lane: Lane, to_stage: Stage) -> bool:
    """A ticket goes back only to a stage of its own lane."""
    if lane == Lane.REGULAR:
        return to_stage in (Stage.VERIFICATION, Stage.INTERVIEW)
    if lane == Lane.PICKUP:
        return to_stage == Stage.PICKUP
    return False


def pick_seat(seats: Sequence[str], taken: Iterable[str]) -> list[str]:
    """Free priority seats in the office's order (P1, P2, …)."""
    busy = set(taken)
    return [s for s in seats if s not in busy]
