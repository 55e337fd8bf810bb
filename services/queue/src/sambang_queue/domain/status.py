"""The application's status and its progression (events arrive in any order: never go back)."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where an application is in its journey (application.status)."""

    BOOKED = "BOOKED"
    PAID = "PAID"
    ARRIVAL_CONFIRMED = "ARRIVAL_CONFIRMED"
    CHECKED_IN = "CHECKED_IN"
    IN_SERVICE = "IN_SERVICE"
    IN_PROCESS = "IN_PROCESS"
    HELD = "HELD"
    ISSUED = "ISSUED"
    COLLECTED = "COLLECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    NO_SHOW = "NO_SHOW"
    REJECTED = "REJECTED"


_RANK: dict[Status, int] = {
    Status.BOOKED: 0,
    Status.PAID: 1,
    Status.ARRIVAL_CONFIRMED: 2,
    Status.CHECKED_IN: 3,
    Status.IN_SERVICE: 4,
    Status.IN_PROCESS: 5,
    Status.HELD: 5,
    Status.ISSUED: 7,
    Status.COLLECTED: 8,
}
FINAL: frozenset[Status] = frozenset({Status.CANCELLED, Status.EXPIRED, Status.NO_SHOW, Status.REJECTED})
INACTIVE: frozenset[Status] = FINAL | {Status.COLLECTED}
NOT_YET_ARRIVED: frozenset[Status] = frozenset({Status.BOOKED, Status.PAID, Status.ARRIVAL_CONFIRMED})


def is_active(status: Status) -> bool:
    """Whether the application still blocks a new one for the same NIK."""
    return status not in INACTIVE


def advanced(current: Status, new: Status) -> Status:
    """The status after an event that says `new`: events arrive in any order, so never go back.

    A final status (cancelled, rejected…) stays; HELD and IN_PROCESS move into each other.
    """
    if current in FINAL or current == new:
        return current
    if new in FINAL:
        return new
    if {current, new} == {Status.HELD, Status.IN_PROCESS}:
        return new
    return new if _RANK[new] > _RANK[current] else current


def public_status(status: Status) -> str:
    """What the applicant sees: a hold (cekal, duplicate passport) is never revealed."""
    return Status.IN_PROCESS.value if status == Status.HELD else status.value
