"""Signed bank notifications on PostgreSQL and RabbitMQ: money counted once, attacks change nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import pytest
from payment_support import HarnessFactory, PaymentHarness
from sambang_payment.domain.notifications import sign, signature_header
from sambang_payment.models import DISCREPANCY, NOTIFICATION, PAYMENT
from sambang_runtime.crypto import DecryptionError


async def paid_bill(h: PaymentHarness) -> tuple[str, str, Any]:
    """A partner and an unpaid bill."""
    key_id, secret = await h.new_partner()
    receipt = await h.register()
    return key_id, secret, await h.bill(receipt)


async def test_signed_notification_pays_the_bill_and_emits_one_payment_confirmed(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    key_id, secret, bill = await paid_bill(h)
    r = await h.notify(key_id, secret, h.payment_body(bill, "NTPN000000000001"))
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "APPLIED"
    [event] = await h.probe.wait_for("payment.confirmed")
    assert event.subject == bill.receipt_number and event.office == "BLT"
    assert event.data.ntpn == "NTPN000000000001" and event.data.amount == bill.amount
    assert event.data.source == "WEBHOOK" and event.data.channel == "ATM"
    paid = await h.bill(bill.receipt_number)
    assert paid.status == "PAID" and paid.ntpn == "NTPN000000000001"


async def test_the_same_notification_again_is_duplicate_and_emits_nothing(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    key_id, secret, bill = await paid_bill(h)
    body = h.payment_body(bill, "NTPN000000000002")
    first = await h.notify(key_id, secret, body)
    again = await h.notify(key_id, secret, body)
    assert (first.json()["outcome"], again.json()["outcome"]) == ("APPLIED", "DUPLICATE")
    await h.settled()
    assert len(h.probe.of("payment.confirmed")) == 1
    assert await h.count(NOTIFICATION) == 2  # every signed notification is recorded
    assert await h.count(PAYMENT) == 1


async def test_ten_identical_notifications_at_once_apply_once(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    key_id, secret, bill = await paid_bill(h)
    raw = json.dumps(h.payment_body(bill, "NTPN000000000010")).encode()
    t = int(h.clock().timestamp())
    headers = {"X-Partner-Key": key_id, "X-Signature": signature_header(secret, t, raw)}
    responses = await asyncio.gather(
        *(h.client.post("/v1/payments/notifications", content=raw, headers=headers) for _ in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10
    outcomes = sorted(r.json()["outcome"] for r in responses)
    assert outcomes == ["APPLIED"] + ["DUPLICATE"] * 9
    await h.settled()  # everything emitted has reached the probe
    assert len(h.probe.of("payment.confirmed")) == 1
    assert await h.count(PAYMENT) == 1
    assert await h.count(NOTIFICATION) == 10


async def test_two_different_ntpns_at_once_pay_once_and_report_a_double_payment(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    key_id, secret, bill = await paid_bill(h)
    a, b = await asyncio.gather(
        h.notify(key_id, secret, h.payment_body(bill, "NTPN00000000000A")),
        h.notify(key_id, secret, h.payment_body(bill, "NTPN00000000000B")),
    )
    assert sorted([a.json()["outcome"], b.json()["outcome"]]) == ["APPLIED", "DISCREPANCY"]
    [d] = await h.probe.wait_for("payment.discrepancy.detected")
    assert d.data.kind == "DOUBLE_PAYMENT" and d.data.receipt_number == bill.receipt_number
    assert len(await h.probe.wait_for("payment.confirmed")) == 1


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("AMOUNT_MISMATCH", {"amount": 1}),
        ("UNKNOWN_BILL", {"billing_code": "000000000000000"}),
        ("LATE_PAYMENT", {"paid_at": dt.timedelta(hours=3)}),  # after the bill's two hours
    ],
)
async def test_discrepancies_are_recorded_answered_200_and_emitted_without_paying(
    payment_harness: HarnessFactory, kind: str, change: dict[str, Any]
) -> None:
    h = await payment_harness()
    key_id, secret, bill = await paid_bill(h)
    if isinstance(change.get("paid_at"), dt.timedelta):
        change = {"paid_at": (h.clock() + change["paid_at"]).isoformat()}
    body = {**h.payment_body(bill, "NTPN0000000000D1"), **change}
    r = await h.notify(key_id, secret, body)
    assert r.status_code == 200
    assert r.json() | {"notification_id": 0} == {
        "notification_id": 0,
        "outcome": "DISCREPANCY",
        "discrepancy_kind": kind,
        "billing_code": body["billing_code"],
        "ntpn": "NTPN0000000000D1",
    }
    [event] = await h.probe.wait_for("payment.discrepancy.detected")
    assert event.data.kind == kind
    assert (await h.bill(bill.receipt_number)).status == "UNPAID"
    # The bank resends it: recorded, answered DUPLICATE, no second discrepancy.
    again = await h.notify(key_id, secret, body)
    assert again.json()["outcome"] == "DUPLICATE"
    await h.settled()
    assert len(h.probe.of("payment.discrepancy.detected")) == 1
    assert await h.count(DISCREPANCY) == 1
    assert h.probe.of("payment.confirmed") == []


async def test_payment_after_the_bill_expired_is_a_late_payment(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    key_id, secret, bill = await paid_bill(h)
    h.clock.advance(hours=2, minutes=1)  # the sweeper (hourly here) has not marked it EXPIRED yet
    r = await h.notify(key_id, secret, h.payment_body(bill, "NTPN0000000000L1"))
    assert (r.json()["outcome"], r.json()["discrepancy_kind"]) == ("DISCREPANCY", "LATE_PAYMENT")


# --- refused calls: nothing changes ----------------------------------------------------------------


async def assert_nothing_changed(h: PaymentHarness, receipt: str) -> None:
    assert await h.count(NOTIFICATION) == 0
    assert await h.count(PAYMENT) == 0
    assert await h.count(DISCREPANCY) == 0
    assert (await h.bill(receipt)).status == "UNPAID"
    await h.settled()
    assert h.probe.of("payment.confirmed") == [] and h.probe.of("payment.discrepancy.detected") == []


async def test_forged_stale_unsigned_and_tampered_notifications_are_refused_and_change_nothing(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    key_id, secret, bill = await paid_bill(h)
    raw = json.dumps(h.payment_body(bill, "NTPN0000000000F1")).encode()
    now = int(h.clock().timestamp())
    post = h.client.post
    url = "/v1/payments/notifications"
    cases = {
        "forged": (
            await post(
                url, content=raw, headers={"X-Partner-Key": key_id, "X-Signature": signature_header("guess", now, raw)}
            ),
            "invalid_signature",
        ),
        "unknown key": (
            await post(
                url, content=raw, headers={"X-Partner-Key": "NOPE-1", "X-Signature": signature_header(secret, now, raw)}
            ),
            "invalid_signature",
        ),
        "stale": (await h.notify(key_id, secret, raw, timestamp=now - 301), "stale_signature"),
        "future": (await h.notify(key_id, secret, raw, timestamp=now + 120), "stale_signature"),
        "body changed": (
            await post(
                url,
                content=raw.replace(b"ATM", b"POS"),
                headers={"X-Partner-Key": key_id, "X-Signature": signature_header(secret, now, raw)},
            ),
            "invalid_signature",
        ),
        "no signature": (await post(url, content=raw, headers={"X-Partner-Key": key_id}), "missing_signature"),
        "no key header": (
            await post(url, content=raw, headers={"X-Signature": signature_header(secret, now, raw)}),
            "missing_signature",
        ),
        "timestamp moved": (
            await post(
                url,
                content=raw,
                headers={"X-Partner-Key": key_id, "X-Signature": f"t={now + 1},v1={sign(secret, now, raw)}"},
            ),
            "invalid_signature",
        ),
    }
    for name, (response, code) in cases.items():
        assert response.status_code == 401, name
        assert response.headers["content-type"].startswith("application/problem+json"), name
        assert response.json()["code"] == code, name
    await assert_nothing_changed(h, bill.receipt_number)


@pytest.mark.parametrize(
    "change",
    [
        {"amount": -950000},
        {"amount": 0},
        {"amount": 950000.5},
        {"amount": "950000"},
        {"ntpn": "short"},
        {"ntpn": "ntpn000000000001"},
        {"billing_code": "12AB"},
        {"paid_at": "yesterday"},
    ],
)
async def test_signed_but_malformed_notifications_get_422_and_change_nothing(
    payment_harness: HarnessFactory, change: dict[str, Any]
) -> None:
    h = await payment_harness()
    key_id, secret, bill = await paid_bill(h)
    r = await h.notify(key_id, secret, {**h.payment_body(bill, "NTPN0000000000M1"), **change})
    assert r.status_code == 422
    assert r.json()["code"] == "validation_failed" and r.json()["errors"]
    await assert_nothing_changed(h, bill.receipt_number)


async def test_signed_non_json_body_gets_422_in_the_callers_language(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    key_id, secret, bill = await paid_bill(h)
    r = await h.notify(key_id, secret, b"not json at all")
    assert r.status_code == 422
    assert r.json()["detail"] == "Isi permintaan bukan JSON yang valid"
    r = await h.notify(key_id, secret, b"{", headers={"Accept-Language": "en"})
    assert r.json()["detail"] == "The request body is not valid JSON"
    await assert_nothing_changed(h, bill.receipt_number)


async def test_a_signed_notification_over_the_size_limit_gets_413_and_changes_nothing(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    key_id, secret, bill = await paid_bill(h)
    padded = {**h.payment_body(bill, "NTPN0000000000L1"), "note": "x" * (16 * 1024)}  # extra fields are ignored
    r = await h.notify(key_id, secret, padded)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large" and r.json()["max_bytes"] == 16 * 1024
    await assert_nothing_changed(h, bill.receipt_number)


# --- partner keys ----------------------------------------------------------------------------------


async def test_rotation_keeps_the_old_key_for_the_grace_period_and_revocation_ends_it(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    old_key, old_secret, bill = await paid_bill(h)
    admin = h.national()
    r = await h.client.post(
        "/v1/partners/BANKBRI/rotate",
        json={"grace_seconds": 3600},
        headers={**admin, **h.approval("partner_rotate", "BANKBRI")},
    )
    assert r.status_code == 200
    new_key, new_secret = r.json()["key_id"], r.json()["secret"]
    assert new_key != old_key and new_secret != old_secret
    # Both keys work during the grace period.
    body = h.payment_body(bill, "NTPN0000000000R1")
    assert (await h.notify(old_key, old_secret, body)).json()["outcome"] == "APPLIED"
    assert (await h.notify(new_key, new_secret, body)).json()["outcome"] == "DUPLICATE"
    # A secret is never shown again.
    listed = (await h.client.get("/v1/partners", headers=admin)).json()
    assert old_secret not in json.dumps(listed) and new_secret not in json.dumps(listed)
    r = await h.client.post(
        "/v1/partners/BANKBRI/revoke",
        json={"key_id": old_key},
        headers={**admin, **h.approval("partner_revoke", "BANKBRI")},
    )
    assert r.status_code == 204
    refused = await h.notify(old_key, old_secret, body)
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_signature"
    assert (await h.notify(new_key, new_secret, body)).status_code == 200


async def test_rotation_with_no_grace_stops_the_old_key_at_once(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    old_key, old_secret, bill = await paid_bill(h)
    r = await h.client.post(
        "/v1/partners/BANKBRI/rotate",
        json={"grace_seconds": 0},
        headers={**h.national(), **h.approval("partner_rotate", "BANKBRI")},
    )
    assert r.status_code == 200
    refused = await h.notify(old_key, old_secret, h.payment_body(bill, "NTPN0000000000R2"))
    assert refused.status_code == 401
    assert await h.count(NOTIFICATION) == 0


async def test_partner_endpoints_are_for_national_admins_with_a_second_ones_approval(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    body = {"partner_id": "BANKX", "name": "X"}
    approval = h.approval("partner_create", "BANKX")
    assert (await h.client.post("/v1/partners", json=body)).status_code == 401
    for role in ("supervisor", "admin", "head_of_office"):
        refused = await h.client.post("/v1/partners", json=body, headers={**h.token(role), **approval})
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden", role
    created = await h.client.post("/v1/partners", json=body, headers={**h.national(), **approval})
    assert created.status_code == 201
    again = await h.client.post(
        "/v1/partners", json=body, headers={**h.national(), **h.approval("partner_create", "BANKX")}
    )
    assert again.status_code == 409 and again.json()["code"] == "partner_exists"
    missing = await h.client.post(
        "/v1/partners/NOPE/rotate", json={}, headers={**h.national(), **h.approval("partner_rotate", "NOPE")}
    )
    assert missing.status_code == 404


async def test_partner_secrets_are_stored_encrypted(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    _, secret = await h.new_partner()
    from sambang_payment.models import PARTNER_KEY

    async with h.runtime.engine.connect() as conn:
        stored = (await conn.execute(PARTNER_KEY.select())).all()
    assert stored and all(secret not in row.secret_enc for row in stored)
    assert all(row.secret_enc.startswith("v1.") for row in stored)
    [row] = stored
    # Sealed under the PII key and bound to its key id: copied onto another key it does not open.
    assert h.runtime.cipher.decrypt(row.secret_enc, context=f"partner_key.secret:{row.key_id}") == secret
    with pytest.raises(DecryptionError):
        h.runtime.cipher.decrypt(row.secret_enc, context="partner_key.secret:OTHER-1")


async def test_the_five_minute_window_is_measured_by_the_service_clock(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    key_id, secret, bill = await paid_bill(h)
    raw = json.dumps(h.payment_body(bill, "NTPN0000000000T1")).encode()
    signed_at = int(h.clock().timestamp())
    h.clock.advance(seconds=301)  # the bank's signature is now 301 s old by our clock, whatever the wall says
    stale = await h.notify(key_id, secret, raw, timestamp=signed_at)
    assert stale.status_code == 401 and stale.json()["code"] == "stale_signature"
    assert stale.json()["window_seconds"] == 300
    assert stale.headers["WWW-Authenticate"] == 'HMAC realm="sambang-payment"'
    h.clock.set(dt.datetime.fromtimestamp(signed_at + 300, dt.UTC))
    fresh = await h.notify(key_id, secret, raw, timestamp=signed_at)
    assert fresh.status_code == 200 and fresh.json()["outcome"] == "APPLIED"
