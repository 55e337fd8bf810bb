"""`make rotate-data-key` for the queue: every encrypted column re-encrypted under the new key while the
service runs, so a cipher holding only the new key reads every value."""

from __future__ import annotations

import datetime as dt
from typing import Any

from conftest import DAY0, QueueHarness
from sambang_contracts import PassportIssued
from sambang_queue.app import DESCRIPTOR, spec
from sambang_queue.background.rotation import rotate_data_key
from sambang_queue.models import application, pickup
from sambang_runtime.crypto import DEV_BLIND_INDEX_KEY, DecryptionError, PiiCipher, cipher_from_settings, generate_key
from sambang_runtime.service import ServiceRuntime
from sqlalchemy import select

K1 = generate_key()
K2 = generate_key()


async def _collected_by_proxy(h: QueueHarness) -> dict[str, Any]:
    """An application issued and handed over to a proxy: every encrypted column of both tables filled."""
    code, s = await h.office_with_slot()
    app = await h.arrived(code, s["slot_id"])
    receipt = app["receipt_number"]
    await h.publish(
        PassportIssued(
            receipt_number=receipt,
            passport_number="X1234567",
            issued_at=dt.datetime(2026, 12, 3, 3, 0, tzinfo=dt.UTC),
            expires_at=dt.datetime(2036, 12, 3, 3, 0, tzinfo=dt.UTC),
            pickup_from=DAY0 + dt.timedelta(days=9),
        ),
        source="sambang/simkim-gateway",
    )
    await h.wait_status(receipt, "ISSUED")
    h.set_local(DAY0 + dt.timedelta(days=9), 9)
    taken = await h.client.post(
        f"/v1/offices/{code}/pickups",
        json={"receipt_number": receipt, "birth_date": app["birth_date"]},
        headers=h.auth("kiosk", office=code),
    )
    assert taken.status_code == 201, taken.text
    proxy = {"full_name": "Ani Wijaya", "nik": "3505010101900002", "letter_reference": "SK-12/2026"}
    handed = await h.client.post(
        f"/v1/pickups/{taken.json()['pickup_id']}/hand-over",
        json={"identity_checked": True, "collected_by": "PROXY", "proxy": proxy},
        headers=h.auth("customer_care", office=code),
    )
    assert handed.status_code == 200, handed.text
    return {**app, "pickup_id": taken.json()["pickup_id"]}


async def _plain_values(runtime: ServiceRuntime, cipher: PiiCipher) -> dict[str, str]:
    """Every encrypted value of both tables, decrypted with `cipher` (raises when it cannot)."""
    plain: dict[str, str] = {}
    async with runtime.engine.connect() as conn:
        for table, key, prefix in ((application, "receipt_number", "application"), (pickup, "id", "pickup")):
            columns = [c for c in table.c if c.name.endswith("_enc")]
            for row in await conn.execute(select(table.c[key], *columns)):
                for column, token in zip(columns, row[1:], strict=True):
                    if token is not None:
                        field = column.name.removesuffix("_enc")
                        plain[f"{prefix}.{field}:{row[0]}"] = cipher.decrypt(
                            token, context=f"{prefix}.{field}:{row[0]}"
                        )
    return plain


async def test_rotation_rewrites_every_personal_value_so_the_new_key_alone_reads_them(queue_make_harness: Any) -> None:
    async with queue_make_harness(pii_keys=f"k1:{K1}", blind_index_key=DEV_BLIND_INDEX_KEY) as h:
        code, s = await h.office_with_slot()
        quiet = await h.booked(code, s["slot_id"], applicant=h.applicant(email=None, phone=None))
        collected = await _collected_by_proxy(h)
        only_k1 = cipher_from_settings(f"k1:{K1}", DEV_BLIND_INDEX_KEY)
        only_k2 = cipher_from_settings(f"k2:{K2}", DEV_BLIND_INDEX_KEY)
        before = await _plain_values(h.runtime, only_k1)
        assert len(before) == 6 + 2 + 3  # the collected application, its proxy, the quiet booking

        # The operator puts k2 last and runs the command while the service (still writing k1) runs.
        rotated = h.settings.model_copy(update={"pii_keys": f"k1:{K1},k2:{K2}"})
        runtime = ServiceRuntime(spec(), rotated)
        try:
            assert await rotate_data_key(runtime, batch=1) == 11
            assert await rotate_data_key(runtime) == 0  # nothing left under k1
            after = await _plain_values(runtime, only_k2)
        finally:
            await runtime.engine.dispose()
        assert after == before
        receipt = collected["receipt_number"]
        assert after[f"application.full_name:{receipt}"] == "Siti Aminah"
        assert after[f"application.passport_number:{receipt}"] == "X1234567"
        assert after[f"pickup.proxy_nik:{collected['pickup_id']}"] == "3505010101900002"
        try:
            await _plain_values(h.runtime, only_k1)
        except DecryptionError:
            pass
        else:
            raise AssertionError("a value is still readable under k1 alone")
        # Look-ups by birth date still work (the blind index is not the data key).
        r = await h.status(quiet["receipt_number"], quiet["birth_date"])
        assert r.status_code == 200


def test_the_queue_declares_its_rotation_hook() -> None:
    assert DESCRIPTOR.spec is not None and DESCRIPTOR.spec().rotate_data_key is rotate_data_key
