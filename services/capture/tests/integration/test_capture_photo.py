"""The photo endpoint on PostgreSQL and RabbitMQ: every bad input of issue #9 refused with nothing
stored, idempotent resends, retakes, bilingual refusals, roles and offices."""

from __future__ import annotations

import asyncio
import os

import capture_images as img
import pytest
from capture_support import CaptureHarness, unique_office
from sambang_capture.models import audit_entry, biometric_item, capture_exception
from sambang_contracts.values import generate_receipt_number


async def assert_nothing_stored(capture: CaptureHarness, receipt: str) -> None:
    """No item, exception or audit row, and no event, about the receipt."""
    assert await capture.rows(biometric_item, receipt) == []
    assert await capture.rows(capture_exception, receipt) == []
    assert await capture.rows(audit_entry, receipt) == []
    await capture.relayed()
    assert [e.type for e in capture.probe.events if e.subject == receipt] == []


def _truncated_jpeg() -> bytes:
    data = img.portrait_jpeg()
    return data[: len(data) * 2 // 3]


def _six_mib_jpeg() -> bytes:
    # A real JPEG with a 6 MiB trailer after its end marker, as some cameras append data.
    return img.portrait_jpeg() + os.urandom(6 * 1024 * 1024)


BAD_PHOTOS = {
    "png_declared_as_jpeg": (lambda: img.png(img.portrait()), "image/jpeg", 415, "media_type_mismatch"),
    "jpeg_declared_as_png": (img.portrait_jpeg, "image/png", 415, "media_type_mismatch"),
    "text_named_photo_jpg": (lambda: b"holiday notes, not a photo\n" * 40, "image/jpeg", 415, "not_an_image"),
    "gif_declared": (img.portrait_jpeg, "image/gif", 415, "unsupported_media_type"),
    "truncated_jpeg": (_truncated_jpeg, "image/jpeg", 422, "image_corrupt"),
    "20000x20000": (img.bomb, "image/png", 422, "too_many_pixels"),
    "6_mib": (_six_mib_jpeg, "image/jpeg", 413, "payload_too_large"),
}


@pytest.mark.parametrize("case", list(BAD_PHOTOS), ids=list(BAD_PHOTOS))
async def test_a_bad_upload_is_refused_and_nothing_is_stored(capture: CaptureHarness, case: str) -> None:
    make, content_type, status, code = BAD_PHOTOS[case]
    receipt = await capture.register()
    r = await capture.photo(receipt, make(), content_type)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code
    await assert_nothing_stored(capture, receipt)


REFUSED_PHOTOS = {
    "no_face": (img.no_face, ["no_face"]),
    "two_faces": (img.two_faces, ["several_faces"]),
    "too_dark": (lambda: img.darkened(img.portrait()), ["too_dark", "low_contrast"]),
    "blurred": (lambda: img.blurred(img.portrait()), ["blurred"]),
    "holiday_snapshot": (img.holiday_snapshot, ["face_too_small"]),
}


@pytest.mark.parametrize("case", list(REFUSED_PHOTOS), ids=list(REFUSED_PHOTOS))
async def test_a_photo_failing_a_quality_check_is_refused_naming_every_failed_check(
    capture: CaptureHarness, case: str
) -> None:
    make, reasons = REFUSED_PHOTOS[case]
    receipt = await capture.register()
    r = await capture.photo(receipt, img.jpeg(make()))
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "photo_rejected"
    assert [reason["code"] for reason in body["reasons"]] == reasons
    failed = [c for c in body["quality"]["checks"] if not c["passed"]]
    assert [c["reason"] for c in failed] == reasons
    assert body["quality"]["score"] < 50
    await assert_nothing_stored(capture, receipt)


async def test_a_good_photo_answers_its_score_and_every_check(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    r = await capture.photo(receipt)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["quality"]["face_count"] == 1
    assert {c["name"] for c in body["quality"]["checks"]} == {
        "width",
        "height",
        "face_count",
        "face_size",
        "brightness",
        "contrast",
        "sharpness",
    }
    assert all(c["passed"] for c in body["quality"]["checks"])
    assert 50 <= body["quality"]["score"] <= 100
    assert body["media_type"] == "image/jpeg" and body["unchanged"] is False
    assert len(body["sha256"]) == 64


async def test_the_same_photo_again_gives_the_same_sha256_and_no_second_row(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    first = await capture.photo(receipt)
    again = await capture.photo(receipt)
    assert first.status_code == again.status_code == 200
    assert again.json()["sha256"] == first.json()["sha256"]
    assert again.json()["unchanged"] is True
    assert len(await capture.rows(biometric_item, receipt)) == 1
    assert [a.action for a in await capture.rows(audit_entry, receipt)] == ["photo.captured"]


async def test_a_retake_replaces_the_photo_and_the_audit_keeps_both_hashes(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    first = (await capture.photo(receipt)).json()["sha256"]
    retake = (await capture.photo(receipt, img.png(img.portrait()), "image/png")).json()
    assert retake["sha256"] != first and retake["media_type"] == "image/png"
    [row] = await capture.rows(biometric_item, receipt)
    assert row.sha256 == retake["sha256"]
    trail = [a.detail for a in await capture.rows(audit_entry, receipt)]
    assert trail[-1]["replaced_sha256"] == first and trail[-1]["sha256"] == retake["sha256"]


async def test_a_refusal_speaks_the_officers_language(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    data = img.jpeg(img.no_face())
    headers = {"Content-Type": "image/jpeg", **capture.officer(receipt)}
    en = await capture.client.put(
        f"/v1/captures/{receipt}/photo", content=data, headers={**headers, "Accept-Language": "en"}
    )
    id_ = await capture.client.put(
        f"/v1/captures/{receipt}/photo", content=data, headers={**headers, "Accept-Language": "id"}
    )
    assert en.json()["detail"].startswith("The photo does not meet")
    assert id_.json()["detail"].startswith("Foto tidak memenuhi")
    assert en.headers["content-language"] == "en" and id_.headers["content-language"] == "id"
    [reason] = en.json()["reasons"]
    assert reason == {"code": "no_face", "en": "No face was found", "id": "Wajah tidak ditemukan"}


async def test_an_officer_of_another_office_gets_403_before_anything_is_read(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    r = await capture.put_image(
        f"/v1/captures/{receipt}/photo",
        img.portrait_jpeg(),
        headers=capture.auth("sambang_officer", office=unique_office()),
    )
    assert r.status_code == 403 and r.json()["code"] == "wrong_office"
    await assert_nothing_stored(capture, receipt)


async def test_roles_without_capture_rights_are_refused(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    for role in ("verifier", "customer_care", "kiosk", "service"):
        r = await capture.put_image(
            f"/v1/captures/{receipt}/photo", img.portrait_jpeg(), headers=capture.auth(role, office=receipt[:3])
        )
        assert r.status_code == 403, role
    r = await capture.client.put(f"/v1/captures/{receipt}/photo", content=img.portrait_jpeg())
    assert r.status_code == 401
    await assert_nothing_stored(capture, receipt)


async def test_a_receipt_capture_never_heard_of_is_404_and_a_malformed_one_422(capture: CaptureHarness) -> None:
    office = unique_office()
    unknown = generate_receipt_number(office, capture.clock().date())
    r = await capture.photo(unknown)
    assert r.status_code == 404 and r.json()["code"] == "application_not_found"
    malformed = unknown[:-1] + str((int(unknown[-1]) + 1) % 10)
    r = await capture.put_image(
        f"/v1/captures/{malformed}/photo", img.portrait_jpeg(), headers=capture.officer(unknown)
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_receipt_number"


async def test_two_identical_uploads_at_once_store_one_row(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    first, second = await asyncio.gather(capture.photo(receipt), capture.photo(receipt))
    assert first.status_code == second.status_code == 200
    assert first.json()["sha256"] == second.json()["sha256"]
    assert sorted([first.json()["unchanged"], second.json()["unchanged"]]) == [False, True]
    assert len(await capture.rows(biometric_item, receipt)) == 1
    assert len(await capture.rows(audit_entry, receipt)) == 1
