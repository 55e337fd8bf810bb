"""Bills on PostgreSQL and RabbitMQ: issued from registrations, office rules, cancellation, lookups."""

from __future__ import annotations

import datetime as dt

import httpx
from payment_support import ADULT, HarnessFactory, PaymentHarness
from sambang_contracts import CancelReason, PassportType, PriorityCategory, ServiceType, VoidReason
from sambang_contracts.values import generate_receipt_number, validate_billing_code
from sambang_payment.domain.offices import as_utc
from sambang_payment.models import BILL
from sambang_payment.settings import PaymentSettings
from sambang_runtime.testing import eventually


async def test_registration_issues_an_itemised_bill_with_a_billing_code_valid_two_hours(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    receipt = await h.register(passport_type=PassportType.ELECTRONIC, service_type=ServiceType.REPLACEMENT_LOST)
    [event] = await h.probe.wait_for("payment.bill.issued")
    assert event.subject == receipt and event.office == "BLT"
    data = event.data
    validate_billing_code(data.billing_code)
    assert data.amount == 950_000 + 1_000_000
    assert [(i.code, i.amount) for i in data.items] == [
        ("PASPOR_ELEKTRONIK_10TH", 950_000),
        ("PENGGANTIAN_HILANG", 1_000_000),
    ]
    assert data.expires_at == h.clock() + dt.timedelta(hours=2)
    bill = await h.bill(receipt)
    assert (bill.status, bill.billing_code, bill.validity_years) == ("UNPAID", data.billing_code, 10)
    # The birth date is stored encrypted and hashed, never plain.
    assert ADULT.isoformat() not in bill.birth_date_enc and ADULT.isoformat() not in bill.birth_date_index


async def test_a_minor_is_billed_five_years_and_priority_or_walk_in_bills_live_seven_days(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    today = h.clock().date()
    child = await h.register(birth_date=today.replace(year=today.year - 10), passport_type=PassportType.REGULAR)
    elderly = await h.register(priority=PriorityCategory.ELDERLY)
    walk_in = await h.register(walk_in=True)
    assert (await h.bill(child)).amount == 350_000
    week = h.clock() + dt.timedelta(days=7)
    assert as_utc((await h.bill(elderly)).expires_at) == week
    assert as_utc((await h.bill(walk_in)).expires_at) == week


async def test_billing_codes_are_unique_across_many_bills(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    receipts = [await h.register(wait=False) for _ in range(40)]
    for r in receipts:
        await h.wait_bill(r)
    async with h.runtime.engine.connect() as conn:
        codes = [row[0] for row in (await conn.execute(BILL.select().with_only_columns(BILL.c.billing_code))).all()]
    assert len(codes) == len(set(codes)) == 40


async def test_a_registration_published_twice_gives_one_bill(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    receipt = await h.register()
    await h.register(receipt=receipt, wait=False)  # a new event id for the same application
    await h.settled()
    assert await h.count(BILL) == 1
    assert len(h.probe.of("payment.bill.issued")) == 1


async def test_office_rules_apply_to_bills_issued_after_the_change(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    before = await h.register()
    issued_before = h.clock()
    await h.office_updated(bill_validity_seconds=600, priority_bill_validity_seconds=3600)
    await h.settled()
    now = h.clock.advance(minutes=10)
    after = await h.register()
    priority = await h.register(priority=PriorityCategory.DISABLED)
    assert as_utc((await h.bill(before)).expires_at) == issued_before + dt.timedelta(hours=2)
    assert as_utc((await h.bill(after)).expires_at) == now + dt.timedelta(seconds=600)
    assert as_utc((await h.bill(priority)).expires_at) == now + dt.timedelta(seconds=3600)


async def test_a_late_older_office_update_does_not_overwrite_a_newer_one(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    sent = h.clock()
    newer = await h.office_updated(bill_validity_seconds=600, priority_bill_validity_seconds=3600, time=sent)
    await h.handled(newer)
    # Sent before the newer one, delivered after it (a retry, a replay): the newer rules stay.
    late = await h.office_updated(
        bill_validity_seconds=900, priority_bill_validity_seconds=7200, time=sent - dt.timedelta(minutes=5)
    )
    await h.handled(late)
    receipt = await h.register()
    assert as_utc((await h.bill(receipt)).expires_at) == h.clock() + dt.timedelta(seconds=600)


async def test_cancellation_voids_an_unpaid_bill(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    receipt = await h.register()
    await h.cancel(receipt)

    async def voided() -> bool:
        return bool((await h.bill(receipt)).status == "VOID")

    await eventually(voided, what="bill voided")
    bill = await h.bill(receipt)
    assert as_utc(bill.voided_at) == h.clock()
    [event] = await h.probe.wait_for("payment.bill.voided")
    assert (event.subject, event.office) == (receipt, "BLT")
    assert (event.data.billing_code, event.data.reason, event.data.voided_at) == (
        bill.billing_code,
        VoidReason.APPLICATION_CANCELLED,
        h.clock(),
    )
    # A redelivered or repeated cancellation voids nothing more and emits nothing more.
    await h.cancel(receipt)
    await h.settled()
    assert len(h.probe.of("payment.bill.voided")) == 1


async def test_a_paid_or_expired_bill_is_not_voided_and_no_void_event_is_emitted(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    expired = await h.register()
    h.clock.advance(hours=2, seconds=1)
    assert await h.sweep() == 1
    paid = await h.register()
    key_id, secret = await h.new_partner()
    r = await h.notify(key_id, secret, h.payment_body(await h.bill(paid), "NTPN000000000777"))
    assert r.status_code == 200, r.text
    await h.cancel(expired)
    await h.cancel(paid)
    await h.settled()
    assert (await h.bill(expired)).status == "EXPIRED"
    assert (await h.bill(paid)).status == "PAID"
    assert h.probe.of("payment.bill.voided") == []


async def test_the_chosen_validity_and_same_day_service_are_billed(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    today = h.clock().date()
    five = await h.register(validity_years=5)  # an adult may choose five years
    express = await h.register(validity_years=10, express=True)
    # queue accepted ten years for this 16-year-old (married: the form says so, the event does not)
    married_minor = await h.register(birth_date=today.replace(year=today.year - 16), validity_years=10)
    legacy_minor = await h.register(birth_date=today.replace(year=today.year - 16))  # v1.0: no validity
    assert ((await h.bill(five)).validity_years, (await h.bill(five)).amount) == (5, 650_000)
    assert (await h.bill(express)).amount == 950_000 + 1_000_000
    assert ((await h.bill(married_minor)).validity_years, (await h.bill(married_minor)).amount) == (10, 950_000)
    assert ((await h.bill(legacy_minor)).validity_years, (await h.bill(legacy_minor)).amount) == (5, 650_000)
    [issued] = [e for e in h.probe.of("payment.bill.issued") if e.subject == express]
    assert [i.code for i in issued.data.items] == ["PASPOR_ELEKTRONIK_10TH", "PERCEPATAN_HARI_SAMA"]


async def test_cancellation_before_registration_leaves_no_zombie_bill(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    receipt = generate_receipt_number("BLT", h.clock().date())
    await h.cancel(receipt)
    await h.settled()  # the cancellation is handled first
    await h.register(receipt=receipt, wait=False)
    marker = await h.register()
    assert marker
    await h.settled()
    assert await h.bill(receipt) is None
    assert [e.subject for e in h.probe.of("payment.bill.issued")] == [marker]


async def test_bill_expired_cancellation_of_an_expired_bill_changes_nothing(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    receipt = await h.register()
    h.clock.advance(hours=2, seconds=1)
    assert await h.sweep() == 1
    await h.cancel(receipt, CancelReason.BILL_EXPIRED)
    await h.settled()
    bill = await h.bill(receipt)
    assert (bill.status, bill.voided_at) == ("EXPIRED", None)


async def lookup(h: PaymentHarness, receipt: str, birth_date: str, **headers: str) -> httpx.Response:
    """The applicant's look-up: the birth date in the body, never the URL."""
    return await h.client.post(f"/v1/bills/{receipt}/lookup", json={"birth_date": birth_date}, headers=headers)


async def test_applicant_looks_the_bill_up_with_the_birth_date_in_the_body_and_wrong_or_unknown_give_the_same_404(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    receipt = await h.register()
    ok = await lookup(h, receipt, ADULT.isoformat())
    assert ok.status_code == 200
    body = ok.json()
    assert body["status"] == "UNPAID" and body["amount"] == 950_000 and len(body["billing_code"]) == 15
    assert "priority" not in body and "birth_date" not in str(body)
    wrong = await lookup(h, receipt, "1990-05-18")
    unknown = await lookup(h, generate_receipt_number("BLT", h.clock().date()), ADULT.isoformat())
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() | {"instance": ""} == unknown.json() | {"instance": ""}
    missing = await h.client.post(f"/v1/bills/{receipt}/lookup", json={})
    assert missing.status_code == 422 and missing.json()["code"] == "validation_failed"
    junk = await h.client.post(f"/v1/bills/{receipt}/lookup", json={"birth_date": ADULT.isoformat(), "nik": "1"})
    assert junk.status_code == 422
    malformed = await lookup(h, "BLT123", ADULT.isoformat())
    assert malformed.status_code == 422 and malformed.json()["code"] == "invalid_receipt_number"


async def test_a_birth_date_in_the_url_is_refused_unread_whoever_asks(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    receipt = await h.register()
    for headers in ({}, h.token("customer_care"), h.token("kiosk")):
        for key in ("birth_date", "Birth-Date"):
            r = await h.client.get(f"/v1/bills/{receipt}", params={key: ADULT.isoformat()}, headers=headers)
            assert r.status_code == 400 and r.json()["code"] == "birth_date_in_url", (headers, key)
            assert ADULT.isoformat() not in r.text


async def test_officers_read_bills_of_their_own_office_without_birth_date(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    receipt = await h.register()
    for role in ("customer_care", "verifier", "sambang_officer", "interviewer", "supervisor", "head_of_office"):
        mine = await h.client.get(f"/v1/bills/{receipt}", headers=h.token(role))
        assert mine.status_code == 200 and mine.json()["priority"] is False, role
    other = await h.client.get(f"/v1/bills/{receipt}", headers=h.token("supervisor", office="MLG"))
    assert other.status_code == 403 and other.json()["code"] == "wrong_office"
    assert (await h.client.get(f"/v1/bills/{receipt}")).status_code == 401
    for device in ("display", "kiosk"):  # not officers: they look up with a birth date like an applicant
        refused = await h.client.get(f"/v1/bills/{receipt}", headers=h.token(device))
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden", device


async def test_public_lookups_are_rate_limited_per_client(payment_harness: HarnessFactory) -> None:
    h = await payment_harness(payment=PaymentSettings(sweep_interval_seconds=3600, lookup_burst=3))
    receipt = await h.register()
    codes = [(await lookup(h, receipt, f"1990-01-0{d}")).status_code for d in range(1, 6)]
    assert codes == [404, 404, 404, 429, 429]
    limited = await lookup(h, receipt, ADULT.isoformat())
    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
    # A kiosk's token or a junk one buys nothing; a verified officer's skips the address limit.
    assert (await lookup(h, receipt, ADULT.isoformat(), **h.token("kiosk"))).status_code == 429
    assert (await lookup(h, receipt, ADULT.isoformat(), Authorization="Bearer junk")).status_code == 429
    assert (await lookup(h, receipt, ADULT.isoformat(), **h.token("verifier"))).status_code == 200
    assert (await h.client.get(f"/v1/bills/{receipt}", headers=h.token("verifier"))).status_code == 200


async def test_wrong_birth_dates_lock_the_receipt_but_not_the_counter(payment_harness: HarnessFactory) -> None:
    settings = PaymentSettings(sweep_interval_seconds=3600, lookup_burst=100, receipt_guess_limit=3)
    h = await payment_harness(payment=settings)
    receipt, other = await h.register(), await h.register()
    codes = [(await lookup(h, receipt, f"1990-01-0{d}")).status_code for d in range(1, 4)]
    assert codes == [404, 404, 404]
    locked = await lookup(h, receipt, ADULT.isoformat())  # even the right one, for a while
    assert locked.status_code == 429 and locked.json()["code"] == "receipt_locked"
    assert int(locked.headers["Retry-After"]) >= 1 and locked.json()["retry_after"] >= 1
    # An officer's guesses count too (the guard is per receipt, whoever asks).
    officer = await lookup(h, receipt, ADULT.isoformat(), **h.token("verifier"))
    assert officer.status_code == 429 and officer.json()["code"] == "receipt_locked"
    # Another receipt is untouched, and the counter still reads the locked one.
    assert (await lookup(h, other, ADULT.isoformat())).status_code == 200
    assert (await h.client.get(f"/v1/bills/{receipt}", headers=h.token("customer_care"))).status_code == 200
    # Unknown receipts lock alike: a lock says nothing about whether a receipt exists.
    unknown = generate_receipt_number("BLT", h.clock().date())
    assert [(await lookup(h, unknown, ADULT.isoformat())).status_code for _ in range(4)] == [404, 404, 404, 429]
