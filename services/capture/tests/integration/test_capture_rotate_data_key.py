"""`make rotate-data-key` for capture: every encrypted column re-encrypted, every application's data key
re-wrapped (its images left as they are: envelope encryption), and images of before data keys moved under
one, while the service runs; then a cipher holding only the new key reads every value and every image."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import capture_images as img
from capture_support import T0, CaptureHarness, running, settings_on, unique_office
from sambang_capture.app import DESCRIPTOR, spec
from sambang_capture.background.rotation import rotate_data_key
from sambang_capture.models import biometric_item, biometric_key
from sambang_capture.stores import keys
from sambang_capture.stores.rotation import ENCRYPTED_COLUMNS
from sambang_runtime.crypto import DEV_BLIND_INDEX_KEY, DecryptionError, PiiCipher, cipher_from_settings, generate_key
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.testing import Servers
from sqlalchemy import insert, select

K1 = generate_key()
K2 = generate_key()


async def plain_values(runtime: ServiceRuntime, cipher: PiiCipher) -> dict[str, Any]:
    """Every encrypted value of capture read with ``cipher`` alone (raises when it cannot): the text
    columns, and every stored image through its application's data key (or the PII key, rows of before)."""
    plain: dict[str, Any] = {}
    async with runtime.engine.connect() as conn:
        for target in ENCRYPTED_COLUMNS:
            column = target.table.c[target.column]
            for row in await conn.execute(select(target.table).where(column.is_not(None))):
                key = f"{target.name}:{getattr(row, target.key)}"
                plain[key] = cipher.decrypt(getattr(row, target.column), context=target.context(row))
        data_keys = {
            r.receipt_number: keys.DataKey(
                r.receipt_number,
                cipher.decrypt_bytes(bytes(r.wrapped_dek), context=f"biometric_key:{r.receipt_number}"),
            )
            for r in await conn.execute(select(biometric_key))
        }
        for r in await conn.execute(select(biometric_item).where(biometric_item.c.content_enc.is_not(None))):
            context = f"biometric_item:{r.receipt_number}:{r.kind}:{r.position}"
            envelope = bytes(r.content_enc)
            if keys.is_sealed_with_data_key(envelope):
                content = keys.unseal(data_keys[r.receipt_number], envelope, context=context)
            else:
                content = cipher.decrypt_bytes(envelope, context=context)
            assert hashlib.sha256(content).hexdigest() == r.sha256
            plain[f"image:{r.receipt_number}:{r.kind}:{r.position}"] = r.sha256
    return plain


async def _everything_encrypted(h: CaptureHarness) -> str:
    """A receipt with a value in every encrypted column and every kind of image."""
    receipt = await h.register(unique_office())
    docs = [{"kind": "KTP", "status": "MISMATCH", "note": "foto KTP berbeda"}, *_rest_ok()]
    assert (r := await h.documents(receipt, docs)).status_code == 200, r.text
    r = await h.client.post(
        f"/v1/captures/{receipt}/nonconformances",
        json={"kind": "DATA_MISMATCH", "detail": "nama ibu berbeda"},
        headers=h.officer(receipt),
    )
    assert r.status_code == 200, r.text
    await h.everything_but(receipt, skip_fingers=(10,), documents=False)
    r = await h.client.put(
        f"/v1/captures/{receipt}/fingerprints/10/exception",
        json={"reason": "AMPUTATED", "note": "since 2019"},
        headers={**h.officer(receipt), **h.approval(receipt, 10)},
    )
    assert r.status_code == 200, r.text
    r = await h.client.post(
        f"/v1/captures/{receipt}/interview",
        json={"decision": "APPROVED", "notes": "ok", "violation": {"category": "OTHER", "detail": "calo di luar"}},
        headers=h.officer(receipt),
    )
    assert r.status_code == 200, r.text
    return receipt


def _rest_ok() -> list[dict[str, str]]:
    return [{"kind": k, "status": "OK"} for k in ("KK", "BIRTH_CERTIFICATE", "PERDIM_11", "STATEMENT_LETTER")]


async def test_rotation_rewrites_every_value_and_data_key_so_the_new_key_alone_reads_them(
    servers: Servers, tmp_path: Any
) -> None:
    settings = settings_on(servers, tmp_path, "postgres+amqp", pii_keys=f"k1:{K1}", blind_index_key=DEV_BLIND_INDEX_KEY)
    only_k1 = cipher_from_settings(f"k1:{K1}", DEV_BLIND_INDEX_KEY)
    only_k2 = cipher_from_settings(f"k2:{K2}", DEV_BLIND_INDEX_KEY)
    async with running(settings) as h:
        receipts = [await _everything_encrypted(h) for _ in range(2)]
        # An image stored before data keys existed: sealed under the PII key itself (k1).
        legacy = await h.register(unique_office())
        print_png = img.fingerprint_png(1)
        context = f"biometric_item:{legacy}:FINGERPRINT:1"
        async with h.runtime.engine.begin() as conn:
            await conn.execute(
                insert(biometric_item).values(
                    receipt_number=legacy,
                    kind="FINGERPRINT",
                    position=1,
                    upload_sha256=hashlib.sha256(print_png).hexdigest(),
                    sha256=hashlib.sha256(print_png).hexdigest(),
                    bytes=len(print_png),
                    media_type="image/png",
                    width=300,
                    height=300,
                    quality=90.0,
                    checks=[],
                    key_id="k1",
                    content_enc=only_k1.encrypt_bytes(print_png, context=context),
                    captured_by="officer-0",
                    captured_at=T0,
                )
            )
        before = await plain_values(h.runtime, only_k1)
        # per receipt: birth date, 1 document note, 2 nonconformances (the mismatch's and the officer's),
        # 1 exception note, interview notes, violation detail, 11 images; the legacy receipt: birth date, 1 image
        assert len(before) == 2 * (1 + 1 + 2 + 1 + 1 + 1 + 11) + 2
        sealed_before = {
            (r.receipt_number, r.kind, r.position): bytes(r.content_enc)
            for receipt in receipts
            for r in await h.rows(biometric_item, receipt)
        }

        # The operator puts k2 last and runs the command while the service (still writing k1) runs.
        rotated = settings.model_copy(update={"pii_keys": f"k1:{K1},k2:{K2}"})
        runtime = ServiceRuntime(spec(), rotated)
        try:
            # 2 x 7 text values + the legacy birth date, 2 data keys re-wrapped, 1 legacy image moved
            # under a new data key (made under k2: not counted, nothing was rewritten).
            assert await rotate_data_key(runtime) == 2 * 7 + 1 + 2 + 1
            assert await rotate_data_key(runtime) == 0  # nothing left under k1
            after = await plain_values(runtime, only_k2)
        finally:
            await runtime.engine.dispose()
        assert after == before
        # Envelope encryption: the images under a data key were not rewritten, only their keys re-wrapped.
        for receipt in receipts:
            for r in await h.rows(biometric_item, receipt):
                assert bytes(r.content_enc) == sealed_before[(r.receipt_number, r.kind, r.position)]
            [key] = await h.rows(biometric_key, receipt)
            assert key.key_id == "k2"
        [moved] = await h.rows(biometric_item, legacy)
        assert moved.key_id == "dek" and keys.is_sealed_with_data_key(bytes(moved.content_enc))
        try:
            await plain_values(h.runtime, only_k1)
        except DecryptionError:
            pass
        else:
            raise AssertionError("a value is still readable under k1 alone")

    # A replica restarted on the new key alone serves the bundle and the summary.
    only_new = settings.model_copy(update={"pii_keys": f"k2:{K2}"})
    async with running(only_new) as h2:
        receipt = receipts[0]
        assert (await h2.complete(receipt)).status_code == 200
        bundle = await h2.client.get(
            f"/internal/v1/captures/{receipt}/bundle", headers=h2.auth("service", office="BLT", sub="simkim-gateway")
        )
        assert bundle.status_code == 200, bundle.text
        for item in bundle.json()["items"]:
            assert hashlib.sha256(base64.b64decode(item["data"])).hexdigest() == item["sha256"]
        assert (await h2.summary(receipt))["nonconformances"][-1]["detail"] == "nama ibu berbeda"


def test_capture_declares_its_rotation_hook() -> None:
    assert DESCRIPTOR.spec is not None and DESCRIPTOR.spec().rotate_data_key is rotate_data_key
