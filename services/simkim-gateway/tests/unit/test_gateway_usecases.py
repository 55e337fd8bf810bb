"""The gateway's handlers and use cases on a real unit of work over in-memory SQLite: no server, no app."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gateway_support import new_application
from sambang_contracts import CloudEvent, new_event
from sambang_contracts.events import OfficeSettings, OfficeUpdated
from sambang_runtime.testing import FakeClock, memory_uow
from sambang_runtime.uow import UnitOfWork
from sambang_simkim_gateway.app import spec
from sambang_simkim_gateway.context import GatewayContext
from sambang_simkim_gateway.handlers import (
    when_application_registered_record_readiness,
    when_office_updated_keep_pickup_rule,
)
from sambang_simkim_gateway.settings import GatewaySettings
from sambang_simkim_gateway.stores import offices, submissions

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
async def uow() -> AsyncIterator[UnitOfWork]:
    """A unit of work of the gateway (default settings) on its own in-memory database."""
    async with memory_uow(spec(GatewayContext(GatewaySettings())), clock=FakeClock(NOW)) as u:
        yield u


@pytest.mark.parametrize(
    ("chosen", "birth_date", "expected"),
    [
        (5, dt.date(1990, 1, 1), 5),  # an adult may choose five years
        (10, dt.date(2012, 1, 1), 10),  # a married minor: queue checked it, the event does not say
        (None, dt.date(1990, 1, 1), 10),  # a v1.0 producer: ten years from age 17 ...
        (None, dt.date(2012, 1, 1), 5),  # ... and five below (marital status unknown)
    ],
)
async def test_registration_keeps_the_chosen_validity_else_the_term_the_applicant_is_certainly_entitled_to(
    uow: UnitOfWork, chosen: int | None, birth_date: dt.date, expected: int
) -> None:
    app = new_application(random.Random(7))
    registered = app.registered()
    data = registered.model_copy(
        update={
            "validity_years": chosen,
            "applicant": registered.applicant.model_copy(update={"birth_date": birth_date}),
        }
    )
    await when_application_registered_record_readiness(new_event(data, source="sambang/queue"), uow)
    sub = await submissions.get(uow, app.receipt)
    assert sub is not None
    assert sub.validity_years == expected
    assert sub.readiness.registered


def office_updated(working_days: int, at: dt.datetime) -> CloudEvent[Any]:
    """queue.office.updated for BLT, sent at ``at``."""
    data = OfficeUpdated(
        office="BLT", name="Blitar", timezone="Asia/Jakarta", settings=OfficeSettings(pickup_working_days=working_days)
    )
    return new_event(data, source="sambang/queue", time=at)


async def test_a_late_older_office_update_does_not_overwrite_a_newer_one(uow: UnitOfWork) -> None:
    await when_office_updated_keep_pickup_rule(office_updated(3, NOW), uow)
    await when_office_updated_keep_pickup_rule(office_updated(7, NOW - dt.timedelta(minutes=1)), uow)  # late
    rule = await offices.rule(uow, "BLT", default_timezone="UTC", default_working_days=5)
    assert (rule.timezone, rule.pickup_working_days) == ("Asia/Jakarta", 3)
    await when_office_updated_keep_pickup_rule(office_updated(4, NOW + dt.timedelta(minutes=1)), uow)  # newer
    rule = await offices.rule(uow, "BLT", default_timezone="UTC", default_working_days=5)
    assert rule.pickup_working_days == 4
