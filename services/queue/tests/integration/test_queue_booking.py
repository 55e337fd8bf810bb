"""Offices, slots and pre-applications on PostgreSQL + RabbitMQ: API.md queue rows 1-7."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from conftest import DAY0, QueueHarness, random_nik, unique_office_code
from sambang_queue.models import application, idempotency_record, slot
from sambang_queue.stores.applications import nik_hash
from sqlalchemy import func, select

TOMORROW = DAY0 + dt.timedelta(days=1)


async def count_applications(queue: QueueHarness, code: str) -> int:
    async with queue.runtime.engine.connect() as conn:
        return int(
            (
                await conn.execute(select(func.count()).select_from(application).where(application.c.office == code))
            ).scalar_one()
        )


async def slot_row(queue: QueueHarness, slot_id: int) -> Any:
    async with queue.runtime.engine.connect() as conn:
        return (await conn.execute(select(slot).where(slot.c.id == slot_id))).one()


# --- offices and settings ---------------------------------------------------------------------------------


async def test_office_is_created_listed_and_published_with_default_settings(queue: QueueHarness) -> None:
    code = await queue.office()
    listed = (await queue.client.get("/v1/offices")).json()
    assert {"code": code, "name": f"Kantor Imigrasi {code}", "timezone": "Asia/Jakarta"} in listed
    got = await queue.client.get(f"/v1/offices/{code}/settings", headers=queue.auth("supervisor", office=code))
    assert got.status_code == 200
    assert got.json()["settings"]["booking_window_days"] == 30
    assert got.json()["settings"]["priority_seats"][:2] == ["P1", "P2"]
    ev = await queue.event("queue.office.updated", where=lambda e: e.data.office == code)
    assert ev.data.settings.pickup_working_days == 5 and ev.data.timezone == "Asia/Jakarta"


async def test_settings_change_is_stored_validated_and_published(queue: QueueHarness) -> None:
    code = await queue.office()
    admin = queue.auth("admin", office=code)
    r = await queue.client.put(
        f"/v1/offices/{code}/settings",
        json={"settings": {"booking_window_days": 14, "priority_seats": ["K1"]}},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == f"Kantor Imigrasi {code}"  # kept when not given
    ev = await queue.event(
        "queue.office.updated", where=lambda e: e.data.office == code and e.data.settings.booking_window_days == 14
    )
    assert ev.data.settings.priority_seats == ["K1"]
    bad = await queue.client.put(
        f"/v1/offices/{code}/settings", json={"settings": {"booking_window_days": 0}}, headers=admin
    )
    assert bad.status_code == 422
    got = await queue.client.get(f"/v1/offices/{code}/settings", headers=queue.auth("supervisor", office=code))
    assert got.json()["settings"]["booking_window_days"] == 14


async def test_settings_need_an_admin_of_the_office_and_a_known_time_zone(queue: QueueHarness) -> None:
    code = unique_office_code()
    body = {"name": "X", "timezone": "Asia/Jakarta"}
    assert (await queue.client.put(f"/v1/offices/{code}/settings", json=body)).status_code == 401
    sup = await queue.client.put(
        f"/v1/offices/{code}/settings", json=body, headers=queue.auth("supervisor", office=code)
    )
    assert sup.status_code == 403
    other = await queue.client.put(f"/v1/offices/{code}/settings", json=body, headers=queue.auth("admin", office="BLT"))
    assert other.json()["code"] == "wrong_office"
    tz = await queue.client.put(
        f"/v1/offices/{code}/settings",
        json={"name": "X", "timezone": "Mars/Olympus"},
        headers=queue.auth("admin", office=code),
    )
    assert tz.status_code == 422 and tz.json()["code"] == "invalid_timezone"
    nameless = await queue.client.put(f"/v1/offices/{code}/settings", json={}, headers=queue.auth("admin", office=code))
    assert nameless.json()["code"] == "office_name_required"
    read = await queue.client.get(f"/v1/offices/{code}/settings", headers=queue.auth("verifier", office=code))
    assert read.status_code == 403


# --- slots ---------------------------------------------------------------------------------------------------


async def test_slot_plan_creates_sessions_on_weekdays_skipping_holidays_and_is_idempotent(queue: QueueHarness) -> None:
    code = await queue.office()
    plan = {
        "date_from": "2026-12-21",
        "date_to": "2026-12-27",
        "weekdays": [1, 2, 3, 4, 5],
        "sessions": [{"start": "08:00", "end": "12:00", "quota": 90}, {"start": "13:00", "end": "15:00", "quota": 50}],
    }
    sup = queue.auth("supervisor", office=code)
    r = await queue.client.put(f"/v1/offices/{code}/slots", json=plan, headers=sup)
    assert r.status_code == 200, r.text
    assert r.json() == {"created": 8, "updated": 0, "unchanged": 0, "skipped_holidays": ["2026-12-25"]}
    again = await queue.client.put(f"/v1/offices/{code}/slots", json=plan, headers=sup)
    assert again.json()["created"] == 0 and again.json()["unchanged"] == 8
    listed = (
        await queue.client.get(f"/v1/offices/{code}/slots", params={"from": "2026-12-21", "to": "2026-12-27"})
    ).json()
    assert len(listed) == 8
    assert {s["date"] for s in listed} == {"2026-12-21", "2026-12-22", "2026-12-23", "2026-12-24"}
    assert listed[0] | {"slot_id": 0} == {
        "slot_id": 0,
        "date": "2026-12-21",
        "start": "08:00:00",
        "end": "12:00:00",
        "quota": 90,
        "available": 90,
        "bookable": True,
    }


async def test_quota_can_change_but_never_below_what_is_booked(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(quota=3)
    for _ in range(2):
        await queue.booked(code, s["slot_id"])
    sup = queue.auth("supervisor", office=code)
    plan = {"date_from": TOMORROW.isoformat(), "date_to": TOMORROW.isoformat(), "weekdays": [1, 2, 3, 4, 5, 6, 7]}
    low = await queue.client.put(
        f"/v1/offices/{code}/slots",
        json={**plan, "sessions": [{"start": "08:00", "end": "12:00", "quota": 1}]},
        headers=sup,
    )
    assert low.status_code == 409 and low.json()["code"] == "quota_below_booked"
    assert (await slot_row(queue, s["slot_id"])).quota == 3
    ok = await queue.client.put(
        f"/v1/offices/{code}/slots",
        json={**plan, "sessions": [{"start": "08:00", "end": "12:00", "quota": 2}]},
        headers=sup,
    )
    assert ok.json()["updated"] == 1
    listed = await queue.client.get(
        f"/v1/offices/{code}/slots", params={"from": TOMORROW.isoformat(), "to": TOMORROW.isoformat()}
    )
    assert listed.json()[0]["available"] == 0 and listed.json()[0]["bookable"] is False


@pytest.mark.parametrize(
    "plan",
    [
        {"date_from": "2026-11-30", "date_to": "2026-12-02"},  # starts in the past
        {"date_from": "2026-12-05", "date_to": "2026-12-02"},  # backwards
        {"weekdays": [0]},
        {"sessions": [{"start": "12:00", "end": "08:00", "quota": 5}]},
        {"sessions": [{"start": "08:00", "end": "12:00", "quota": -1}]},
        {"sessions": [{"start": "08:00", "end": "12:00", "quota": 5}, {"start": "11:00", "end": "13:00", "quota": 5}]},
        {"date_from": "2026-12-02", "date_to": "2028-01-01"},
    ],
)
async def test_bad_slot_plan_is_refused_and_creates_nothing(queue: QueueHarness, plan: dict[str, Any]) -> None:
    code = await queue.office()
    body = {
        "date_from": "2026-12-02",
        "date_to": "2026-12-04",
        "weekdays": [1, 2, 3, 4, 5],
        "sessions": [{"start": "08:00", "end": "12:00", "quota": 10}],
        **plan,
    }
    r = await queue.client.put(f"/v1/offices/{code}/slots", json=body, headers=queue.auth("supervisor", office=code))
    assert r.status_code == 422, r.text
    listed = await queue.client.get(f"/v1/offices/{code}/slots", params={"from": "2026-12-01", "to": "2026-12-31"})
    assert listed.json() == []


async def test_slot_plan_needs_the_office_supervisor(queue: QueueHarness) -> None:
    code = await queue.office()
    plan = {
        "date_from": "2026-12-02",
        "date_to": "2026-12-02",
        "sessions": [{"start": "08:00", "end": "12:00", "quota": 1}],
    }
    assert (
        await queue.client.put(f"/v1/offices/{code}/slots", json=plan, headers=queue.auth("verifier", office=code))
    ).status_code == 403
    r = await queue.client.put(f"/v1/offices/{code}/slots", json=plan, headers=queue.auth("supervisor", office="BLT"))
    assert r.json()["code"] == "wrong_office"


# --- booking --------------------------------------------------------------------------------------------------


async def test_booking_gives_a_valid_receipt_and_publishes_the_registration(queue: QueueHarness) -> None:
    from sambang_contracts.values import parse_receipt_number

    code, s = await queue.office_with_slot()
    applicant = queue.applicant()
    r = await queue.book(code, s["slot_id"], applicant=applicant, priority_category="PREGNANT")
    assert r.status_code == 201, r.text
    body = r.json()
    parts = parse_receipt_number(body["receipt_number"])
    assert parts.office == code and parts.registered_on == DAY0
    assert body["status"] == "BOOKED" and body["lane"] == "PRIORITY"
    assert body["slot"] == {
        "slot_id": s["slot_id"],
        "date": TOMORROW.isoformat(),
        "start": "08:00:00",
        "end": "12:00:00",
    }
    ev = await queue.event("queue.application.registered", body["receipt_number"])
    assert ev.data.applicant.nik == applicant["nik"] and ev.data.walk_in is False
    assert ev.data.slot.date == TOMORROW and ev.office == code
    assert (await slot_row(queue, s["slot_id"])).booked == 1


async def test_personal_data_is_encrypted_at_rest(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"], applicant=queue.applicant(full_name="Budi Santoso"))
    async with queue.runtime.engine.connect() as conn:
        row = (
            await conn.execute(select(application).where(application.c.receipt_number == app["receipt_number"]))
        ).one()
    stored = " ".join(str(v) for v in row)
    assert app["nik"] not in stored and "Budi" not in stored and "1990-05-17" not in stored
    assert row.nik_hash == nik_hash(queue.runtime.cipher, app["nik"])


async def test_names_with_quotes_sql_and_html_are_stored_and_returned_verbatim(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    name = "Robert'); DROP TABLE application;-- <script>alert(\"x\")</script> O'Neil & Sons"
    app = await queue.booked(code, s["slot_id"], applicant=queue.applicant(full_name=name))
    got = await queue.status(app["receipt_number"], app["birth_date"])
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    assert got.json()["applicant"]["full_name"] == name
    assert await count_applications(queue, code) == 1


async def test_one_active_application_per_nik(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    applicant = queue.applicant()
    await queue.booked(code, s["slot_id"], applicant=applicant)
    second = await queue.book(code, s["slot_id"], applicant={**applicant, "full_name": "Someone Else"})
    assert second.status_code == 409 and second.json()["code"] == "active_application_exists"
    assert (await slot_row(queue, s["slot_id"])).booked == 1
    # Another office, same NIK: still one active application in the whole service.
    other, s2 = await queue.office_with_slot()
    third = await queue.book(other, s2["slot_id"], applicant=applicant)
    assert third.json()["code"] == "active_application_exists"


async def test_concurrent_bookings_of_one_nik_create_one_application(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    applicant = queue.applicant()
    results = await asyncio.gather(*(queue.book(code, s["slot_id"], applicant=applicant) for _ in range(10)))
    assert sorted(r.status_code for r in results) == [201] + [409] * 9
    assert (await slot_row(queue, s["slot_id"])).booked == 1


async def test_after_cancelling_the_nik_may_book_again(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    applicant = queue.applicant()
    first = await queue.booked(code, s["slot_id"], applicant=applicant)
    r = await queue.client.post(
        f"/v1/applications/{first['receipt_number']}/cancel", json={"birth_date": first["birth_date"]}
    )
    assert r.status_code == 200
    assert (await queue.book(code, s["slot_id"], applicant=applicant)).status_code == 201


async def test_full_slot_answers_slot_full_and_changes_nothing(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(quota=1)
    await queue.booked(code, s["slot_id"])
    r = await queue.book(code, s["slot_id"])
    assert r.status_code == 409 and r.json()["code"] == "slot_full"
    assert await count_applications(queue, code) == 1


async def test_five_hundred_concurrent_bookings_never_oversell_a_quota_of_one_hundred(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(quota=100)
    sem = asyncio.Semaphore(100)

    async def attempt() -> Any:
        async with sem:
            return await queue.book(code, s["slot_id"])

    results = await asyncio.gather(*(attempt() for _ in range(500)))
    created = [r for r in results if r.status_code == 201]
    full = [r for r in results if r.status_code == 409 and r.json()["code"] == "slot_full"]
    assert len(created) == 100 and len(full) == 400
    assert len({r.json()["receipt_number"] for r in created}) == 100
    row = await slot_row(queue, s["slot_id"])
    assert row.booked == 100 == row.quota
    assert await count_applications(queue, code) == 100


async def test_idempotency_key_replays_the_same_answer_and_books_once(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    body = queue.booking(code, s["slot_id"])
    key = {"Idempotency-Key": f"k-{random_nik()}"}
    first = await queue.client.post("/v1/applications", json=body, headers=key)
    again = await queue.client.post("/v1/applications", json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert await count_applications(queue, code) == 1
    changed = await queue.client.post("/v1/applications", json={**body, "passport_type": "REGULAR"}, headers=key)
    assert changed.status_code == 422 and changed.json()["code"] == "idempotency_key_reused"
    assert await count_applications(queue, code) == 1


async def test_concurrent_retries_with_one_idempotency_key_book_once(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    body = queue.booking(code, s["slot_id"])
    key = {"Idempotency-Key": f"k-{random_nik()}"}
    results = await asyncio.gather(*(queue.client.post("/v1/applications", json=body, headers=key) for _ in range(5)))
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["receipt_number"] for r in results}) == 1
    assert await count_applications(queue, code) == 1
    async with queue.runtime.engine.connect() as conn:
        assert (
            await conn.execute(
                select(func.count())
                .select_from(idempotency_record)
                .where(idempotency_record.c.key == key["Idempotency-Key"])
            )
        ).scalar_one() == 1


async def test_idempotency_key_must_be_sane(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    r = await queue.book(code, s["slot_id"], headers={"Idempotency-Key": "x" * 201})
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_invalid"
    assert await count_applications(queue, code) == 0


# --- family groups ------------------------------------------------------------------------------------------------


def member(queue: QueueHarness, **over: Any) -> dict[str, Any]:
    body = {
        "service_type": "NEW",
        "passport_type": "ELECTRONIC",
        "priority_category": "NONE",
        "applicant": queue.applicant(),
    }
    body.update(over)
    return body


async def test_family_of_five_books_one_slot_together_each_with_a_receipt(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(quota=5)
    members = [member(queue) for _ in range(4)] + [
        member(queue, priority_category="CHILD", applicant=queue.applicant(birth_date="2024-03-01"))
    ]
    r = await queue.client.post(
        "/v1/application-groups", json={"office": code, "slot_id": s["slot_id"], "members": members}
    )
    assert r.status_code == 201, r.text
    receipts = r.json()["receipt_numbers"]
    assert len(set(receipts)) == 5 and r.json()["group_id"]
    assert (await slot_row(queue, s["slot_id"])).booked == 5
    for receipt in receipts:
        await queue.event("queue.application.registered", receipt)


async def test_family_gets_places_for_all_or_for_none(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(quota=4)
    await queue.booked(code, s["slot_id"])  # 3 places left for a family of 4
    members = [member(queue) for _ in range(4)]
    r = await queue.client.post(
        "/v1/application-groups", json={"office": code, "slot_id": s["slot_id"], "members": members}
    )
    assert r.status_code == 409 and r.json()["code"] == "slot_full"
    assert (await slot_row(queue, s["slot_id"])).booked == 1
    assert await count_applications(queue, code) == 1


async def test_family_with_one_active_nik_books_nobody_and_says_who(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    busy = queue.applicant()
    await queue.booked(code, s["slot_id"], applicant=busy)
    members = [member(queue), member(queue, applicant=busy)]
    r = await queue.client.post(
        "/v1/application-groups", json={"office": code, "slot_id": s["slot_id"], "members": members}
    )
    assert r.status_code == 409 and r.json()["code"] == "active_application_exists" and r.json()["members"] == [1]
    assert await count_applications(queue, code) == 1


@pytest.mark.parametrize("size", [0, 6])
async def test_family_must_have_one_to_five_members(queue: QueueHarness, size: int) -> None:
    code, s = await queue.office_with_slot()
    members = [member(queue) for _ in range(size)]
    r = await queue.client.post(
        "/v1/application-groups", json={"office": code, "slot_id": s["slot_id"], "members": members}
    )
    assert r.status_code == 422
    assert await count_applications(queue, code) == 0


async def test_family_with_the_same_nik_twice_is_refused(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    twin = queue.applicant()
    members = [member(queue, applicant=twin), member(queue, applicant={**twin, "full_name": "Twin"})]
    r = await queue.client.post(
        "/v1/application-groups", json={"office": code, "slot_id": s["slot_id"], "members": members}
    )
    assert r.status_code == 422 and r.json()["code"] == "duplicate_nik_in_group"


# --- bad input: a clear 4xx and nothing changed ---------------------------------------------------------------------

BAD_BOOKINGS: list[tuple[str, dict[str, Any], str]] = [
    ("nik_15_digits", {"applicant": {"nik": "350101010190000"}}, "validation_failed"),
    ("nik_letters", {"applicant": {"nik": "35010101019000AB"}}, "validation_failed"),
    ("birth_date_future", {"applicant": {"birth_date": "2027-01-01"}}, "birth_date_in_future"),
    ("unknown_service_type", {"service_type": "TOURIST"}, "validation_failed"),
    ("unknown_passport_type", {"passport_type": "DIPLOMATIC"}, "validation_failed"),
    ("unknown_priority", {"priority_category": "VIP"}, "validation_failed"),
    ("unknown_language", {"applicant": {"language": "fr"}}, "validation_failed"),
    ("name_too_long", {"applicant": {"full_name": "A" * 201}}, "validation_failed"),
    ("name_empty", {"applicant": {"full_name": ""}}, "validation_failed"),
    ("name_control_chars", {"applicant": {"full_name": "Siti\x00Aminah"}}, "validation_failed"),
    ("email_too_long", {"applicant": {"email": "a" * 250 + "@x.id"}}, "validation_failed"),
    ("email_malformed", {"applicant": {"email": "not-an-email"}}, "validation_failed"),
    ("phone_too_long", {"applicant": {"phone": "0" * 33}}, "validation_failed"),
    ("unknown_field", {"priority_catgory": "ELDERLY"}, "validation_failed"),
    ("elderly_too_young", {"priority_category": "ELDERLY"}, "priority_category_mismatch"),
    ("other_by_applicant", {"priority_category": "OTHER"}, "priority_category_officer_only"),
    ("office_lowercase", {"office": "blt"}, "validation_failed"),
    ("slot_unknown", {"slot_id": 999_999_999}, "slot_not_found"),
]


@pytest.mark.parametrize(("case", "change", "code"), BAD_BOOKINGS, ids=[c[0] for c in BAD_BOOKINGS])
async def test_bad_booking_is_refused_clearly_and_changes_nothing(
    queue: QueueHarness, case: str, change: dict[str, Any], code: str
) -> None:
    office_code, s = await queue.office_with_slot()
    body = queue.booking(office_code, s["slot_id"])
    for key, value in change.items():
        if key == "applicant":
            body["applicant"] = {**body["applicant"], **value}
        else:
            body[key] = value
    r = await queue.client.post("/v1/applications", json=body)
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code
    assert await count_applications(queue, office_code) == 0
    assert (await slot_row(queue, s["slot_id"])).booked == 0


async def test_slot_in_the_past_or_outside_the_window_is_refused(queue: QueueHarness) -> None:
    code = await queue.office()
    slots = await queue.slots(code, TOMORROW, [("08:00", "12:00", 5)], until=DAY0 + dt.timedelta(days=40))
    late = next(x for x in slots if x["date"] == (DAY0 + dt.timedelta(days=32)).isoformat())
    r = await queue.book(code, late["slot_id"])
    assert r.status_code == 422 and r.json()["code"] == "outside_booking_window"
    first = slots[0]
    queue.set_local(TOMORROW + dt.timedelta(days=1), 7)  # the slot is now in the past
    r = await queue.book(code, first["slot_id"])
    assert r.json()["code"] == "outside_booking_window"
    queue.set_local(TOMORROW, 7)  # today: the first bookable day is tomorrow
    assert (await queue.book(code, first["slot_id"])).json()["code"] == "outside_booking_window"
    assert await count_applications(queue, code) == 0


async def test_slot_of_another_office_is_refused(queue: QueueHarness) -> None:
    a, _ = await queue.office_with_slot()
    _, slot_b = await queue.office_with_slot()
    r = await queue.book(a, slot_b["slot_id"])
    assert r.status_code == 422 and r.json()["code"] == "slot_of_other_office"
    assert await count_applications(queue, a) == 0
    assert (await slot_row(queue, slot_b["slot_id"])).booked == 0


async def test_problem_details_speak_the_requested_language(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(quota=0)
    en = await queue.book(code, s["slot_id"], headers={"Accept-Language": "en"})
    assert en.json()["detail"] == "The slot is full"
    indonesian = await queue.book(code, s["slot_id"])
    assert indonesian.json()["detail"] == "Kuota jadwal sudah penuh"
