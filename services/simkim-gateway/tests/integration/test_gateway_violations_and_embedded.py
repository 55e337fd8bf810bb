"""Violations forwarded to SIMKIM at once (and once); the gateway in embedded mode (SQLite, in-memory bus)."""

from __future__ import annotations

import random

from conftest import Capture, GatewayFactory
from gateway_support import INTERVIEWER, Simkim, new_application
from sambang_contracts.events import ViolationFlagged
from sambang_runtime.testing import eventually, wait_handled


async def test_a_violation_is_forwarded_to_simkim_once_even_delivered_twice_during_an_outage(
    gateways: GatewayFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw = await gateways()
    app = new_application(rng)
    await simkim.faults(down=True)
    [flagged] = await gw.publish(
        ViolationFlagged(
            receipt_number=app.receipt,
            category="FALSE_IDENTITY_DOCUMENT",
            detail="KTP tidak sesuai dengan wajah pemohon",
            officer_id=INTERVIEWER,
        ),
        source="sambang/capture",
    )
    await gw.publish(flagged)

    async def refused() -> bool:
        return bool((await simkim.stats())["refused_by_faults"].get("DOWN", 0) >= 1)

    await eventually(refused, 15, "the first forward refused")
    await simkim.faults(down=False)

    async def forwarded() -> bool:
        return bool((await simkim.stats())["violations"] == 1)

    await eventually(forwarded, 15, "the violation forwarded")
    # The event was handled (its redelivery is the same id: the inbox drops it) and the gateway recorded the
    # forward, so no further call can go out for it.
    await wait_handled(gw.runtime, flagged.id)

    async def done() -> bool:
        return await gw.violation_done(flagged.id)

    await eventually(done, 15, "the forward recorded")
    stats = await simkim.stats()
    assert stats["violations_by_receipt"] == {app.receipt: 1}
    assert stats["violation_reports_received"] == 1


async def test_the_gateway_submits_in_embedded_mode_on_sqlite_and_the_in_memory_bus(
    gateways: GatewayFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw = await gateways(backend="sqlite+memory")
    apps = [new_application(rng) for _ in range(3)]
    for app in apps:
        capture[0].bundles[app.receipt] = app.bundle
        events = await gw.publish(app.interviewed(), app.captured(), app.paid(), app.registered())
        await gw.publish(*events)
    for app in apps:
        body = await gw.wait_state(app.receipt, "ISSUED")
        assert body["pickup_from"] == "2026-12-14"
    stats = await simkim.stats()
    assert stats["received_by_receipt"] == {a.receipt: 1 for a in apps}
