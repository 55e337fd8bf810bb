"""Safe by default (#16) in capture: reads of personal data audited, free text without control characters,
office rules outside their bounds parked (never a crashed handler), the bundle for service tokens only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from capture_support import CaptureHarness, unique_office
from sambang_capture.models import audit_entry, capture_exception, office_rule
from sambang_contracts import OfficeSettings, OfficeUpdated, dump_event, new_event, owner_of
from sambang_runtime.bus.transport import OutgoingMessage
from sambang_runtime.testing import eventually
from sqlalchemy import select

# -- reads of personal data are audited -------------------------------------------------------------------


async def test_an_officers_read_of_the_capture_and_the_gateways_read_of_the_bundle_are_audited(
    capture: CaptureHarness,
) -> None:
    receipt = await capture.register()
    assert await capture.rows(audit_entry, receipt) == []  # knowing the receipt read nothing
    r = await capture.client.get(
        f"/v1/captures/{receipt}", headers=capture.auth("verifier", office=receipt[:3], sub="verifier-7")
    )
    assert r.status_code == 200
    [read] = await capture.rows(audit_entry, receipt)
    assert (read.action, read.officer, read.office, read.detail) == (
        "capture.read",
        "verifier-7",
        receipt[:3],
        {"by": ["verifier"]},
    )
    await capture.everything_but(receipt)
    assert (await capture.complete(receipt)).status_code == 200
    gateway = capture.auth("service", office="BLT", sub="simkim-gateway")
    assert (await capture.client.get(f"/internal/v1/captures/{receipt}/bundle", headers=gateway)).status_code == 200
    last = max(await capture.rows(audit_entry, receipt), key=lambda a: a.id)
    assert (last.action, last.officer) == ("bundle.read", "simkim-gateway")
    # A refused read reads nothing and records nothing.
    before = len(await capture.rows(audit_entry, receipt))
    other = capture.auth("verifier", office=unique_office(), sub="verifier-8")
    assert (await capture.client.get(f"/v1/captures/{receipt}", headers=other)).status_code == 403
    assert len(await capture.rows(audit_entry, receipt)) == before


# -- free text ---------------------------------------------------------------------------------------------

BAD = ["nul\x00byte", "escape \x1b[31mred", "bell\x07", "del\x7f", "c1\x9b"]


@pytest.mark.parametrize("text", BAD)
async def test_free_text_with_control_characters_is_refused_with_422_and_nothing_is_stored(
    capture: CaptureHarness, text: str
) -> None:
    receipt = await capture.register()
    officer = capture.officer(receipt)
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"/v1/captures/{receipt}/documents", {"json": [{"kind": "KTP", "status": "OK", "note": text}]}),
        ("POST", f"/v1/captures/{receipt}/nonconformances", {"json": {"kind": "DATA_MISMATCH", "detail": text}}),
        ("POST", f"/v1/captures/{receipt}/interview", {"json": {"decision": "APPROVED", "notes": text}}),
        (
            "POST",
            f"/v1/captures/{receipt}/interview",
            {"json": {"decision": "APPROVED", "violation": {"category": "OTHER", "detail": text}}},
        ),
        ("POST", f"/v1/captures/{receipt}/complete", {"json": {"mode": "SAMBANG", "device_id": text}}),
        ("POST", f"/v1/captures/{receipt}/complete", {"json": {"mode": "SAMBANG", "seat": text}}),
        ("PUT", f"/v1/captures/{receipt}/signature", {"json": {"exception": "CANNOT_SIGN", "note": text}}),
    ]
    for method, url, kwargs in calls:
        r = await capture.client.request(method, url, headers=officer, **kwargs)
        assert r.status_code == 422 and r.json()["code"] == "validation_failed", (url, r.text)
    approval = capture.approval(receipt, 4)
    r = await capture.client.put(
        f"/v1/captures/{receipt}/fingerprints/4/exception",
        json={"reason": "BANDAGED", "note": text},
        headers={**officer, **approval},
    )
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
    assert await capture.rows(audit_entry, receipt) == []
    # The refused request did not use the approval up.
    r = await capture.client.put(
        f"/v1/captures/{receipt}/fingerprints/4/exception", json={"reason": "BANDAGED"}, headers={**officer, **approval}
    )
    assert r.status_code == 200, r.text
    assert len(await capture.rows(capture_exception, receipt)) == 1


async def test_tab_and_line_breaks_are_text(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    r = await capture.client.post(
        f"/v1/captures/{receipt}/nonconformances",
        json={"kind": "DATA_MISMATCH", "detail": "baris satu\r\nbaris dua\tkolom"},
        headers=capture.officer(receipt),
    )
    assert r.status_code == 200 and r.json()["recorded"] is True


async def test_every_free_text_field_of_a_request_carries_the_pattern_in_the_openapi_document(
    capture: CaptureHarness,
) -> None:
    schemas = (await capture.client.get("/openapi.json")).json()["components"]["schemas"]
    fields = {
        "FingerprintExceptionIn": ["note"],
        "DocumentIn": ["note"],
        "NonconformanceIn": ["detail"],
        "InterviewIn": ["notes"],
        "ViolationIn": ["detail"],
        "CompleteIn": ["device_id", "seat"],
    }
    for model, names in fields.items():
        for name in names:
            prop = schemas[model]["properties"][name]
            variants = prop.get("anyOf", [prop])
            text = [v for v in variants if v.get("type") == "string"]
            assert text and all("pattern" in v for v in text), (model, name, prop)


# -- office rules out of bounds --------------------------------------------------------------------------


async def _publish_raw(capture: CaptureHarness, data: OfficeUpdated, settings_patch: dict[str, Any]) -> str:
    ev = new_event(data, source=owner_of(data.event_type), office=data.office, time=capture.clock())
    body = json.loads(dump_event(ev))
    body["data"]["settings"].update(settings_patch)
    await capture.runtime.transport.publish_batch(
        [OutgoingMessage(ev.id, ev.type, json.dumps(body).encode(), None, data.office)]
    )
    return ev.id


async def test_office_rules_outside_their_bounds_are_parked_and_the_service_goes_on(capture: CaptureHarness) -> None:
    office = unique_office()
    await capture.office_rules(office, threshold=55, retention_days=20)
    queue = capture.settings.queue_name
    parked = (await capture.runtime.transport.queue_depths(queue))["parked"]
    rules = OfficeUpdated(office=office, name="Kantor", timezone="Asia/Jakarta", settings=OfficeSettings())
    for patch in (
        {"biometric_retention_days": 3650},
        {"fingerprint_quality_threshold": 250},
        {"biometric_retention_days": -1},
    ):
        await _publish_raw(capture, rules, patch)

    async def all_parked() -> bool:
        return (await capture.runtime.transport.queue_depths(queue))["parked"] >= parked + 3

    await eventually(all_parked, 20, "out-of-bounds office rules parked")
    async with capture.runtime.engine.connect() as conn:
        row = (await conn.execute(select(office_rule).where(office_rule.c.office == office))).one()
    assert (row.fingerprint_quality_threshold, row.biometric_retention_days) == (55, 20)  # unchanged
    # The consumer goes on: the next rules within bounds are taken.
    capture.clock.advance(minutes=1)
    await capture.office_rules(office, threshold=60, retention_days=90)
    receipt = await capture.register(office)
    r = await capture.finger(receipt, 1)
    assert r.status_code == 200 and r.json()["threshold"] == 60


# -- the bundle stays service-only ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["kiosk", "display", "head_of_office", "national_admin", "customer_care"])
async def test_the_bundle_is_for_service_tokens_only(capture: CaptureHarness, role: str) -> None:
    receipt = await capture.register()
    await capture.everything_but(receipt)
    assert (await capture.complete(receipt)).status_code == 200
    url = f"/internal/v1/captures/{receipt}/bundle"
    r = await capture.client.get(url, headers=capture.auth(role, office=receipt[:3]))
    assert r.status_code == 403 and '"data"' not in r.text
    r = await capture.client.get(url)
    assert r.status_code == 401 and '"data"' not in r.text
    assert [a.action for a in await capture.rows(audit_entry, receipt)].count("bundle.read") == 0
