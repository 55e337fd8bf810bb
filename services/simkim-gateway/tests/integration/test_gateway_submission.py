"""Readiness to issuance on real PostgreSQL and RabbitMQ, with the simulator and capture over real HTTP."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence

from conftest import Capture, ProbedFactory
from gateway_support import Application, Gateway, Simkim, new_application
from sambang_contracts.enums import InterviewDecision
from sambang_contracts.events import OfficeSettings, OfficeUpdated
from sambang_runtime.testing import eventually, wait_handled
from sambang_simkim_gateway.stores import offices

SOURCES = {
    "registered": "sambang/queue",
    "paid": "sambang/payment",
    "captured": "sambang/capture",
    "approved": "sambang/capture",
}


async def make_ready(gw: Gateway, app: Application, order: Sequence[str], *, twice: bool = True) -> None:
    """Publish the four readiness events in ``order``; with ``twice`` each is delivered again at once and
    all four once more at the end (the same envelopes: redeliveries)."""
    events = app.readiness()
    sent = []
    for name in order:
        [ev] = await gw.publish(events[name], source=SOURCES[name])
        sent.append(ev)
        if twice:
            await gw.publish(ev)
    if twice:
        await gw.publish(*sent)


async def test_readiness_in_any_order_each_event_delivered_twice_submits_once_and_issues_once(
    probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw, probe = await probed()
    orders = [
        ("registered", "paid", "captured", "approved"),
        ("approved", "captured", "paid", "registered"),
        ("captured", "registered", "approved", "paid"),
        ("paid", "approved", "registered", "captured"),
    ]
    apps = [new_application(rng) for _ in orders]
    for app, order in zip(apps, orders, strict=True):
        capture[0].bundles[app.receipt] = app.bundle
        await make_ready(gw, app, order)

    await probe.wait_for("simkim.passport.issued", len(apps))
    for app in apps:
        body = await gw.wait_state(app.receipt, "ISSUED")
        assert body["readiness"] == {"registered": True, "paid": True, "captured": True, "interview": True}
        assert body["attempts"] == 1
        # Interviewed Monday 7 December 2026 (Jakarta): five working days later.
        assert body["pickup_from"] == "2026-12-14"
    stats = await simkim.stats()
    assert stats["applications"] == len(apps)
    assert stats["received_by_receipt"] == {a.receipt: 1 for a in apps}
    for app in apps:
        [accepted] = probe.of("simkim.submission.accepted", app.receipt)
        assert accepted.data.attempts == 1
        [issued] = probe.of("simkim.passport.issued", app.receipt)
        assert issued.data.pickup_from == dt.date(2026, 12, 14)
        assert issued.data.passport_number.startswith("X")
        assert issued.data.expires_at.year == issued.data.issued_at.year + 10  # an adult: ten years
    assert capture[0].calls == {a.receipt: 1 for a in apps}
    assert capture[0].refused_tokens == 0


async def test_rejected_at_interview_is_never_submitted(
    probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw, probe = await probed()
    rejected, approved = new_application(rng), new_application(rng)
    for app in (rejected, approved):
        capture[0].bundles[app.receipt] = app.bundle
    await gw.publish(
        rejected.registered(), rejected.paid(), rejected.captured(), rejected.interviewed(InterviewDecision.REJECTED)
    )
    await make_ready(gw, approved, ("registered", "paid", "captured", "approved"), twice=False)

    await probe.wait_for("simkim.submission.accepted", subject=approved.receipt)
    body = await gw.wait_state(rejected.receipt, "DENIED")
    assert body["interview_decision"] == "REJECTED"
    # A later approval (a second interview) changes nothing: REJECTED ended it.
    later = rejected.interviewed()
    [second] = await gw.publish(later.model_copy(update={"completed_at": later.completed_at + dt.timedelta(hours=1)}))
    await gw.wait_state(approved.receipt, "ISSUED")
    await wait_handled(gw.runtime, second.id)  # handled and committed: had it changed anything, it would show
    assert (await gw.submission(rejected.receipt))["state"] == "DENIED"
    assert rejected.receipt not in (await simkim.stats())["received_by_receipt"]
    assert probe.of("simkim.submission.accepted", rejected.receipt) == []


async def test_the_pickup_day_follows_the_offices_working_day_target_and_skips_christmas(
    probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw, probe = await probed()
    await gw.publish(
        OfficeUpdated(
            office="BLT", name="Blitar", timezone="Asia/Jakarta", settings=OfficeSettings(pickup_working_days=3)
        )
    )
    # Interviewed Wednesday 23 December 2026 at 19:30 in Jakarta (12:30 UTC); SIMKIM issues the same day.
    at = dt.datetime(2026, 12, 23, 12, 25, tzinfo=dt.UTC)
    simkim.clock.set(at + dt.timedelta(hours=1))
    app = new_application(rng, interview_at=at)
    capture[0].bundles[app.receipt] = app.bundle

    async def office_rule_kept() -> bool:
        async with gw.runtime.uow() as uow:
            rule = await offices.rule(uow, "BLT", default_timezone="UTC", default_working_days=5)
            return rule.pickup_working_days == 3

    await eventually(office_rule_kept, 15, "queue.office.updated kept")
    await make_ready(gw, app, ("registered", "paid", "captured", "approved"), twice=False)
    [issued] = await probe.wait_for("simkim.passport.issued", subject=app.receipt)
    # Thursday 24, (Friday 25 Christmas, weekend), Monday 28, Tuesday 29.
    assert issued.data.pickup_from == dt.date(2026, 12, 29)
