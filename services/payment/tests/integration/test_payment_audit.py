"""The audit trail: each admin or supervisor action writes one row (who, what, when, office, what it
touched), a refused action writes none, and no secret or personal data goes in."""

from __future__ import annotations

import json
from typing import Any

from payment_support import HarnessFactory, PaymentHarness
from sambang_payment.domain.settlement import settlement_sha256
from sambang_payment.models import AUDIT
from sambang_payment.stores.schedules import shipped_schedule
from sqlalchemy import select

HEADER = "billing_code,ntpn,amount,paid_at,channel,bank_reference"


async def audit_rows(h: PaymentHarness) -> list[Any]:
    async with h.runtime.engine.connect() as conn:
        return list((await conn.execute(select(AUDIT).order_by(AUDIT.c.id))).all())


async def test_loading_a_fee_schedule_writes_one_audit_row(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    doc = shipped_schedule().model_dump(mode="json") | {"name": "Tarif baru", "effective_from": "2027-01-01"}
    refused = await h.client.put("/v1/fees", json=doc, headers=h.token("supervisor", sub="sup-1"))
    assert refused.status_code == 403
    assert await audit_rows(h) == []
    r = await h.client.put("/v1/fees", json=doc, headers=h.token("admin", sub="admin-7"))
    assert r.status_code == 201
    [row] = await audit_rows(h)
    assert (row.officer, row.office, row.action, row.partner_id) == ("admin-7", "BLT", "FEE_SCHEDULE_LOADED", None)
    assert row.at.timestamp() == h.clock().timestamp()
    assert row.detail == {"name": "Tarif baru", "effective_from": "2027-01-01"}
    again = await h.client.put("/v1/fees", json=doc, headers=h.token("admin", sub="admin-7"))
    assert again.status_code == 409
    assert len(await audit_rows(h)) == 1  # a refused action leaves no trace of having happened


async def test_partner_registration_rotation_and_revocation_write_one_row_each_without_secrets(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    admin = h.token("admin", sub="admin-7")
    created = await h.client.post("/v1/partners", json={"partner_id": "BANKBRI", "name": "BRI"}, headers=admin)
    assert created.status_code == 201
    first_key, first_secret = created.json()["key_id"], created.json()["secret"]
    [registered] = await audit_rows(h)
    assert (registered.officer, registered.office, registered.action, registered.partner_id) == (
        "admin-7",
        "BLT",
        "PARTNER_REGISTERED",
        "BANKBRI",
    )
    assert registered.detail == {"key_id": first_key}

    h.clock.advance(minutes=5)
    rotated = await h.client.post("/v1/partners/BANKBRI/rotate", json={"grace_seconds": 60}, headers=admin)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    revoked = await h.client.post("/v1/partners/BANKBRI/revoke", json={"key_id": first_key}, headers=admin)
    assert revoked.status_code == 204
    refused = await h.client.post("/v1/partners/NOPE/rotate", json={}, headers=admin)
    assert refused.status_code == 404

    rows = await audit_rows(h)
    assert [r.action for r in rows] == ["PARTNER_REGISTERED", "PARTNER_KEY_ROTATED", "PARTNER_KEY_REVOKED"]
    assert rows[1].detail == {"key_id": rotated.json()["key_id"], "grace_seconds": 60}
    assert rows[1].at.timestamp() == h.clock().timestamp()
    assert rows[2].detail == {"key_id": first_key}
    everything = json.dumps([dict(r._mapping) for r in rows], default=str)
    assert first_secret not in everything and new_secret not in everything


async def test_each_settlement_upload_writes_one_audit_row_naming_partner_and_file(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    await h.new_partner()
    receipt = await h.register()
    bill = await h.bill(receipt)
    text = f"{HEADER}\n{bill.billing_code},NTPN0000000000U1,{bill.amount},{h.clock().isoformat()},TELLER,SET-U1\n"
    supervisor = {**h.token("supervisor", sub="sup-1"), "Content-Type": "text/csv"}
    before = len(await audit_rows(h))  # the partner's registration
    for _ in range(2):  # the second upload of the same bytes applies nothing but is still an action
        r = await h.client.post(
            "/v1/reconciliations", params={"partner": "BANKBRI"}, content=text.encode(), headers=supervisor
        )
        assert r.status_code == 200
    refused = await h.client.post(
        "/v1/reconciliations", params={"partner": "NOBANK"}, content=text.encode(), headers=supervisor
    )
    assert refused.status_code == 404
    rows = (await audit_rows(h))[before:]
    assert [(r.officer, r.office, r.action, r.partner_id) for r in rows] == [
        ("sup-1", "BLT", "SETTLEMENT_UPLOADED", "BANKBRI")
    ] * 2
    assert {r.file_sha256 for r in rows} == {settlement_sha256(text.encode())}
    assert [r.detail["already_processed"] for r in rows] == [False, True]
    assert rows[0].detail | {"reconciliation_id": 0} == {
        "reconciliation_id": 0,
        "already_processed": False,
        "matched": 0,
        "applied": 1,
        "discrepancies": 0,
        "errors": 0,
    }
    # Nothing about the applicant: no receipt, no birth date, no NTPN in the trail.
    assert all(r.receipt_number is None for r in rows)
    assert "NTPN0000000000U1" not in json.dumps([r.detail for r in rows])
