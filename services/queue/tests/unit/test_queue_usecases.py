"""The queue's use cases on a real unit of work over an in-memory SQLite database (memory_uow): no
server, no app, milliseconds. What each emits is read from ``uow.events`` (nothing is committed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sambang_contracts import Language, OfficeSettings, PassportType, PriorityCategory, ServiceType
from sambang_queue.app import spec
from sambang_queue.context import QueueContext, context_of
from sambang_queue.domain.arrival import sign_arrival_token
from sambang_queue.domain.booking import ApplicantData, Booking
from sambang_queue.domain.status import Status
from sambang_queue.settings import QueueSettings
from sambang_queue.stores import applications, offices
from sambang_queue.stores.offices import OfficeInfo
from sambang_queue.usecases.arrival import arrival_mac, confirm_arrival, issue_arrival_link
from sambang_queue.usecases.offices import save_office_settings
from sambang_queue.usecases.registration import register_walk_in
from sambang_queue.usecases.visits import close_visit
from sambang_runtime.auth import Principal
from sambang_runtime.errors import DomainError
from sambang_runtime.testing import FakeClock, memory_uow
from sambang_runtime.uow import UnitOfWork

#: Tuesday 1 December 2026, 09:00 in Blitar (UTC+7).
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
OFFICE = "BLT"
DESK = Principal(sub="cc-1", office=OFFICE, roles=frozenset({"customer_care"}))


@pytest.fixture
async def uow() -> AsyncIterator[UnitOfWork]:
    """A unit of work of the queue with office BLT saved (and its event left out of ``uow.events``)."""
    context = QueueContext(QueueSettings(office_cache_seconds=0))
    async with memory_uow(spec(context), clock=FakeClock(NOW)) as u:
        await save_office_settings(u, OFFICE, "Kantor Imigrasi Blitar", "Asia/Jakarta", OfficeSettings(), NOW)
        u.events.clear()
        yield u


async def office(uow: UnitOfWork) -> OfficeInfo:
    """BLT as the use cases take it."""
    return await offices.office_or_404(uow, context_of(uow).offices, OFFICE)


def elderly(validity: int | None = None) -> Booking:
    """An elderly walk-in (born 1950: 76 on the day)."""
    applicant = ApplicantData("Sri Wahyuni", "3505014101500001", dt.date(1950, 1, 1), None, None, Language.ID)
    return Booking(ServiceType.NEW, PassportType.REGULAR, PriorityCategory.ELDERLY, applicant, validity)


def types(uow: UnitOfWork) -> list[str]:
    return [e.type for e in uow.events]


def data_of(uow: UnitOfWork, event_type: str) -> Any:
    (event,) = [e for e in uow.events if e.type == event_type]
    return event.data


async def test_a_walk_in_is_registered_and_admitted_to_a_priority_seat_at_once(uow: UnitOfWork) -> None:
    admitted = await register_walk_in(uow, await office(uow), elderly(), principal=DESK, now=NOW)
    v = admitted.visit
    assert (v.ticket, v.lane, v.seat, v.state, v.channel, admitted.position) == (
        "P001",
        "PRIORITY",
        "P1",
        "WAITING",
        "WALK_IN",
        1,
    )
    assert types(uow) == ["queue.application.registered", "queue.visit.checked_in"]
    registered = data_of(uow, "queue.application.registered")
    assert registered.walk_in and registered.validity_years == 10  # settled by the contracts' rule
    app = await applications.find(uow, v.receipt_number)
    assert app is not None and (app.status, app.walk_in, app.priority_category) == ("CHECKED_IN", True, "ELDERLY")


async def test_a_walk_in_needs_a_priority_category(uow: UnitOfWork) -> None:
    regular = Booking(ServiceType.NEW, PassportType.REGULAR, PriorityCategory.NONE, elderly().applicant)
    with pytest.raises(DomainError) as refused:
        await register_walk_in(uow, await office(uow), regular, principal=DESK, now=NOW)
    assert refused.value.code == "priority_required" and uow.events == []


async def test_closing_a_visit_says_how_long_it_waited_and_was_served(uow: UnitOfWork) -> None:
    admitted = await register_walk_in(uow, await office(uow), elderly(), principal=DESK, now=NOW)
    uow.events.clear()
    later = NOW + dt.timedelta(minutes=25)
    await close_visit(uow, admitted.visit, later)
    completed = data_of(uow, "queue.visit.completed")
    # Never called nor claimed: no waiting counted, no service either.
    assert (completed.visit_id, completed.waited_seconds, completed.served_seconds) == (admitted.visit.id, 0, 0)
    app = await applications.find(uow, admitted.visit.receipt_number)
    assert app is not None and app.status == Status.IN_PROCESS.value


async def test_arrival_is_confirmed_once_with_a_signed_token_and_refused_with_a_forged_one(uow: UnitOfWork) -> None:
    admitted = await register_walk_in(uow, await office(uow), elderly(), principal=DESK, now=NOW)
    receipt = admitted.visit.receipt_number
    token = sign_arrival_token(receipt, NOW + dt.timedelta(hours=12), arrival_mac(uow.cipher))
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    with pytest.raises(DomainError) as refused:
        await confirm_arrival(uow, receipt, forged, NOW)
    assert refused.value.code == "invalid_token"
    uow.events.clear()
    assert await confirm_arrival(uow, receipt, token, NOW) == NOW
    assert await confirm_arrival(uow, receipt, token, NOW + dt.timedelta(minutes=5)) == NOW  # idempotent
    assert types(uow) == ["queue.arrival.confirmed"]


async def test_no_arrival_link_for_a_walk_in_who_is_already_there(uow: UnitOfWork) -> None:
    admitted = await register_walk_in(uow, await office(uow), elderly(), principal=DESK, now=NOW)
    app = await applications.find(uow, admitted.visit.receipt_number)
    assert app is not None
    uow.events.clear()
    await issue_arrival_link(uow, app, Status.PAID, NOW)
    assert uow.events == []
