"""The audit trail: each national admin or supervisor action writes one row (who, what, when, office, what
it touched, who approved it), a refused action writes none, no secret or personal data goes in, and the
rows are never updated or deleted."""

from __future__ import annotations

import json
from typing import Any

import pytest
from payment_support import HarnessFactory, PaymentHarness
from sambang_payment.domain.settlement import settlement_sha256
from sambang_payment.models import AUDIT
from sambang_payment.stores.schedules import shipped_schedule
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

HEADER = "billing_code,ntpn,amount,paid_at,channel,bank_reference"


async def audit_rows(h: PaymentHarness) -> list[Any]:
    async with h.runtime.engine.connect() as conn:
        return list((await conn.execute(select(AUDIT).order_by(AUDIT.c.id))).all())


async def test_loading_a_fee_schedule_writes_one_audit_row(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    doc = shipped_schedule().model_dump(mode="json") | {"name": "Tarif baru", "effective_from": "2027-01-01"}
    refused = await h.client.put("/v1/fees", json=doc, headers=h.token("admin", sub="admin-1"))
    assert refused.status_code == 403
    assert await audit_rows(h) == []
    r = await h.client.put("/v1/fees", json=doc, headers=h.national("national-7"))
    assert r.status_code == 201
    [row] = await audit_rows(h)
    assert (row.officer, row.office, row.action, row.partner_id) == ("national-7", "PST", "FEE_SCHEDULE_LOADED", None)
    assert row.at.timestamp() == h.clock().timestamp()
    assert row.detail == {"name": "Tarif baru", "effective_from": "2027-01-01"}
    assert row.approved_by is None
    again = await h.client.put("/v1/fees", json=doc, headers=h.national("national-7"))
    assert again.status_code == 409
    assert len(await audit_rows(h)) == 1  # a refused action leaves no trace of having happened


async def test_partner_registration_rotation_and_revocation_write_one_row_each_with_their_approver_without_secrets(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    admin = h.national("national-7")
    created = await h.client.post(
        "/v1/partners",
        json={"partner_id": "BANKBRI", "name": "BRI"},
        headers={**admin, **h.approval("partner_create", "BANKBRI", sub="national-2", office="JKT")},
    )
    assert created.status_code == 201
    first_key, first_secret = created.json()["key_id"], created.json()["secret"]
    [registered] = await audit_rows(h)
    assert (registered.officer, registered.office, registered.action, registered.partner_id) == (
        "national-7",
        "PST",
        "PARTNER_REGISTERED",
        "BANKBRI",
    )
    assert (registered.approved_by, registered.approver_office) == ("national-2", "JKT")
    assert registered.approval_id
    assert registered.detail == {"key_id": first_key}

    h.clock.advance(minutes=5)
    rotated = await h.client.post(
        "/v1/partners/BANKBRI/rotate",
        json={"grace_seconds": 60},
        headers={**admin, **h.approval("partner_rotate", "BANKBRI", sub="national-2", office="JKT")},
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    revoked = await h.client.post(
        "/v1/partners/BANKBRI/revoke",
        json={"key_id": first_key},
        headers={**admin, **h.approval("partner_revoke", "BANKBRI", sub="national-3")},
    )
    assert revoked.status_code == 204
    refused = await h.client.post(
        "/v1/partners/NOPE/rotate", json={}, headers={**admin, **h.approval("partner_rotate", "NOPE")}
    )
    assert refused.status_code == 404
    unapproved = await h.client.post("/v1/partners/BANKBRI/rotate", json={}, headers=admin)
    assert unapproved.status_code == 403

    rows = await audit_rows(h)
    assert [r.action for r in rows] == ["PARTNER_REGISTERED", "PARTNER_KEY_ROTATED", "PARTNER_KEY_REVOKED"]
    assert [r.approved_by for r in rows] == ["national-2", "national-2", "national-3"]
    assert len({r.approval_id for r in rows}) == 3
    assert rows[1].detail == {"key_id": rotated.json()["key_id"], "grace_seconds": 60}
    assert rows[1].at.timestamp() == h.clock().timestamp()
    assert rows[2].detail == {"key_id": first_key}
    everything = json.dumps([dict(r._mapping) for r in rows], default=str)
    assert first_secret not in everything and new_secret not in everything


async def test_the_audit_trail_is_append_only_on_postgres(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    await h.new_partner()
    for statement in ("UPDATE audit_entry SET officer = 'someone-else'", "DELETE FROM audit_entry"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with h.runtime.engine.begin() as conn:
                await conn.execute(text(statement))
    [row] = await audit_rows(h)
    assert row.officer == "national-1"


async def test_a_settlement_preview_and_its_application_write_one_audit_row_each_naming_partner_file_and_approver(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    await h.new_partner()
    receipt = await h.register()
    bill = await h.bill(receipt)
    text_ = f"{HEADER}\n{bill.billing_code},NTPN0000000000U1,{bill.amount},{h.clock().isoformat()},TELLER,SET-U1\n"
    sha = settlement_sha256(text_.encode())
    supervisor = {**h.token("supervisor", sub="sup-1"), "Content-Type": "text/csv"}
    before = len(await audit_rows(h))  # the partner's registration
    url = "/v1/reconciliations"
    preview = await h.client.post(url, params={"partner": "BANKBRI"}, content=text_.encode(), headers=supervisor)
    assert preview.status_code == 200 and preview.json()["dry_run"] is True
    for _ in range(2):  # the second upload of the same bytes applies nothing but is still an action
        approval = h.approval("settlement_apply", sha, sub="sup-2", roles=("supervisor",), office="BLT")
        r = await h.client.post(
            url, params={"partner": "BANKBRI"}, content=text_.encode(), headers={**supervisor, **approval}
        )
        assert r.status_code == 200, r.text
    refused = await h.client.post(
        url,
        params={"partner": "NOBANK"},
        content=text_.encode(),
        headers={**supervisor, **h.approval("settlement_apply", sha, sub="sup-2", roles=("supervisor",), office="BLT")},
    )
    assert refused.status_code == 404
    rows = (await audit_rows(h))[before:]
    assert [(r.officer, r.office, r.action, r.partner_id, r.approved_by) for r in rows] == [
        ("sup-1", "BLT", "SETTLEMENT_PREVIEWED", "BANKBRI", None),
        ("sup-1", "BLT", "SETTLEMENT_UPLOADED", "BANKBRI", "sup-2"),
        ("sup-1", "BLT", "SETTLEMENT_UPLOADED", "BANKBRI", "sup-2"),
    ]
    assert {r.file_sha256 for r in rows} == {sha}
    assert rows[0].detail == {
        "office": "BLT",
        "already_processed": False,
        "matched": 0,
        "would_apply": 1,
        "discrepancies": 0,
        "errors": 0,
    }
    assert [r.detail["already_processed"] for r in rows[1:]] == [False, True]
    assert rows[1].detail | {"reconciliation_id": 0} == {
        "office": "BLT",
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
