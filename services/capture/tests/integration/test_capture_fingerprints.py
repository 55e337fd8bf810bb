"""Fingerprints on PostgreSQL and RabbitMQ: ridge quality against the office's threshold, positions,
children under 5, and exceptions that need a supervisor's approval: of that finger of that receipt, from
another person, used once, and never a login."""

from __future__ import annotations

import asyncio

import capture_images as img
import cv2
import jwt
import pytest
from capture_support import TODDLER_BIRTH, CaptureHarness, unique_office
from fastapi.routing import APIRoute
from sambang_capture.models import audit_entry, biometric_item, capture_exception
from sambang_contracts import ApprovalAction
from sambang_runtime.approvals import consume_approval, verify_approval
from sambang_runtime.auth import Principal
from test_capture_photo import assert_nothing_stored


async def test_a_good_print_is_stored_with_its_ridge_score(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    r = await capture.finger(receipt, 1)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["position"] == 1 and body["finger"] == "right thumb"
    assert body["threshold"] == 40 and body["quality"]["score"] >= 80
    assert body["media_type"] == "image/png"
    [row] = await capture.rows(biometric_item, receipt)
    assert (row.kind, row.position, row.quality) == ("FINGERPRINT", 1, body["quality"]["score"])


@pytest.mark.parametrize(
    ("case", "make", "reasons"),
    [
        ("uniform_noise", img.noise_image, ["low_quality"]),
        ("blank_page", img.blank_page, ["low_quality"]),
        ("colour", lambda: cv2.cvtColor(img.fingerprint(4), cv2.COLOR_GRAY2BGR), ["not_grayscale"]),
        ("too_small", lambda: img.fingerprint(5, width=200, height=240), ["too_small"]),
    ],
)
async def test_a_bad_print_is_refused_with_its_reasons_and_nothing_is_stored(
    capture: CaptureHarness, case: str, make: object, reasons: list[str]
) -> None:
    receipt = await capture.register()
    r = await capture.finger(receipt, 3, img.png(make()))  # type: ignore[operator]
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "fingerprint_rejected" and body["position"] == 3 and body["threshold"] == 40
    assert [x["code"] for x in body["reasons"]] == reasons
    await assert_nothing_stored(capture, receipt)


@pytest.mark.parametrize("position", [0, 11])
async def test_position_0_or_11_is_refused(capture: CaptureHarness, position: int) -> None:
    receipt = await capture.register()
    r = await capture.finger(receipt, position)
    assert r.status_code == 422 and r.json()["code"] == "invalid_finger_position"
    r = await capture.client.put(
        f"/v1/captures/{receipt}/fingerprints/{position}/exception",
        json={"reason": "AMPUTATED"},
        headers={**capture.officer(receipt), **capture.approval(receipt, position)},
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_finger_position"
    await assert_nothing_stored(capture, receipt)


async def test_the_threshold_is_the_offices_from_queue_office_updated(capture: CaptureHarness) -> None:
    strict, lenient = unique_office(), unique_office()
    await capture.office_rules(strict, threshold=99)
    await capture.office_rules(lenient, threshold=10)
    strict_receipt = await capture.register(strict)
    r = await capture.finger(strict_receipt, 2)
    assert r.status_code == 422 and r.json()["threshold"] == 99
    lenient_receipt = await capture.register(lenient)
    # A smudged print (about 30) is refused at the default 40 and accepted where the office says 10.
    smudged = img.png(img.blurred(img.fingerprint(2), 4))
    r = await capture.finger(lenient_receipt, 2, smudged)
    assert r.status_code == 200 and r.json()["threshold"] == 10, r.text
    default_receipt = await capture.register()
    assert (await capture.finger(default_receipt, 2, smudged)).status_code == 422


async def test_a_child_under_five_gives_no_fingerprints_and_completes_without_them(capture: CaptureHarness) -> None:
    receipt = await capture.register(birth_date=TODDLER_BIRTH)
    r = await capture.finger(receipt, 1)
    assert r.status_code == 422 and r.json()["code"] == "no_fingerprints_under_five"
    await assert_nothing_stored(capture, receipt)
    assert (await capture.summary(receipt))["fingerprints_required"] is False

    child_docs = [
        {"kind": "KK", "status": "OK"},
        {"kind": "BIRTH_CERTIFICATE", "status": "OK"},
        {"kind": "KTP", "holder": "FATHER", "status": "OK"},
        {"kind": "KTP", "holder": "MOTHER", "status": "OK"},
        {"kind": "MARRIAGE_CERTIFICATE", "holder": "PARENTS", "status": "OK"},
        {"kind": "PERDIM_11", "status": "OK"},
        {"kind": "STATEMENT_LETTER", "status": "OK"},
    ]
    assert (await capture.documents(receipt, child_docs)).status_code == 200
    assert (await capture.photo(receipt)).status_code == 200
    r = await capture.client.put(
        f"/v1/captures/{receipt}/signature", json={"exception": "CANNOT_SIGN"}, headers=capture.officer(receipt)
    )
    assert r.status_code == 200, r.text
    r = await capture.complete(receipt)
    assert r.status_code == 200, r.text
    assert [i["kind"] for i in r.json()["items"]] == ["PHOTO"]
    assert r.json()["exceptions"] == [{"kind": "SIGNATURE", "position": None, "reason": "CANNOT_SIGN"}]


# -- exceptions --------------------------------------------------------------------------------------------


async def _exception(capture: CaptureHarness, receipt: str, position: int, headers: dict[str, str], **body: object):
    return await capture.client.put(
        f"/v1/captures/{receipt}/fingerprints/{position}/exception",
        json={"reason": "AMPUTATED", "note": "left hand, since 2019", **body},
        headers={**capture.officer(receipt), **headers},
    )


async def test_an_exception_without_an_approval_is_refused_and_nothing_is_stored(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    r = await _exception(capture, receipt, 7, {})
    assert r.status_code == 403 and r.json()["code"] == "approval_invalid" and r.json()["reason"] == "missing"
    await assert_nothing_stored(capture, receipt)


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        # Approvals are not logins: a supervisor's bearer token, however short-lived, is no approval
        # (another key and another audience: refused on the first it meets).
        ("a_supervisors_login_token", "signature"),
        ("a_supervisors_short_login_token", "signature"),
        ("an_approval_of_another_receipt", "wrong_subject"),
        ("an_approval_of_another_finger", "wrong_position"),
        ("an_approval_of_another_action", "wrong_action"),
        ("the_recording_officer_approving_themself", "self_approval"),
        ("a_supervisor_of_another_office", "wrong_office"),
        ("a_forged_approval", "signature"),
    ],
)
async def test_an_exception_with_an_unfit_approval_is_refused(capture: CaptureHarness, who: str, reason: str) -> None:
    receipt = await capture.register()
    office = receipt[:3]
    other_receipt = await capture.register(office)
    good = capture.approval(receipt, 7)["X-Supervisor-Approval"]
    token = {
        "a_supervisors_login_token": capture.token("supervisor", office=office, sub="supervisor-1"),
        "a_supervisors_short_login_token": capture.token("supervisor", office=office, sub="supervisor-1", ttl=300),
        "an_approval_of_another_receipt": capture.approval(other_receipt, 7)["X-Supervisor-Approval"],
        "an_approval_of_another_finger": capture.approval(receipt, 8)["X-Supervisor-Approval"],
        "an_approval_of_another_action": capture.approval(receipt, 7, action=ApprovalAction.SETTLEMENT_APPLY)[
            "X-Supervisor-Approval"
        ],
        # officer-1 records the exception: an approval they issued themselves is no second pair of eyes.
        "the_recording_officer_approving_themself": capture.approval(receipt, 7, sub="officer-1")[
            "X-Supervisor-Approval"
        ],
        "a_supervisor_of_another_office": capture.approval(receipt, 7, office=unique_office())["X-Supervisor-Approval"],
        "a_forged_approval": good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"),
    }[who]
    r = await _exception(capture, receipt, 7, {"X-Supervisor-Approval": token})
    assert r.status_code == 403 and r.json()["code"] == "approval_invalid", r.text
    assert r.json()["reason"] == reason or (reason == "signature" and r.json()["reason"] == "malformed")
    await assert_nothing_stored(capture, receipt)


async def test_an_approved_exception_is_recorded_with_its_supervisor_and_audited(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    approval = capture.approval(receipt, 7, sub="sup-budi")
    r = await _exception(capture, receipt, 7, approval)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["kind"], body["position"], body["reason"]) == ("FINGERPRINT", 7, "AMPUTATED")
    assert body["approved_by"] == "sup-budi" and body["recorded_by"] == "officer-1"
    [row] = await capture.rows(capture_exception, receipt)
    assert row.approved_by == "sup-budi" and row.note_enc and "2019" not in row.note_enc  # the note is encrypted
    [entry] = await capture.rows(audit_entry, receipt)
    assert entry.action == "fingerprint.exception_recorded"
    jti = jwt.decode(approval["X-Supervisor-Approval"], options={"verify_signature": False})["jti"]
    assert entry.detail == {"position": 7, "reason": "AMPUTATED", "approved_by": "sup-budi", "approval_id": jti}
    # A resend with a fresh approval changes nothing; the tablet dropped the used one.
    again = await _exception(capture, receipt, 7, capture.approval(receipt, 7, sub="sup-budi"))
    assert again.status_code == 200 and len(await capture.rows(capture_exception, receipt)) == 1


async def test_an_approval_works_once(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    approval = capture.approval(receipt, 7)
    assert (await _exception(capture, receipt, 7, approval)).status_code == 200
    assert (await capture.finger(receipt, 7)).status_code == 200  # the finger could be taken after all
    r = await _exception(capture, receipt, 7, approval, reason="BANDAGED")
    assert r.status_code == 409 and r.json()["code"] == "approval_used"
    assert [row.kind for row in await capture.rows(biometric_item, receipt)] == ["FINGERPRINT"]  # nothing changed
    assert await capture.rows(capture_exception, receipt) == []


async def test_two_uses_of_one_approval_at_once_record_one_exception(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    approval = capture.approval(receipt, 7)
    first, second = await asyncio.gather(
        _exception(capture, receipt, 7, approval), _exception(capture, receipt, 7, approval, reason="BANDAGED")
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    assert len(await capture.rows(capture_exception, receipt)) == 1


async def test_an_approval_refused_by_the_capture_is_not_used_up(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    await capture.everything_but(receipt)
    assert (await capture.complete(receipt)).status_code == 200
    approval = capture.approval(receipt, 3)
    r = await _exception(capture, receipt, 3, approval)
    assert r.status_code == 409 and r.json()["code"] == "capture_already_completed"
    async with capture.runtime.uow() as uow:  # the exception rolled back, and the approval's use with it
        claims = verify_approval(
            capture.settings,
            approval["X-Supervisor-Approval"],
            action=ApprovalAction.FINGERPRINT_EXCEPTION,
            subject=receipt,
            position=3,
            caller=Principal(sub="officer-1", office=receipt[:3], roles=frozenset({"sambang_officer"})),
        )
        await consume_approval(uow, claims)  # would raise 409 approval_used had it been used


async def test_an_approval_is_never_a_login_on_any_capture_route(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    token = capture.approval(receipt, 7)["X-Supervisor-Approval"]
    routes = [r for r in capture.app.routes if isinstance(r, APIRoute) and r.path.startswith(("/v1/", "/internal/"))]
    assert len(routes) >= 12
    for route in routes:
        path = (
            route.path.replace("{receipt_number}", receipt).replace("{position}", "7").replace("{service_type}", "NEW")
        )
        for method in route.methods:
            r = await capture.client.request(
                method, path, params={"office": receipt[:3]}, headers={"Authorization": f"Bearer {token}"}
            )
            assert r.status_code == 401, (method, path, r.status_code, r.text)
    await assert_nothing_stored(capture, receipt)


async def test_an_exception_and_a_print_of_the_same_finger_replace_each_other(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    assert (await capture.finger(receipt, 9)).status_code == 200
    assert (await _exception(capture, receipt, 9, capture.approval(receipt, 9), reason="BANDAGED")).status_code == 200
    assert await capture.rows(biometric_item, receipt) == []
    assert (await capture.finger(receipt, 9)).status_code == 200
    assert await capture.rows(capture_exception, receipt) == []


async def test_complete_with_a_missing_finger_lists_exactly_that_finger(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    await capture.everything_but(receipt, skip_fingers=(4, 8))
    assert (await _exception(capture, receipt, 8, capture.approval(receipt, 8), reason="UNUSABLE")).status_code == 200
    r = await capture.complete(receipt)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "capture_incomplete"
    assert r.json()["missing"] == [{"item": "FINGERPRINT", "position": 4, "finger": "right ring"}]
    await capture.relayed()
    assert capture.events("capture.completed", receipt) == []

    assert (await capture.finger(receipt, 4)).status_code == 200
    r = await capture.complete(receipt)
    assert r.status_code == 200, r.text
    assert r.json()["exceptions"] == [{"kind": "FINGERPRINT", "position": 8, "reason": "UNUSABLE"}]
    completed = await capture.event("capture.completed", receipt)
    assert [e.position for e in completed.data.exceptions] == [8]
    assert [i.position for i in completed.data.items if i.kind == "FINGERPRINT"] == [1, 2, 3, 4, 5, 6, 7, 9, 10]
