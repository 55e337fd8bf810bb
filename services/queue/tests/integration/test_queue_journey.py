"""The applicant's journey from events: bills, payment and the arrival link, expiry, SIMKIM, status,
cancellation and pickup with hand-over (API.md rows 8-9, 15-16; every consumer of the HANDLERS table)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conftest import DAY0, QueueHarness
from sambang_contracts import (
    BillExpired,
    BillIssued,
    BillItem,
    DocumentCheck,
    DocumentKind,
    DocumentStatus,
    DocumentsVerified,
    HoldDecided,
    HoldDecision,
    HoldKind,
    HoldRaised,
    PassportIssued,
    SubmissionAccepted,
    SubmissionFailed,
)
from sambang_contracts.values import generate_billing_code
from sambang_queue.models import slot
from sambang_queue.settings import QueueSettings
from sqlalchemy import select

TOMORROW = DAY0 + dt.timedelta(days=1)


def bill(receipt: str, expires: dt.datetime) -> BillIssued:
    return BillIssued(
        receipt_number=receipt,
        billing_code=generate_billing_code(),
        amount=350_000,
        items=[BillItem(code="PASPOR-E", description="Paspor elektronik 48 halaman", amount=350_000)],
        expires_at=expires,
    )


async def booked_count(queue: QueueHarness, slot_id: int) -> int:
    async with queue.runtime.engine.connect() as conn:
        return int((await conn.execute(select(slot.c.booked).where(slot.c.id == slot_id))).scalar_one())


async def test_bill_summary_is_shown_and_payment_may_come_before_the_bill(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    receipt = app["receipt_number"]
    await queue.pay(receipt)  # confirmed first
    await queue.publish(bill(receipt, queue.clock() + dt.timedelta(hours=2)))
    view: dict[str, Any] = {}

    async def has_bill() -> bool:
        nonlocal view
        view = (await queue.status(receipt, app["birth_date"])).json()
        return "BILL_ISSUED" in [t["step"] for t in view["timeline"]]

    from sambang_runtime.testing import eventually

    await eventually(has_bill, timeout=15, what="bill summary")
    assert view["status"] == "PAID" and view["bill"]["status"] == "PAID" and view["bill"]["amount"] == 350_000
    steps = [t["step"] for t in view["timeline"]]
    assert {"PAID", "BILL_ISSUED", "ARRIVAL_LINK_ISSUED"} <= set(steps)


async def test_payment_sends_a_signed_expiring_arrival_link_and_confirmation_is_idempotent(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    receipt = app["receipt_number"]
    await queue.pay(receipt)
    link = await queue.event("queue.arrival.link_issued", receipt)
    url = urlsplit(link.data.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://antrian.example.id/arrival"
    assert parse_qs(url.query) == {"receipt": [receipt], "token": [link.data.token]}
    assert link.data.expires_at == dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.UTC)  # midnight in Blitar
    # Always a different last digit: appending "0" left a token that ends in "0" unchanged (1 run in 16 failed).
    forged = link.data.token[:-1] + ("1" if link.data.token.endswith("0") else "0")
    bad = await queue.client.post(f"/v1/applications/{receipt}/arrival-confirmation", json={"token": forged})
    assert bad.status_code == 403 and bad.json()["code"] == "invalid_token"
    ok = await queue.client.post(f"/v1/applications/{receipt}/arrival-confirmation", json={"token": link.data.token})
    assert ok.status_code == 200
    again = await queue.client.post(f"/v1/applications/{receipt}/arrival-confirmation", json={"token": link.data.token})
    assert again.status_code == 200 and again.json()["confirmed_at"] == ok.json()["confirmed_at"]
    await queue.event("queue.arrival.confirmed", receipt)
    assert len(queue.events("queue.arrival.confirmed", receipt)) == 1
    assert (await queue.status(receipt, app["birth_date"])).json()["status"] == "ARRIVAL_CONFIRMED"
    # A second delivery of payment.confirmed issues no second link.
    await queue.pay(receipt)
    assert len(queue.events("queue.arrival.link_issued", receipt)) == 1


async def test_expired_arrival_link_answers_gone(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    await queue.pay(app["receipt_number"])
    link = await queue.event("queue.arrival.link_issued", app["receipt_number"])
    queue.set_local(TOMORROW + dt.timedelta(days=1), 0, 1)
    r = await queue.client.post(
        f"/v1/applications/{app['receipt_number']}/arrival-confirmation", json={"token": link.data.token}
    )
    assert r.status_code == 410 and r.json()["code"] == "link_expired"


async def test_unpaid_bill_expiry_cancels_and_gives_the_place_back(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(quota=1)
    app = await queue.booked(code, s["slot_id"])
    receipt = app["receipt_number"]
    b = bill(receipt, queue.clock() + dt.timedelta(hours=2))
    await queue.publish(b)
    await queue.publish(BillExpired(receipt_number=receipt, billing_code=b.billing_code, expired_at=b.expires_at))
    cancelled = await queue.event("queue.application.cancelled", receipt)
    assert cancelled.data.reason.value == "BILL_EXPIRED"
    assert (await queue.status(receipt, app["birth_date"])).json()["status"] == "EXPIRED"
    assert await booked_count(queue, s["slot_id"]) == 0
    assert (await queue.book(code, s["slot_id"])).status_code == 201  # the place is free again
    # The same NIK may apply again.
    assert (await queue.book(code, s["slot_id"], applicant={**queue.applicant(), "nik": app["nik"]})).json()[
        "code"
    ] == "slot_full"


async def test_bill_expiry_after_payment_changes_nothing(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    await queue.pay(app["receipt_number"])
    await queue.publish(
        BillExpired(
            receipt_number=app["receipt_number"], billing_code=generate_billing_code(), expired_at=queue.clock()
        )
    )
    await queue.publish(
        DocumentsVerified(
            receipt_number=app["receipt_number"],
            documents=[DocumentCheck(kind=DocumentKind.KTP, status=DocumentStatus.OK)],
            officer_id="verifier-1",
        ),
        source="sambang/capture",
    )
    view = await queue.wait_status(app["receipt_number"], "PAID")
    from sambang_runtime.testing import eventually

    async def verified() -> bool:
        v = (await queue.status(app["receipt_number"], app["birth_date"])).json()
        return "DOCUMENTS_VERIFIED" in [t["step"] for t in v["timeline"]]

    await eventually(verified, timeout=15, what="documents on the timeline")
    assert view["status"] == "PAID" and await booked_count(queue, s["slot_id"]) == 1
    assert not queue.events("queue.application.cancelled", app["receipt_number"])


async def test_hold_is_never_revealed_to_the_applicant(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.arrived(code, s["slot_id"])
    receipt = app["receipt_number"]
    await queue.publish(
        SubmissionAccepted(receipt_number=receipt, simkim_reference="SIMKIM-1", submitted_at=queue.clock(), attempts=1),
        source="sambang/simkim-gateway",
    )
    await queue.wait_status(receipt, "IN_PROCESS")
    await queue.publish(
        HoldRaised(receipt_number=receipt, kind=HoldKind.CEKAL, reference="CK-77"), source="sambang/simkim-gateway"
    )
    officer = await queue.wait_status(receipt, "HELD")
    assert "HOLD_RAISED" in [t["step"] for t in officer["timeline"]]
    applicant = (await queue.status(receipt, app["birth_date"])).json()
    assert applicant["status"] == "IN_PROCESS"
    assert "HOLD" not in str(applicant) and "CEKAL" not in str(applicant)
    await queue.publish(
        HoldDecided(receipt_number=receipt, decision=HoldDecision.RELEASE, decided_by="kakanim", reason="cleared"),
        source="sambang/simkim-gateway",
    )
    await queue.wait_status(receipt, "IN_PROCESS")
    await queue.publish(
        SubmissionFailed(receipt_number=receipt, reason="timeout", attempts=2, permanent=False),
        source="sambang/simkim-gateway",
    )
    final = (await queue.status(receipt, app["birth_date"])).json()
    assert "SUBMISSION_FAILED" not in str(final) and "HOLD" not in str(final)


async def test_denied_hold_rejects_without_saying_why(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.arrived(code, s["slot_id"])
    receipt = app["receipt_number"]
    await queue.publish(
        HoldRaised(receipt_number=receipt, kind=HoldKind.DUPLICATE_PASSPORT, reference="D-1"),
        source="sambang/simkim-gateway",
    )
    await queue.publish(
        HoldDecided(receipt_number=receipt, decision=HoldDecision.DENY, decided_by="kakanim", reason="active passport"),
        source="sambang/simkim-gateway",
    )
    await queue.wait_status(receipt, "REJECTED")
    applicant = (await queue.status(receipt, app["birth_date"])).json()
    assert (
        applicant["status"] == "REJECTED"
        and "DUPLICATE" not in str(applicant)
        and "active passport" not in str(applicant)
    )


async def test_late_event_never_moves_the_status_back(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.arrived(code, s["slot_id"])
    receipt = app["receipt_number"]
    await queue.publish(issued(receipt, DAY0 + dt.timedelta(days=8)), source="sambang/simkim-gateway")
    await queue.wait_status(receipt, "ISSUED")
    await queue.publish(
        SubmissionAccepted(receipt_number=receipt, simkim_reference="S-2", submitted_at=queue.clock(), attempts=1),
        source="sambang/simkim-gateway",
    )
    await queue.pay(receipt)
    assert (await queue.status(receipt, app["birth_date"])).json()["status"] == "ISSUED"


# --- status look-ups --------------------------------------------------------------------------------------------


async def test_wrong_birth_date_and_unknown_receipt_answer_the_same_404(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    from sambang_contracts.values import generate_receipt_number

    wrong = await queue.status(app["receipt_number"], "1990-05-18")
    unknown = await queue.status(generate_receipt_number(code, DAY0), app["birth_date"])
    assert wrong.status_code == unknown.status_code == 404
    strip = lambda r: {k: v for k, v in r.json().items() if k != "instance"}  # noqa: E731
    assert strip(wrong) == strip(unknown)
    # Without a birth date the applicant's look-up is malformed; the GET is for officers only.
    assert (await queue.client.post(f"/v1/applications/{app['receipt_number']}/lookup", json={})).status_code == 422
    assert (await queue.status(app["receipt_number"])).status_code == 401
    typo = await queue.status(
        app["receipt_number"][:-1] + str((int(app["receipt_number"][-1]) + 3) % 10), app["birth_date"]
    )
    assert typo.status_code == 422 and typo.json()["code"] == "invalid_receipt_number"
    typo_receipt = typo.request.url.path.rsplit("/", 1)[-1]
    for path, body in (("cancel", {"birth_date": app["birth_date"]}), ("arrival-confirmation", {"token": "1.x"})):
        refused = await queue.client.post(f"/v1/applications/{typo_receipt}/{path}", json=body)
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_receipt_number", path
    other = await queue.status(app["receipt_number"], headers=queue.auth("supervisor", office="BLT"))
    assert other.status_code == 403


async def test_public_look_ups_are_rate_limited_per_client(queue_make_harness: Any) -> None:
    async with queue_make_harness(queue_settings=QueueSettings(lookup_burst=3, lookup_per_minute=6)) as h:
        code, s = await h.office_with_slot()
        app = await h.booked(code, s["slot_id"])
        codes = [(await h.status(app["receipt_number"], "2000-01-01")).status_code for _ in range(4)]
        assert codes == [404, 404, 404, 429]
        limited = await h.status(app["receipt_number"], app["birth_date"])
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["code"] == "rate_limited"
        officer = await h.status(app["receipt_number"], headers=h.auth("customer_care", office=code))
        assert officer.status_code == 200


# --- cancellation -----------------------------------------------------------------------------------------------


async def test_applicant_cancels_and_the_place_goes_back(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    receipt = app["receipt_number"]
    wrong = await queue.client.post(f"/v1/applications/{receipt}/cancel", json={"birth_date": "1990-01-01"})
    assert wrong.status_code == 404 and await booked_count(queue, s["slot_id"]) == 1
    r = await queue.client.post(f"/v1/applications/{receipt}/cancel", json={"birth_date": app["birth_date"]})
    assert r.status_code == 200 and r.json()["status"] == "CANCELLED"
    assert await booked_count(queue, s["slot_id"]) == 0
    ev = await queue.event("queue.application.cancelled", receipt)
    assert ev.data.reason.value == "APPLICANT"
    again = await queue.client.post(f"/v1/applications/{receipt}/cancel", json={"birth_date": app["birth_date"]})
    assert again.status_code == 200 and await booked_count(queue, s["slot_id"]) == 0


async def test_cancel_after_check_in_is_refused(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.arrived(code, s["slot_id"])
    r = await queue.client.post(
        f"/v1/applications/{app['receipt_number']}/cancel", json={"birth_date": app["birth_date"]}
    )
    assert r.status_code == 409 and r.json()["code"] == "not_cancellable"


async def test_officer_cancels_with_reason_officer_and_it_is_audited(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    r = await queue.client.post(
        f"/v1/applications/{app['receipt_number']}/cancel",
        json={},
        headers=queue.auth("customer_care", office=code, sub="cs-1"),
    )
    assert r.status_code == 200
    ev = await queue.event("queue.application.cancelled", app["receipt_number"])
    assert ev.data.reason.value == "OFFICER"
    audit = (
        await queue.client.get(
            "/v1/audit", params={"receipt": app["receipt_number"]}, headers=queue.auth("supervisor", office=code)
        )
    ).json()
    assert [(a["action"], a["officer"]) for a in audit] == [("application.cancelled", "cs-1")]


# --- pickup ------------------------------------------------------------------------------------------------------


def issued(receipt: str, pickup_from: dt.date) -> PassportIssued:
    return PassportIssued(
        receipt_number=receipt,
        passport_number="X1234567",
        issued_at=dt.datetime(2026, 12, 3, 3, 0, tzinfo=dt.UTC),
        expires_at=dt.datetime(2036, 12, 3, 3, 0, tzinfo=dt.UTC),
        pickup_from=pickup_from,
    )


async def ready_for_pickup(queue: QueueHarness, *, pay: bool = True) -> tuple[str, dict[str, Any]]:
    code, s = await queue.office_with_slot()
    app = await queue.arrived(code, s["slot_id"], pay=pay, **({} if pay else {"priority_category": "PREGNANT"}))
    pickup_from = DAY0 + dt.timedelta(days=9)
    await queue.publish(issued(app["receipt_number"], pickup_from), source="sambang/simkim-gateway")
    view = await queue.wait_status(app["receipt_number"], "ISSUED")
    assert view["pickup_from"] == pickup_from.isoformat()
    return code, app


def take_pickup(queue: QueueHarness, code: str, app: dict[str, Any]) -> Any:
    return queue.client.post(
        f"/v1/offices/{code}/pickups",
        json={"receipt_number": app["receipt_number"], "birth_date": app["birth_date"]},
        headers=queue.auth("kiosk", office=code),
    )


async def test_pickup_ticket_only_from_pickup_from_and_twice_gives_the_same(queue: QueueHarness) -> None:
    code, app = await ready_for_pickup(queue)
    queue.set_local(DAY0 + dt.timedelta(days=8), 9)
    early = await take_pickup(queue, code, app)
    assert (
        early.status_code == 409 and early.json()["code"] == "not_ready" and early.json()["pickup_from"] == "2026-12-10"
    )
    queue.set_local(DAY0 + dt.timedelta(days=9), 9)
    r = await take_pickup(queue, code, app)
    assert r.status_code == 201 and r.json()["ticket"] == "C001" and r.json()["lane"] == "PICKUP"
    again = await take_pickup(queue, code, app)
    assert again.status_code == 200 and again.json()["pickup_id"] == r.json()["pickup_id"]
    called = await queue.client.post(
        f"/v1/offices/{code}/counters/9/call-next",
        json={"stage": "PICKUP"},
        headers=queue.auth("customer_care", office=code),
    )
    assert called.json()["ticket"] == "C001"


async def test_pickup_before_issuance_is_not_ready(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.arrived(code, s["slot_id"])
    r = await take_pickup(queue, code, app)
    assert r.status_code == 409 and r.json()["code"] == "not_ready"


async def test_hand_over_to_a_proxy_checks_identity_and_records_the_letter(queue: QueueHarness) -> None:
    code, app = await ready_for_pickup(queue)
    queue.set_local(DAY0 + dt.timedelta(days=9), 9)
    pickup_id = (await take_pickup(queue, code, app)).json()["pickup_id"]
    cs = queue.auth("customer_care", office=code, sub="cs-budi")
    url = f"/v1/pickups/{pickup_id}/hand-over"
    unchecked = await queue.client.post(url, json={"identity_checked": False, "collected_by": "SELF"}, headers=cs)
    assert unchecked.status_code == 422 and unchecked.json()["code"] == "identity_not_checked"
    no_proxy = await queue.client.post(url, json={"identity_checked": True, "collected_by": "PROXY"}, headers=cs)
    assert no_proxy.status_code == 422 and no_proxy.json()["code"] == "proxy_required"
    bad_nik = await queue.client.post(
        url,
        json={
            "identity_checked": True,
            "collected_by": "PROXY",
            "proxy": {"full_name": "Ani", "nik": "123", "letter_reference": "SK/1"},
        },
        headers=cs,
    )
    assert bad_nik.status_code == 422
    other = await queue.client.post(
        url, json={"identity_checked": True, "collected_by": "SELF"}, headers=queue.auth("customer_care", office="BLT")
    )
    assert other.status_code == 403
    proxy = {"full_name": "Ani <b>Wijaya</b>", "nik": "3505010101900002", "letter_reference": "SK-12/2026"}
    ok = await queue.client.post(
        url, json={"identity_checked": True, "collected_by": "PROXY", "proxy": proxy}, headers=cs
    )
    assert ok.status_code == 200, ok.text
    ev = await queue.event("queue.passport.collected", app["receipt_number"])
    assert (ev.data.collected_by.value, ev.data.officer_id, ev.data.passport_number) == ("PROXY", "cs-budi", "X1234567")
    assert (await queue.status(app["receipt_number"], app["birth_date"])).json()["status"] == "COLLECTED"
    twice = await queue.client.post(url, json={"identity_checked": True, "collected_by": "SELF"}, headers=cs)
    assert twice.status_code == 409 and twice.json()["code"] == "already_collected"
    audit = (
        await queue.client.get(
            "/v1/audit", params={"receipt": app["receipt_number"]}, headers=queue.auth("supervisor", office=code)
        )
    ).json()
    hand = [a for a in audit if a["action"] == "passport.handed_over"]
    assert hand[0]["officer"] == "cs-budi" and hand[0]["detail"]["letter_reference"] == "SK-12/2026"


async def test_hand_over_needs_the_payment(queue: QueueHarness) -> None:
    code, app = await ready_for_pickup(queue, pay=False)  # a priority applicant who never paid
    queue.set_local(DAY0 + dt.timedelta(days=9), 9)
    pickup_id = (await take_pickup(queue, code, app)).json()["pickup_id"]
    r = await queue.client.post(
        f"/v1/pickups/{pickup_id}/hand-over",
        json={"identity_checked": True, "collected_by": "SELF"},
        headers=queue.auth("customer_care", office=code),
    )
    assert r.status_code == 409 and r.json()["code"] == "not_paid"
    await queue.pay(app["receipt_number"])
    r = await queue.client.post(
        f"/v1/pickups/{pickup_id}/hand-over",
        json={"identity_checked": True, "collected_by": "SELF"},
        headers=queue.auth("customer_care", office=code),
    )
    assert r.status_code == 200
