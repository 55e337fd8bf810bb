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
from sambang_simkim_gateway.adapters.protocol import ApplicationRecord
from sambang_simkim_gateway.adapters.simkim import Answered, BreakerOpen, Permanent, Retryable
from sambang_simkim_gateway.app import spec
from sambang_simkim_gateway.context import GatewayContext
from sambang_simkim_gateway.domain import SubmissionState, Work
from sambang_simkim_gateway.handlers import (
    when_application_registered_record_readiness,
    when_office_updated_keep_pickup_rule,
)
from sambang_simkim_gateway.settings import GatewaySettings
from sambang_simkim_gateway.stores import offices, submissions
from sambang_simkim_gateway.stores.submissions import Submission, SubmissionChange
from sambang_simkim_gateway.usecases.submissions import record_submit_outcome
from sambang_simkim_gateway.usecases.work import claim_due_work, release_leases

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


MAX_ATTEMPTS = 3


@pytest.fixture
async def uow() -> AsyncIterator[UnitOfWork]:
    """A unit of work of the gateway (three attempts) on its own in-memory database."""
    context = GatewayContext(GatewaySettings(max_attempts=MAX_ATTEMPTS))
    async with memory_uow(spec(context), clock=FakeClock(NOW)) as u:
        yield u


async def leased(uow: UnitOfWork, *, attempts: int = 0) -> Submission:
    """A ready submission after ``attempts`` failed attempts, claimed by this replica's worker."""
    receipt = new_application(random.Random()).receipt
    await submissions.lock(uow, receipt)
    ready = SubmissionChange(state=SubmissionState.SUBMITTING, work=Work.SUBMIT, next_attempt_at=NOW, attempts=attempts)
    await submissions.record(uow, receipt, ready)
    claimed = await claim_due_work(uow, 1)
    [sub] = claimed.submissions
    return sub


def record(status: str = "ACCEPTED", hold: dict[str, str] | None = None) -> ApplicationRecord:
    """SIMKIM's answer to a submission."""
    return ApplicationRecord.model_validate(
        {"reference": "SKM1", "receipt_number": "x", "status": status, "hold": hold, "received_at": NOW}
    )


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


async def test_an_outage_spends_no_attempt_even_past_the_last_and_defers_the_submission(uow: UnitOfWork) -> None:
    sub = await leased(uow, attempts=MAX_ATTEMPTS - 1)
    assert await record_submit_outcome(uow, sub, Retryable("simkim_unavailable: HTTP 503", outage=True), NOW)
    after = await submissions.get(uow, sub.receipt_number)
    assert after is not None
    assert (after.state, after.work, after.attempts) == (SubmissionState.SUBMITTING, Work.SUBMIT, MAX_ATTEMPTS)
    assert after.next_attempt_at is not None and after.next_attempt_at > NOW
    assert after.lease_owner is None
    assert uow.events == []


async def test_the_last_attempt_failing_while_simkim_answers_others_gives_up_and_says_so(uow: UnitOfWork) -> None:
    sub = await leased(uow, attempts=MAX_ATTEMPTS - 1)
    assert await record_submit_outcome(uow, sub, Retryable("simkim_unavailable: HTTP 500"), NOW)
    after = await submissions.get(uow, sub.receipt_number)
    assert after is not None
    assert (after.state, after.work, after.next_attempt_at) == (SubmissionState.FAILED, Work.NONE, None)
    [failed] = uow.events
    assert failed.type == "simkim.submission.failed"
    assert (failed.data.attempts, failed.data.permanent, failed.data.reason) == (
        3,
        True,
        "simkim_unavailable: HTTP 500",
    )


async def test_a_permanent_failure_gives_up_at_the_first_attempt(uow: UnitOfWork) -> None:
    sub = await leased(uow)
    reason = "bundle_mismatch: PHOTO: sha256 differs from the manifest"
    assert await record_submit_outcome(uow, sub, Permanent(reason, reason), NOW)
    after = await submissions.get(uow, sub.receipt_number)
    assert after is not None
    assert (after.state, after.attempts, after.last_error) == (SubmissionState.FAILED, 1, reason)
    assert [e.type for e in uow.events] == ["simkim.submission.failed"]


async def test_an_open_breaker_defers_without_spending_an_attempt(uow: UnitOfWork) -> None:
    sub = await leased(uow, attempts=1)
    until = NOW + dt.timedelta(seconds=30)
    assert await record_submit_outcome(uow, sub, BreakerOpen(until), NOW)
    after = await submissions.get(uow, sub.receipt_number)
    assert after is not None
    assert (after.state, after.attempts, after.next_attempt_at) == (SubmissionState.SUBMITTING, 1, until)
    assert uow.events == []


async def test_a_held_application_is_accepted_and_its_hold_raised_for_supervisors(uow: UnitOfWork) -> None:
    sub = await leased(uow)
    held = record("HELD", {"kind": "CEKAL", "reference": "HLD1"})
    assert await record_submit_outcome(uow, sub, Answered(held), NOW)
    after = await submissions.get(uow, sub.receipt_number)
    assert after is not None
    assert (after.state, after.work, after.hold_kind, after.simkim_reference) == (
        SubmissionState.HELD,
        Work.NONE,
        "CEKAL",
        "SKM1",
    )
    assert [e.type for e in uow.events] == ["simkim.submission.accepted", "simkim.hold.raised"]


async def test_an_outcome_after_the_lease_was_lost_writes_and_emits_nothing(uow: UnitOfWork) -> None:
    sub = await leased(uow)
    await release_leases(uow)  # this replica stopped; another may have taken the work over
    assert not await record_submit_outcome(uow, sub, Answered(record()), NOW)
    after = await submissions.get(uow, sub.receipt_number)
    assert after is not None
    assert (after.state, after.attempts) == (SubmissionState.SUBMITTING, 0)
    assert uow.events == []
