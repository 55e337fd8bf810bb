"""`make rotate-data-key` for payment: every encrypted column (bills' birth dates, partner keys' webhook
secrets) re-encrypted under the new key while the service runs, so a cipher holding only the new key
reads every value."""

from __future__ import annotations

from payment_support import ADULT, HarnessFactory
from sambang_payment.app import DESCRIPTOR, spec
from sambang_payment.background.rotation import rotate_data_key
from sambang_payment.models import BILL, PARTNER_KEY
from sambang_payment.stores.partners import DEV_PARTNER_KEY_ID, DEV_PARTNER_SECRET
from sambang_runtime.crypto import DEV_BLIND_INDEX_KEY, DecryptionError, PiiCipher, cipher_from_settings, generate_key
from sambang_runtime.service import ServiceRuntime
from sqlalchemy import select

K1 = generate_key()
K2 = generate_key()


async def plain_values(runtime: ServiceRuntime, cipher: PiiCipher) -> dict[str, str]:
    """Every encrypted value of payment, decrypted with ``cipher`` (raises when it cannot)."""
    plain: dict[str, str] = {}
    async with runtime.engine.connect() as conn:
        for receipt, token in await conn.execute(select(BILL.c.receipt_number, BILL.c.birth_date_enc)):
            plain[f"bill:{receipt}"] = cipher.decrypt(token, context=f"bill.birth_date:{receipt}")
        for key_id, token in await conn.execute(select(PARTNER_KEY.c.key_id, PARTNER_KEY.c.secret_enc)):
            plain[f"key:{key_id}"] = cipher.decrypt(token, context=f"partner_key.secret:{key_id}")
    return plain


async def test_rotation_rewrites_every_birth_date_and_partner_secret_so_the_new_key_alone_reads_them(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness(pii_keys=f"k1:{K1}", blind_index_key=DEV_BLIND_INDEX_KEY, environment="development")
    receipts = [await h.register() for _ in range(3)]
    key_id, secret = await h.new_partner()
    only_k1 = cipher_from_settings(f"k1:{K1}", DEV_BLIND_INDEX_KEY)
    only_k2 = cipher_from_settings(f"k2:{K2}", DEV_BLIND_INDEX_KEY)
    before = await plain_values(h.runtime, only_k1)
    assert len(before) == 3 + 2  # three bills; the demo bank's key and BANKBRI's
    assert before[f"key:{key_id}"] == secret and before[f"key:{DEV_PARTNER_KEY_ID}"] == DEV_PARTNER_SECRET
    assert {before[f"bill:{r}"] for r in receipts} == {ADULT.isoformat()}

    # The operator puts k2 last and runs the command while the service (still writing k1) runs.
    rotated = h.settings.model_copy(update={"pii_keys": f"k1:{K1},k2:{K2}"})
    runtime = ServiceRuntime(spec(), rotated)
    try:
        assert await rotate_data_key(runtime, batch=2) == 5
        assert await rotate_data_key(runtime) == 0  # nothing left under k1
        after = await plain_values(runtime, only_k2)
    finally:
        await runtime.engine.dispose()
    assert after == before
    try:
        await plain_values(h.runtime, only_k1)
    except DecryptionError:
        pass
    else:
        raise AssertionError("a value is still readable under k1 alone")


async def test_after_rotation_the_service_on_the_new_keys_still_checks_signatures_and_birth_dates(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness(pii_keys=f"k1:{K1}", blind_index_key=DEV_BLIND_INDEX_KEY)
    receipt = await h.register()
    key_id, secret = await h.new_partner()
    rotated = h.settings.model_copy(update={"pii_keys": f"k1:{K1},k2:{K2}"})
    runtime = ServiceRuntime(spec(), rotated)
    try:
        assert await rotate_data_key(runtime) == 2
    finally:
        await runtime.engine.dispose()
    # A replica restarted on the new key alone.
    h2 = await payment_harness(
        share=None, pii_keys=f"k2:{K2}", blind_index_key=DEV_BLIND_INDEX_KEY, database_url=h.settings.database_url
    )
    bill = await h2.bill(receipt)
    ok = await h2.notify(key_id, secret, h2.payment_body(bill, "NTPN00000000K201"))
    assert ok.status_code == 200 and ok.json()["outcome"] == "APPLIED"
    found = await h2.client.post(f"/v1/bills/{receipt}/lookup", json={"birth_date": ADULT.isoformat()})
    assert found.status_code == 200


def test_payment_declares_its_rotation_hook() -> None:
    assert DESCRIPTOR.spec is not None and DESCRIPTOR.spec().rotate_data_key is rotate_data_key
