"""What capture learns from events (order-tolerant), the retention purge after issuance driven by
the FakeClock, and the embedded mode (SQLite and the in-memory bus)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from capture_support import T0, CaptureHarness, unique_office
from sambang_capture.background.retention import purge_due_biometrics
from sambang_capture.models import audit_entry, biometric_item, office_rule
from sambang_contracts import Lane, PriorityCategory
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.testing import eventually, wait_handled
from sqlalchemy import select


async def test_a_check_in_before_its_registration_is_kept_with_the_category_set_on_sight(
    capture: CaptureHarness,
) -> None:
    office = unique_office()
    receipt = generate_receipt_number(office, T0.date())
    await capture.check_in(receipt, lane=Lane.PRIORITY, seat="P7")
    r = await capture.client.get(f"/v1/captures/{receipt}", headers=capture.officer(receipt))
    assert r.status_code == 404  # a check-in alone does not open a capture
    await capture.publish_registration(receipt, priority=PriorityCategory.NONE)
    await capture.known(receipt)
    summary = await capture.summary(receipt)
    assert (summary["lane"], summary["seat"], summary["priority_category"]) == ("PRIORITY", "P7", "ELDERLY")


async def test_another_offices_officer_gets_403_even_for_an_unknown_receipt(capture: CaptureHarness) -> None:
    unknown = generate_receipt_number(unique_office(), T0.date())
    r = await capture.client.get(f"/v1/captures/{unknown}", headers=capture.auth("supervisor", office="BLT"))
    assert r.status_code == 403 and r.json()["code"] == "wrong_office"
    assert (await capture.client.get(f"/v1/captures/{unknown}", headers=capture.officer(unknown))).status_code == 404


async def test_an_older_office_update_never_replaces_a_newer_one(capture: CaptureHarness) -> None:
    office = unique_office()
    await capture.office_rules(office, threshold=55)
    capture.clock.set(T0 - dt.timedelta(hours=1))  # an update made earlier, delivered late
    late = await capture.office_rules_unawaited(office, threshold=70)
    await wait_handled(capture.runtime, late.id)  # handled and committed: whatever it did is visible

    async with capture.runtime.engine.connect() as conn:
        row = (await conn.execute(select(office_rule).where(office_rule.c.office == office))).one()
    assert row.fingerprint_quality_threshold == 55


async def test_biometrics_are_purged_the_offices_days_after_issuance_keeping_hashes_and_audit(
    capture: CaptureHarness,
) -> None:
    office = unique_office()
    await capture.office_rules(office, retention_days=10)
    receipt = await capture.register(office)
    await capture.everything_but(receipt)
    manifest = (await capture.complete(receipt)).json()
    await capture.issue(receipt, issued_at=T0)

    async def scheduled() -> bool:
        return (await capture.summary(receipt))["purge_due_at"] is not None

    await eventually(scheduled, 15, "purge scheduled")
    assert (await capture.summary(receipt))["purge_due_at"].startswith("2026-12-11T02:00:00")

    capture.clock.advance(days=9, hours=23)
    assert await purge_due_biometrics(capture.runtime) == 0  # not yet
    assert all(row.content_enc is not None for row in await capture.rows(biometric_item, receipt))

    capture.clock.advance(hours=2)

    async def purged() -> bool:  # the background loop (every 0.2 s in the suites) does it
        return (await capture.summary(receipt))["purged"] is True

    await eventually(purged, 15, "biometrics purged")
    rows = await capture.rows(biometric_item, receipt)
    assert len(rows) == 12
    assert all(r.content_enc is None and r.key_id is None and r.purged_at is not None for r in rows)
    assert sorted(r.sha256 for r in rows) == sorted(i["sha256"] for i in manifest["items"])  # the hashes stay
    trail = sorted(await capture.rows(audit_entry, receipt), key=lambda a: a.id)
    actions = [a.action for a in trail if a.action != "capture.read"]
    assert actions[-2:] == ["biometrics.purge_scheduled", "biometrics.purged"]
    summary = await capture.summary(receipt)
    assert all(i["purged"] for i in summary["items"]) and summary["completion"] == manifest
    bundle = await capture.client.get(
        f"/internal/v1/captures/{receipt}/bundle", headers=capture.auth("service", office="BLT", sub="simkim-gateway")
    )
    assert bundle.status_code == 410 and bundle.json()["code"] == "biometrics_purged"


async def test_the_embedded_mode_captures_on_sqlite_and_the_in_memory_bus(capture_app: Any) -> None:
    async with capture_app("sqlite+memory") as embedded:
        receipt = await embedded.register()
        await embedded.everything_but(receipt)
        r = await embedded.complete(receipt)
        assert r.status_code == 200, r.text
        completed = await embedded.event("capture.completed", receipt)
        assert len(completed.data.items) == 12
        rows = await embedded.rows(biometric_item, receipt)
        assert all(row.content_enc[:1] == b"\x02" for row in rows)  # sealed with the application's data key
