"""Faults, each on real PostgreSQL and RabbitMQ with the SIMKIM simulator over real HTTP: an outage, errors,
slow answers, a restart mid-retry, a bundle that does not match, the last attempt, two replicas."""

from __future__ import annotations

import datetime as dt
import random

from conftest import Capture, GatewayFactory, ProbedFactory
from gateway_support import Application, FakeCapture, Gateway, Simkim, new_application
from sambang_contracts.bundles import BundleItem
from sambang_runtime.testing import BusProbe, FakeClock, eventually
from sambang_simkim_gateway.domain import Breaker
from sambang_simkim_gateway.stores import breaker


async def ready(gw: Gateway, capture: FakeCapture, app: Application) -> None:
    """The four readiness events (capture serves the matching bundle)."""
    capture.bundles[app.receipt] = app.bundle
    await gw.publish(app.registered(), app.paid(), app.captured(), app.interviewed())


async def accepted_once_each(
    gw: Gateway, probe: BusProbe, simkim: Simkim, apps: list[Application], *, timeout: float = 30
) -> None:
    """Every application accepted: one event each, one application each in SIMKIM."""
    await probe.wait_for("simkim.submission.accepted", len(apps), timeout=timeout)
    # Accepted, each submission has no submitting left to do (the only work that emits the event), and all
    # the gateway emitted has reached the probe: a duplicate would be there now.
    for app in apps:
        await gw.wait_state(app.receipt, "ACCEPTED", "ISSUED")
    await gw.settled(probe)
    for app in apps:
        assert len(probe.of("simkim.submission.accepted", app.receipt)) == 1, app.receipt
    stats = await simkim.stats()
    assert stats["applications"] == len(apps)
    assert set(stats["received_by_receipt"]) == {a.receipt for a in apps}


async def test_simkim_down_for_a_while_then_back_submits_every_ready_application_exactly_once(
    probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    # Three attempts would be spent in well under a second: an outage must spend none of them.
    gw, probe = await probed(max_attempts=3)
    await simkim.faults(down=True)
    apps = [new_application(rng) for _ in range(6)]
    for app in apps:
        await ready(gw, capture[0], app)

    async def read_breaker() -> Breaker:
        async with gw.runtime.uow() as uow:
            return await breaker.read(uow)

    async def probes_failed(count: int) -> None:
        # A failed probe reopens the breaker and counts one more failure; nothing else counts while it is open.
        failures = (await read_breaker()).failures

        async def failed() -> bool:
            return (await read_breaker()).failures >= failures + count

        await eventually(failed, 20, f"{count} more probes failed")

    async def breaker_open() -> bool:
        return (await read_breaker()).state.value != "CLOSED"

    await eventually(breaker_open, 20, "the breaker opened")
    # Once a probe has failed, the calls already on their way when the breaker opened have landed long ago
    # (SIMKIM answers 503 at once; the first probe goes an open period later).
    await probes_failed(1)
    refused_before = (await simkim.stats())["refused_by_faults"]["DOWN"]
    # The outage goes on for two more open periods (0.6 s, then 1 s), six applications waiting: only the two
    # probes reach SIMKIM (a third may be on its way). Without the breaker each application would try every
    # 0.4 s at most: some eight calls a second.
    await probes_failed(2)
    refused = (await simkim.stats())["refused_by_faults"]["DOWN"] - refused_before
    assert refused <= 3, f"{refused} calls while the breaker was open (6 applications waiting)"
    errors = []
    for app in apps:
        body = await gw.submission(app.receipt)
        assert body["state"] == "SUBMITTING", body
        errors.append(body["last_error"])
    # Those tried say why they wait; one not yet tried when the breaker opened (only a probe per open
    # period goes out) has no error yet, and that is the breaker doing its job.
    assert all(e is None or e.startswith("simkim_unavailable") for e in errors), errors
    assert any(e is not None for e in errors), errors
    assert probe.of("simkim.submission.failed") == []

    await simkim.faults(down=False)
    await accepted_once_each(gw, probe, simkim, apps)
    stats = await simkim.stats()
    assert stats["received_by_receipt"] == {a.receipt: 1 for a in apps}  # a 503 processes nothing


async def test_half_of_simkim_calls_failing_still_submits_each_application_once(
    probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    # Enough attempts that 50% errors never exhaust them (2^-30); the breaker may open and close meanwhile.
    gw, probe = await probed(max_attempts=30)
    await simkim.faults(error_rate=0.5)
    apps = [new_application(rng) for _ in range(10)]
    for app in apps:
        await ready(gw, capture[0], app)
    await accepted_once_each(gw, probe, simkim, apps, timeout=60)
    stats = await simkim.stats()
    assert stats["received_by_receipt"] == {a.receipt: 1 for a in apps}
    assert stats["refused_by_faults"].get("ERROR", 0) > 0  # the errors did happen
    assert probe.of("simkim.submission.failed") == []


async def test_answers_slower_than_the_timeout_are_retried_and_not_duplicated(
    probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw, probe = await probed(request_timeout_seconds=0.3, max_attempts=30)
    # SIMKIM records the application, then answers after the gateway stopped waiting.
    await simkim.faults(latency_ms=800)
    app = new_application(rng)
    await ready(gw, capture[0], app)

    async def resent() -> bool:
        return bool((await simkim.stats())["received_by_receipt"].get(app.receipt, 0) >= 2)

    await eventually(resent, 20, "the submission sent again after a timeout")
    await simkim.faults(latency_ms=0)
    await accepted_once_each(gw, probe, simkim, [app])
    [accepted] = probe.of("simkim.submission.accepted", app.receipt)
    assert accepted.data.attempts >= 2
    assert (await simkim.stats())["by_status"] in ({"ACCEPTED": 1}, {"ISSUED": 1})


async def test_a_gateway_stopped_mid_retry_resumes_where_it_stopped(
    gateways: GatewayFactory, probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    clock = FakeClock(dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC))
    # A minute of backoff on the gateway's own (fake) clock: the retry is due only when the test says so.
    slow = {"backoff_base_seconds": 60.0, "backoff_cap_seconds": 120.0, "breaker_failure_threshold": 50}
    first, probe = await probed(clock=clock, **slow)
    await simkim.faults(error_rate=1.0)
    app = new_application(rng)
    await ready(first, capture[0], app)

    async def failed_once() -> bool:
        r = await first.client.get(f"/v1/submissions/{app.receipt}", headers=first.auth("supervisor"))
        return bool(r.status_code == 200 and r.json()["attempts"] == 1)

    await eventually(failed_once, 20, "the first attempt failed")
    before = await first.submission(app.receipt)
    assert before["state"] == "SUBMITTING"
    await first.stop()
    await simkim.faults(error_rate=0.0)

    second = await gateways(clock=clock, **slow)
    # The new replica's worker looks for due work twice, but the retry is not due yet: it did not take it
    # (a claim would hold its lease, or have recorded a second attempt by now).
    await second.worker_rounds(2)
    body = await second.submission(app.receipt)
    assert (body["state"], body["attempts"]) == ("SUBMITTING", 1)
    assert not await second.leased(app.receipt)
    assert body["next_attempt_at"] == before["next_attempt_at"]  # kept in the database across the restart

    clock.advance(seconds=121)
    await second.wait_state(app.receipt, "ACCEPTED", "ISSUED")
    await accepted_once_each(second, probe, simkim, [app])
    [accepted] = probe.of("simkim.submission.accepted", app.receipt)
    assert accepted.data.attempts == 2


async def test_a_bundle_that_does_not_match_its_manifest_is_not_submitted_and_the_failure_is_recorded(
    probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw, probe = await probed()
    app = new_application(rng)
    await ready(gw, capture[0], app)
    # Capture now serves a different photo (with its own, correct hash): not what capture.completed announced.
    other = new_application(rng).bundle.items[0]
    tampered = [BundleItem(**{**other.model_dump(), "kind": "PHOTO"}), *app.bundle.items[1:]]
    capture[0].bundles[app.receipt] = app.bundle.model_copy(update={"items": tampered})

    await gw.wait_state(app.receipt, "FAILED")
    body = await gw.submission(app.receipt)
    assert body["last_error"] == "bundle_mismatch: PHOTO: sha256 differs from the manifest"
    assert body["attempts"] == 1  # not retried: the same bundle cannot start matching
    [failed] = await probe.wait_for("simkim.submission.failed", subject=app.receipt)
    assert failed.data.permanent is True
    assert (await simkim.stats())["applications"] == 0

    # Capture serves the right bundle again; a supervisor retries.
    capture[0].bundles[app.receipt] = app.bundle
    r = await gw.client.post(f"/v1/submissions/{app.receipt}/retry", headers=gw.auth("supervisor"))
    assert r.status_code == 202, r.text
    await accepted_once_each(gw, probe, simkim, [app])


async def test_after_the_last_attempt_the_failure_is_published_and_a_supervisor_can_retry(
    probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    # A breaker threshold above the attempts: SIMKIM answers others, it is this application that keeps failing.
    gw, probe = await probed(max_attempts=3, breaker_failure_threshold=50)
    await simkim.faults(error_rate=1.0)
    app = new_application(rng)
    await ready(gw, capture[0], app)

    [failed] = await probe.wait_for("simkim.submission.failed", subject=app.receipt)
    assert (failed.data.attempts, failed.data.permanent) == (3, True)
    assert failed.data.reason == "simkim_unavailable: HTTP 500"
    body = await gw.wait_state(app.receipt, "FAILED")
    assert body["attempts"] == 3

    not_yet = await gw.client.post(f"/v1/submissions/{app.receipt}/retry", headers=gw.auth("customer_care"))
    assert not_yet.status_code == 403
    other_office = await gw.client.post(
        f"/v1/submissions/{app.receipt}/retry", headers=gw.auth("supervisor", office="MLG")
    )
    assert other_office.status_code == 403
    await simkim.faults(error_rate=0.0)
    r = await gw.client.post(f"/v1/submissions/{app.receipt}/retry", headers=gw.auth("supervisor"))
    assert r.status_code == 202, r.text
    await accepted_once_each(gw, probe, simkim, [app])
    again = await gw.client.post(f"/v1/submissions/{app.receipt}/retry", headers=gw.auth("supervisor"))
    assert again.status_code == 409
    assert again.json()["code"] == "not_retryable"
    assert len(probe.of("simkim.submission.failed", app.receipt)) == 1


async def test_two_gateway_replicas_on_one_database_and_queue_submit_each_application_once(
    gateways: GatewayFactory, probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    one, probe = await probed()
    two = await gateways()  # same database, same queue: the events are shared out between them
    await simkim.faults(latency_ms=50)
    apps = [new_application(rng) for _ in range(12)]
    for i, app in enumerate(apps):
        capture[0].bundles[app.receipt] = app.bundle
        events = await (one if i % 2 else two).publish(app.registered(), app.paid(), app.captured(), app.interviewed())
        await (two if i % 2 else one).publish(*events)  # every event delivered twice
    await accepted_once_each(one, probe, simkim, apps)
    assert (await simkim.stats())["received_by_receipt"] == {a.receipt: 1 for a in apps}
    await probe.wait_for("simkim.passport.issued", len(apps))
    for app in apps:  # issued: no work left that could emit it again, and all emitted has reached the probe
        await one.wait_state(app.receipt, "ISSUED")
    await one.settled(probe)
    for app in apps:
        assert len(probe.of("simkim.passport.issued", app.receipt)) == 1
