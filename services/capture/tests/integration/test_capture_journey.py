"""One applicant through capture at the priority seat, on PostgreSQL and RabbitMQ, with real images:
documents, photo, ten fingers, signature, interview, completion, then the gateway's bundle."""

from __future__ import annotations

import base64
import hashlib

import capture_images as img
from capture_images import EXIF_MARKER
from capture_support import CaptureHarness
from sambang_capture.models import biometric_item, biometric_key
from sambang_contracts import Lane
from sambang_contracts.bundles import CaptureBundle


async def test_a_priority_applicant_is_captured_in_one_pass_and_the_gateway_gets_the_bundle(
    capture: CaptureHarness,
) -> None:
    receipt = await capture.register()
    await capture.check_in(receipt, lane=Lane.PRIORITY, seat="P3")
    await capture.everything_but(receipt)

    r = await capture.client.post(
        f"/v1/captures/{receipt}/interview", json={"decision": "APPROVED"}, headers=capture.officer(receipt)
    )
    assert r.status_code == 200, r.text
    interviewed = await capture.event("capture.interview.completed", receipt)
    assert interviewed.data.decision == "APPROVED"

    async def seat_known() -> bool:
        return (await capture.summary(receipt))["seat"] == "P3"

    from sambang_runtime.testing import eventually

    await eventually(seat_known, 15, "check-in seen")
    r = await capture.complete(receipt, device_id="TAB-07")
    assert r.status_code == 200, r.text
    manifest = r.json()
    assert manifest["seat"] == "P3" and manifest["mode"] == "SAMBANG" and manifest["device_id"] == "TAB-07"
    kinds = [(i["kind"], i["position"]) for i in manifest["items"]]
    assert kinds == [("PHOTO", None), *[("FINGERPRINT", p) for p in range(1, 11)], ("SIGNATURE", None)]

    completed = await capture.event("capture.completed", receipt)
    assert [i.sha256 for i in completed.data.items] == [i["sha256"] for i in manifest["items"]]
    assert len(completed.model_dump_json()) < 10_000  # hashes only: no image rode the bus
    assert set(completed.data.items[0].model_dump()) == {"kind", "position", "sha256", "bytes", "quality"}

    bundle = await capture.client.get(
        f"/internal/v1/captures/{receipt}/bundle", headers=capture.auth("service", office="BLT", sub="simkim-gateway")
    )
    assert bundle.status_code == 200, bundle.text
    assert bundle.headers["cache-control"] == "no-store"
    items = bundle.json()["items"]
    assert len(items) == 12
    for item, listed in zip(items, manifest["items"], strict=True):
        content = base64.b64decode(item["data"])
        assert hashlib.sha256(content).hexdigest() == item["sha256"] == listed["sha256"]
        assert len(content) == item["bytes"] == listed["bytes"]
    # What the SIMKIM gateway reads: the contract's bundle model, checked against capture.completed.
    read = CaptureBundle.model_validate_json(bundle.content)
    assert read.receipt_number == receipt
    assert [(i.kind, i.position, i.sha256) for i in read.items] == [
        (i.kind, i.position, i.sha256) for i in completed.data.items
    ]
    assert all(hashlib.sha256(i.data).hexdigest() == i.sha256 for i in read.items)


async def test_stored_bytes_are_encrypted_and_the_bundle_decrypts_to_the_answered_sha256(
    capture: CaptureHarness,
) -> None:
    receipt = await capture.register()
    upload = img.jpeg_with_exif(img.portrait())
    assert EXIF_MARKER.encode() in upload
    r = await capture.photo(receipt, upload)
    assert r.status_code == 200, r.text
    answered = r.json()["sha256"]

    [row] = await capture.rows(biometric_item, receipt)
    stored = bytes(row.content_enc)
    assert row.key_id == "dek"  # sealed with the application's own data key
    assert upload not in stored and stored[:3] != b"\xff\xd8\xff"  # not the JPEG: an AES-GCM envelope
    assert stored[:1] == b"\x02" and hashlib.sha256(stored).hexdigest() != answered
    [key] = await capture.rows(biometric_key, receipt)  # the data key, wrapped under the PII key for rotation
    assert key.key_id == capture.runtime.cipher.active_key_id and len(bytes(key.wrapped_dek)) > 32

    await capture.everything_but(receipt)  # the same photo again: a resend, nothing changes
    assert (await capture.complete(receipt)).status_code == 200
    bundle = await capture.client.get(
        f"/internal/v1/captures/{receipt}/bundle", headers=capture.auth("service", office="XXX", sub="simkim-gateway")
    )
    photo = bundle.json()["items"][0]
    content = base64.b64decode(photo["data"])
    assert hashlib.sha256(content).hexdigest() == answered
    assert content[:3] == b"\xff\xd8\xff"
    # Re-encoded: the EXIF (camera make, the GPS-like description) did not survive.
    assert EXIF_MARKER.encode() not in content and b"SambangTestCam" not in content and b"Exif" not in content
