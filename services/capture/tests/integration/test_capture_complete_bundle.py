"""Completion, the internal bundle and the audit trail on PostgreSQL and RabbitMQ."""

from __future__ import annotations

import capture_images as img
import pytest
from capture_support import CaptureHarness


async def test_complete_on_an_empty_capture_lists_everything_that_is_missing(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    r = await capture.complete(receipt)
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "capture_incomplete"
    assert body["missing"] == [
        {"item": "DOCUMENT", "requirement": "KTP", "kinds": ["KTP"], "holder": "APPLICANT"},
        {"item": "DOCUMENT", "requirement": "KK", "kinds": ["KK"], "holder": "APPLICANT"},
        {
            "item": "DOCUMENT",
            "requirement": "CIVIL_RECORD",
            "kinds": ["BIRTH_CERTIFICATE", "MARRIAGE_CERTIFICATE", "DIPLOMA"],
            "holder": "APPLICANT",
        },
        {"item": "DOCUMENT", "requirement": "PERDIM_11", "kinds": ["PERDIM_11"], "holder": "APPLICANT"},
        {"item": "DOCUMENT", "requirement": "STATEMENT_LETTER", "kinds": ["STATEMENT_LETTER"], "holder": "APPLICANT"},
        {"item": "PHOTO"},
        *[
            {"item": "FINGERPRINT", "position": p, "finger": f}
            for p, f in enumerate(
                [
                    "right thumb",
                    "right index",
                    "right middle",
                    "right ring",
                    "right little",
                    "left thumb",
                    "left index",
                    "left middle",
                    "left ring",
                    "left little",
                ],
                start=1,
            )
        ],
        {"item": "SIGNATURE"},
    ]
    assert (await capture.summary(receipt))["missing"] == body["missing"]


async def test_complete_twice_answers_the_same_manifest_and_emits_once(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    await capture.everything_but(receipt)
    first = await capture.complete(receipt, device_id="TAB-01")
    capture.clock.advance(minutes=5)
    again = await capture.complete(receipt, device_id="TAB-02", mode="COUNTER")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    await capture.event("capture.completed", receipt)
    await capture.relayed()  # whatever the second call emitted has reached the probe
    assert len(capture.events("capture.completed", receipt)) == 1
    summary = await capture.summary(receipt)
    assert summary["completion"] == first.json() and summary["missing"] == []


async def test_after_completion_a_resend_is_fine_but_a_change_is_refused(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    await capture.everything_but(receipt)
    assert (await capture.complete(receipt)).status_code == 200
    assert (await capture.photo(receipt)).json()["unchanged"] is True  # the tablet resends everything
    assert (await capture.finger(receipt, 3)).json()["unchanged"] is True
    r = await capture.photo(receipt, img.png(img.portrait()), "image/png")
    assert r.status_code == 409 and r.json()["code"] == "capture_already_completed"
    r = await capture.client.put(
        f"/v1/captures/{receipt}/fingerprints/3/exception",
        json={"reason": "BANDAGED"},
        headers={**capture.officer(receipt), **capture.approval(receipt, 3)},
    )
    assert r.status_code == 409


async def test_cannot_sign_stands_for_the_signature(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    assert (await capture.documents(receipt)).status_code == 200
    assert (await capture.photo(receipt)).status_code == 200
    for p in range(1, 11):
        assert (await capture.finger(receipt, p)).status_code == 200
    r = await capture.client.put(
        f"/v1/captures/{receipt}/signature",
        json={"exception": "CANNOT_SIGN", "note": "stroke; right hand paralysed"},
        headers=capture.officer(receipt),
    )
    assert r.status_code == 200 and r.json() == {
        "sha256": None,
        "bytes": None,
        "quality": None,
        "exception": "CANNOT_SIGN",
        "unchanged": False,
    }
    bad = await capture.client.put(
        f"/v1/captures/{receipt}/signature", json={"exception": "TOO_BUSY"}, headers=capture.officer(receipt)
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"
    assert (await capture.complete(receipt)).status_code == 200


async def test_a_blank_signature_is_refused(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    blank = img.png(img.blank_page(400, 150))
    r = await capture.put_image(f"/v1/captures/{receipt}/signature", blank, "image/png")
    assert r.status_code == 422 and r.json()["code"] == "signature_rejected"
    assert [x["code"] for x in r.json()["reasons"]] == ["blank"]


@pytest.mark.parametrize("role", ["sambang_officer", "interviewer", "supervisor", "admin", "verifier"])
async def test_the_bundle_asked_for_with_an_officers_token_is_refused(capture: CaptureHarness, role: str) -> None:
    receipt = await capture.register()
    await capture.everything_but(receipt)
    assert (await capture.complete(receipt)).status_code == 200
    r = await capture.client.get(
        f"/internal/v1/captures/{receipt}/bundle", headers=capture.auth(role, office=receipt[:3])
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert '"data"' not in r.text


async def test_the_bundle_waits_for_completion(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    assert (await capture.photo(receipt)).status_code == 200
    r = await capture.client.get(
        f"/internal/v1/captures/{receipt}/bundle", headers=capture.auth("service", office="BLT", sub="simkim-gateway")
    )
    assert r.status_code == 409 and r.json()["code"] == "capture_not_completed"


async def test_the_supervisor_reads_the_audit_trail_of_every_officer_action(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    await capture.everything_but(receipt, skip_fingers=(10,))
    r = await capture.client.put(
        f"/v1/captures/{receipt}/fingerprints/10/exception",
        json={"reason": "AMPUTATED"},
        headers={**capture.officer(receipt), **capture.approval(receipt, 10, sub="sup-1")},
    )
    assert r.status_code == 200
    assert (await capture.complete(receipt)).status_code == 200
    await capture.client.get(
        f"/internal/v1/captures/{receipt}/bundle", headers=capture.auth("service", office="BLT", sub="simkim-gateway")
    )
    url = f"/v1/captures/{receipt}/audit"
    assert (await capture.client.get(url, headers=capture.officer(receipt))).status_code == 403
    trail = (await capture.client.get(url, headers=capture.auth("supervisor", office=receipt[:3]))).json()
    actions = [(e["action"], e["officer"]) for e in trail]
    assert actions == [
        ("documents.checked", "officer-1"),
        ("photo.captured", "officer-1"),
        *[("fingerprint.captured", "officer-1")] * 9,
        ("signature.captured", "officer-1"),
        ("fingerprint.exception_recorded", "officer-1"),
        ("capture.completed", "officer-1"),
        ("bundle.read", "simkim-gateway"),
    ]
    assert all(e["receipt_number"] == receipt and e["office"] == receipt[:3] for e in trail)


async def test_the_bundle_is_refused_to_another_services_token(capture: CaptureHarness) -> None:
    # The notifier holds a service token (for the reminders' checklist); a network policy admits it to
    # capture's port, and only this check keeps biometrics to the gateway.
    receipt = await capture.register()
    await capture.everything_but(receipt)
    assert (await capture.complete(receipt)).status_code == 200
    r = await capture.client.get(
        f"/internal/v1/captures/{receipt}/bundle", headers=capture.auth("service", office="BLT", sub="notifier")
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert r.json()["required_subject"] == "simkim-gateway"
    assert '"data"' not in r.text
    r = await capture.client.get(
        f"/internal/v1/captures/{receipt}/bundle", headers=capture.auth("service", office="BLT", sub="simkim-gateway")
    )
    assert r.status_code == 200
