"""Check-in at the kiosk or customer care, priority seats and walk-ins (API.md rows 10-11)."""

from __future__ import annotations

import asyncio
import datetime as dt

from conftest import DAY0, QueueHarness

TOMORROW = DAY0 + dt.timedelta(days=1)
ELDER = {"birth_date": "1950-02-03"}


async def test_paid_regular_applicant_checks_in_at_the_kiosk_and_gets_an_a_ticket(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.arrived(code, s["slot_id"])
    v = app["visit"]
    assert (v["ticket"], v["lane"], v["stage"], v["state"], v["seat"], v["position"]) == (
        "A001",
        "REGULAR",
        "VERIFICATION",
        "WAITING",
        None,
        1,
    )
    ev = await queue.event("queue.visit.checked_in", app["receipt_number"])
    assert ev.data.ticket == "A001" and ev.data.paid is True and ev.data.lane.value == "REGULAR"
    status = (await queue.status(app["receipt_number"], app["birth_date"])).json()
    assert status["status"] == "CHECKED_IN" and status["ticket"]["ticket"] == "A001"
    assert [t["step"] for t in status["timeline"]][-1] == "CHECKED_IN"


async def test_checking_in_twice_returns_the_same_ticket(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.arrived(code, s["slot_id"])
    again = await queue.check_in(code, app)
    assert again.status_code == 200 and again.json()["ticket"] == app["visit"]["ticket"]
    assert again.json()["visit_id"] == app["visit"]["visit_id"]
    assert len(queue.events("queue.visit.checked_in", app["receipt_number"])) <= 1


async def test_regular_lane_requires_payment(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    queue.set_local(TOMORROW, 8, 10)
    r = await queue.check_in(code, app)
    assert r.status_code == 409 and r.json()["code"] == "not_paid"


async def test_priority_applicant_checks_in_unpaid_with_a_p_ticket_and_a_seat(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(priority_seats=["S1", "S2"])
    apps = [
        await queue.booked(code, s["slot_id"], priority_category="ELDERLY", applicant=queue.applicant(**ELDER)),
        await queue.booked(code, s["slot_id"], priority_category="PREGNANT"),
        await queue.booked(code, s["slot_id"], priority_category="DISABLED"),
    ]
    queue.set_local(TOMORROW, 8, 10)
    first, second, third = [{**a, "visit": (await queue.check_in(code, a)).json()} for a in apps]
    assert [x["visit"]["ticket"] for x in (first, second, third)] == ["P001", "P002", "P003"]
    assert [x["visit"]["seat"] for x in (first, second, third)] == ["S1", "S2", None]  # seats ran out
    assert first["visit"]["lane"] == "PRIORITY" and first["visit"]["stage"] == "SAMBANG"
    ev = await queue.event("queue.visit.checked_in", first["receipt_number"])
    assert ev.data.seat == "S1" and ev.data.paid is False and ev.data.priority_category.value == "ELDERLY"


async def test_check_in_only_on_the_day_and_inside_the_window(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    await queue.pay(app["receipt_number"])
    for (day, hour, minute), expected in [
        ((DAY0, 9, 0), "not_today"),
        ((TOMORROW, 7, 29), "too_early"),
        ((TOMORROW, 13, 1), "too_late"),
        ((TOMORROW + dt.timedelta(days=1), 9, 0), "not_today"),
    ]:
        queue.set_local(day, hour, minute)
        r = await queue.check_in(code, app)
        assert (r.status_code, r.json()["code"]) == (409, expected)
    queue.set_local(TOMORROW, 7, 30)
    assert (await queue.check_in(code, app)).status_code == 201


async def test_office_settings_widen_the_check_in_window(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(checkin_early_minutes=120)
    app = await queue.booked(code, s["slot_id"])
    await queue.pay(app["receipt_number"])
    queue.set_local(TOMORROW, 6, 5)
    assert (await queue.check_in(code, app)).status_code == 201


async def test_kiosk_of_one_office_cannot_check_in_at_another(queue: QueueHarness) -> None:
    a, s = await queue.office_with_slot()
    b = await queue.office()
    app = await queue.booked(a, s["slot_id"])
    queue.set_local(TOMORROW, 8, 10)
    r = await queue.client.post(
        f"/v1/offices/{b}/check-ins",
        json={"receipt_number": app["receipt_number"], "birth_date": app["birth_date"]},
        headers=queue.auth("kiosk", office=a),
    )
    assert r.status_code == 403 and r.json()["code"] == "wrong_office"
    at_b = await queue.client.post(
        f"/v1/offices/{b}/check-ins",
        json={"receipt_number": app["receipt_number"]},
        headers=queue.auth("customer_care", office=b),
    )
    assert at_b.status_code == 409 and at_b.json()["code"] == "booked_at_other_office"


async def test_kiosk_needs_the_right_birth_date_and_cannot_set_a_category(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    await queue.pay(app["receipt_number"])
    queue.set_local(TOMORROW, 8, 10)
    kiosk = queue.auth("kiosk", office=code)
    wrong = await queue.client.post(
        f"/v1/offices/{code}/check-ins",
        json={"receipt_number": app["receipt_number"], "birth_date": "1991-05-17"},
        headers=kiosk,
    )
    assert wrong.status_code == 404 and wrong.json()["code"] == "application_not_found"
    missing = await queue.client.post(
        f"/v1/offices/{code}/check-ins", json={"receipt_number": app["receipt_number"]}, headers=kiosk
    )
    assert missing.status_code == 422 and missing.json()["code"] == "birth_date_required"
    category = await queue.check_in(code, app, priority_category="OTHER")
    assert category.status_code == 422 and category.json()["code"] == "priority_category_officer_only"
    bad_digit = await queue.client.post(
        f"/v1/offices/{code}/check-ins",
        json={
            "receipt_number": app["receipt_number"][:-1] + str((int(app["receipt_number"][-1]) + 1) % 10),
            "birth_date": app["birth_date"],
        },
        headers=kiosk,
    )
    assert bad_digit.status_code == 422 and bad_digit.json()["code"] == "invalid_receipt_number"
    assert (
        await queue.client.post(f"/v1/offices/{code}/check-ins", json={"receipt_number": app["receipt_number"]})
    ).status_code == 401


async def test_customer_care_sets_a_priority_category_on_sight(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])  # regular, unpaid
    queue.set_local(TOMORROW, 8, 10)
    r = await queue.client.post(
        f"/v1/offices/{code}/check-ins",
        json={"receipt_number": app["receipt_number"], "priority_category": "OTHER"},
        headers=queue.auth("customer_care", office=code, sub="cs-ani"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["lane"] == "PRIORITY" and r.json()["ticket"].startswith("P") and r.json()["seat"] == "P1"
    officer_view = (await queue.status(app["receipt_number"], headers=queue.auth("supervisor", office=code))).json()
    assert officer_view["priority_category"] == "OTHER"
    audit = (
        await queue.client.get(
            "/v1/audit", params={"receipt": app["receipt_number"]}, headers=queue.auth("supervisor", office=code)
        )
    ).json()
    assert [(a["action"], a["officer"]) for a in audit] == [
        ("visit.checked_in", "cs-ani"),
        ("application.viewed", "officer-1"),  # the supervisor's read just above
    ]


async def test_cancelled_application_cannot_check_in(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    await queue.client.post(f"/v1/applications/{app['receipt_number']}/cancel", json={"birth_date": app["birth_date"]})
    queue.set_local(TOMORROW, 8, 10)
    r = await queue.check_in(code, app)
    assert r.status_code == 409 and r.json()["code"] == "application_closed"


async def test_concurrent_check_ins_get_distinct_consecutive_tickets(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    apps = [await queue.booked(code, s["slot_id"]) for _ in range(15)]
    await asyncio.gather(*(queue.pay(a["receipt_number"]) for a in apps))
    queue.set_local(TOMORROW, 8, 10)
    results = await asyncio.gather(*(queue.check_in(code, a) for a in apps))
    assert all(r.status_code == 201 for r in results)
    assert sorted(r.json()["ticket"] for r in results) == [f"A{n:03d}" for n in range(1, 16)]


# --- walk-ins -------------------------------------------------------------------------------------------


def walk_in_body(queue: QueueHarness, **over: object) -> dict[str, object]:
    body: dict[str, object] = {
        "service_type": "RENEWAL",
        "passport_type": "ELECTRONIC",
        "priority_category": "ELDERLY",
        "applicant": queue.applicant(**ELDER),
    }
    body.update(over)
    return body


async def test_priority_walk_in_is_registered_and_checked_in_at_once(queue: QueueHarness) -> None:
    code = await queue.office()
    queue.set_local(DAY0, 9, 15)
    r = await queue.client.post(
        f"/v1/offices/{code}/walk-ins", json=walk_in_body(queue), headers=queue.auth("customer_care", office=code)
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["ticket"] == "P001" and body["seat"] == "P1" and body["lane"] == "PRIORITY"
    receipt = body["receipt_number"]
    registered = await queue.event("queue.application.registered", receipt)
    assert registered.data.walk_in is True and registered.data.slot.date == DAY0
    checked = await queue.event("queue.visit.checked_in", receipt)
    assert checked.data.paid is False
    officer_view = (await queue.status(receipt, headers=queue.auth("supervisor", office=code))).json()
    assert officer_view["status"] == "CHECKED_IN" and officer_view["walk_in"] is True
    assert officer_view["timeline"][0]["step"] == "WALK_IN_REGISTERED"


async def test_walk_in_is_for_priority_applicants_at_customer_care_only(queue: QueueHarness) -> None:
    code = await queue.office()
    cs = queue.auth("customer_care", office=code)
    regular = await queue.client.post(
        f"/v1/offices/{code}/walk-ins", json=walk_in_body(queue, priority_category="NONE"), headers=cs
    )
    assert regular.status_code == 422 and regular.json()["code"] == "priority_required"
    kiosk = await queue.client.post(
        f"/v1/offices/{code}/walk-ins", json=walk_in_body(queue), headers=queue.auth("kiosk", office=code)
    )
    assert kiosk.status_code == 403
    too_young = await queue.client.post(
        f"/v1/offices/{code}/walk-ins", json=walk_in_body(queue, applicant=queue.applicant()), headers=cs
    )
    assert too_young.status_code == 422 and too_young.json()["code"] == "priority_category_mismatch"
    worklist = await queue.client.get(
        f"/v1/offices/{code}/sambang/worklist", headers=queue.auth("sambang_officer", office=code)
    )
    assert worklist.json()["visits"] == []


async def test_walk_in_with_an_active_application_is_refused(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    applicant = queue.applicant(**ELDER)
    await queue.booked(code, s["slot_id"], applicant=applicant, priority_category="ELDERLY")
    r = await queue.client.post(
        f"/v1/offices/{code}/walk-ins",
        json=walk_in_body(queue, applicant=applicant),
        headers=queue.auth("customer_care", office=code),
    )
    assert r.status_code == 409 and r.json()["code"] == "active_application_exists"
