"""Sambang: the worklist of priority visits, exclusive claims, release, completion by capture events."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from conftest import DAY0, QueueHarness
from sambang_contracts import (
    CaptureCompleted,
    CaptureItem,
    CaptureItemKind,
    CaptureMode,
    InterviewCompleted,
    InterviewDecision,
)

TOMORROW = DAY0 + dt.timedelta(days=1)


async def priority_arrivals(
    queue: QueueHarness, code: str, slot_id: int, categories: list[str]
) -> list[dict[str, Any]]:
    apps = []
    for c in categories:
        applicant = queue.applicant(birth_date="1950-01-01") if c == "ELDERLY" else queue.applicant()
        apps.append(await queue.booked(code, slot_id, priority_category=c, applicant=applicant))
    queue.set_local(TOMORROW, 8, 0)
    out = []
    for a in apps:
        queue.clock.advance(minutes=2)
        r = await queue.check_in(code, a)
        assert r.status_code == 201, r.text
        out.append({**a, "visit": r.json()})
    return out


def claim(queue: QueueHarness, code: str, visit_id: str, sub: str = "tablet-1", action: str = "claim") -> Any:
    return queue.client.post(
        f"/v1/visits/{visit_id}/{action}", headers=queue.auth("sambang_officer", office=code, sub=sub)
    )


def capture_done(receipt: str, at: dt.datetime) -> CaptureCompleted:
    return CaptureCompleted(
        receipt_number=receipt,
        mode=CaptureMode.SAMBANG,
        officer_id="tablet-1",
        items=[CaptureItem(kind=CaptureItemKind.PHOTO, sha256="a" * 64, bytes=1000, quality=80)],
        completed_at=at,
    )


def interview_done(
    receipt: str, at: dt.datetime, decision: InterviewDecision = InterviewDecision.APPROVED
) -> InterviewCompleted:
    return InterviewCompleted(
        receipt_number=receipt, decision=decision, officer_id="tablet-1", mode=CaptureMode.SAMBANG, completed_at=at
    )


async def test_worklist_shows_waiting_priority_visits_first_come_first_served(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    apps = await priority_arrivals(queue, code, s["slot_id"], ["PREGNANT", "ELDERLY", "DISABLED"])
    queue.set_local(TOMORROW, 8, 20)
    r = await queue.client.get(
        f"/v1/offices/{code}/sambang/worklist", headers=queue.auth("sambang_officer", office=code)
    )
    assert r.status_code == 200
    items = r.json()["visits"]
    assert [(i["ticket"], i["seat"], i["priority_category"], i["minutes_waited"], i["claimed_by"]) for i in items] == [
        ("P001", "P1", "PREGNANT", 18, None),
        ("P002", "P2", "ELDERLY", 16, None),
        ("P003", "P3", "DISABLED", 14, None),
    ]
    assert items[0]["visit_id"] == apps[0]["visit"]["visit_id"]
    other = await queue.client.get(
        f"/v1/offices/{code}/sambang/worklist", headers=queue.auth("sambang_officer", office="BLT")
    )
    assert other.status_code == 403
    verifier = await queue.client.get(
        f"/v1/offices/{code}/sambang/worklist", headers=queue.auth("verifier", office=code)
    )
    assert verifier.status_code == 403


async def test_claim_is_exclusive_and_a_second_officer_gets_already_claimed(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    (app,) = await priority_arrivals(queue, code, s["slot_id"], ["PREGNANT"])
    vid = app["visit"]["visit_id"]
    first = await claim(queue, code, vid, "tablet-1")
    assert (
        first.status_code == 200 and first.json()["claimed_by"] == "tablet-1" and first.json()["state"] == "IN_SERVICE"
    )
    second = await claim(queue, code, vid, "tablet-2")
    assert (
        second.status_code == 409
        and second.json()["code"] == "already_claimed"
        and second.json()["claimed_by"] == "tablet-1"
    )
    again = await claim(queue, code, vid, "tablet-1")
    assert again.status_code == 200
    ev = await queue.event("queue.sambang.claimed", app["receipt_number"])
    assert (ev.data.officer_id, ev.data.seat) == ("tablet-1", "P1")
    assert len(queue.events("queue.sambang.claimed", app["receipt_number"])) == 1
    status = (await queue.status(app["receipt_number"], app["birth_date"])).json()
    assert status["status"] == "IN_SERVICE" and status["timeline"][-1]["step"] == "OFFICER_ON_THE_WAY"


async def test_two_officers_claiming_one_visit_at_once_one_wins(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    (app,) = await priority_arrivals(queue, code, s["slot_id"], ["DISABLED"])
    vid = app["visit"]["visit_id"]
    results = await asyncio.gather(*(claim(queue, code, vid, f"tablet-{n}") for n in range(8)))
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * 7
    assert all(r.json()["code"] == "already_claimed" for r in results if r.status_code == 409)


async def test_officer_of_another_office_cannot_claim(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    (app,) = await priority_arrivals(queue, code, s["slot_id"], ["PREGNANT"])
    r = await queue.client.post(
        f"/v1/visits/{app['visit']['visit_id']}/claim", headers=queue.auth("sambang_officer", office="BLT")
    )
    assert r.status_code == 403 and r.json()["code"] == "wrong_office"
    assert (
        await queue.client.post("/v1/visits/unknown/claim", headers=queue.auth("sambang_officer", office=code))
    ).status_code == 404


async def test_regular_visit_is_not_claimable(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.arrived(code, s["slot_id"])
    r = await claim(queue, code, app["visit"]["visit_id"])
    assert r.status_code == 409 and r.json()["code"] == "not_claimable"


async def test_release_gives_the_visit_back_keeping_its_place(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    apps = await priority_arrivals(queue, code, s["slot_id"], ["PREGNANT", "DISABLED"])
    vid = apps[0]["visit"]["visit_id"]
    await claim(queue, code, vid, "tablet-1")
    not_mine = await claim(queue, code, vid, "tablet-2", action="release")
    assert not_mine.status_code == 409 and not_mine.json()["code"] == "not_claimed_by_you"
    released = await claim(queue, code, vid, "tablet-1", action="release")
    assert released.status_code == 200 and released.json()["claimed_by"] is None
    items = (
        await queue.client.get(
            f"/v1/offices/{code}/sambang/worklist", headers=queue.auth("sambang_officer", office=code)
        )
    ).json()["visits"]
    assert items[0]["visit_id"] == vid and items[0]["claimed_by"] is None
    assert (await claim(queue, code, vid, "tablet-2")).status_code == 200


async def test_visit_completes_when_capture_and_interview_are_done_in_any_order_and_frees_the_seat(
    queue: QueueHarness,
) -> None:
    code, s = await queue.office_with_slot(priority_seats=["P1"])
    first, second = await priority_arrivals(queue, code, s["slot_id"], ["PREGNANT", "DISABLED"])
    assert (first["visit"]["seat"], second["visit"]["seat"]) == ("P1", None)
    vid = first["visit"]["visit_id"]
    await claim(queue, code, vid)  # first checked in at 08:02, claimed at 08:04
    queue.clock.advance(minutes=20)
    receipt = first["receipt_number"]
    interview = await queue.publish(interview_done(receipt, queue.clock()), source="sambang/capture")
    # The interview alone does not end the visit.
    await queue.assert_absent_after(interview, "queue.visit.completed", receipt)
    await queue.publish(capture_done(receipt, queue.clock()), source="sambang/capture")
    ev = await queue.event("queue.visit.completed", receipt)
    assert ev.data.visit_id == vid and ev.data.waited_seconds == 2 * 60 and ev.data.served_seconds == 20 * 60
    await queue.wait_status(receipt, "IN_PROCESS")
    items = (
        await queue.client.get(
            f"/v1/offices/{code}/sambang/worklist", headers=queue.auth("sambang_officer", office=code)
        )
    ).json()["visits"]
    assert [i["visit_id"] for i in items] == [second["visit"]["visit_id"]]
    # The seat is free again for the next priority arrival.
    r = await queue.client.post(
        f"/v1/offices/{code}/walk-ins",
        json={
            "service_type": "NEW",
            "passport_type": "REGULAR",
            "priority_category": "PREGNANT",
            "applicant": queue.applicant(),
        },
        headers=queue.auth("customer_care", office=code),
    )
    assert r.json()["seat"] == "P1"


async def test_rejection_at_interview_ends_the_visit_and_the_application(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    (app,) = await priority_arrivals(queue, code, s["slot_id"], ["PREGNANT"])
    await claim(queue, code, app["visit"]["visit_id"])
    await queue.publish(
        interview_done(app["receipt_number"], queue.clock(), InterviewDecision.REJECTED), source="sambang/capture"
    )
    await queue.event("queue.visit.completed", app["receipt_number"])
    await queue.wait_status(app["receipt_number"], "REJECTED")
