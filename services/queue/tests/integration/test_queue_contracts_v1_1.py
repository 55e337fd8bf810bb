"""Contracts v1.1 on PostgreSQL + RabbitMQ: passport validity and express on the booking, and the
events queue.sambang.released, queue.ticket.transferred, queue.ticket.near_turn, a no-show at the seat."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from conftest import DAY0, QueueHarness
from sambang_queue.models import application, near_turn_notice
from sqlalchemy import select
from test_queue_counters import arrivals, call, ticket_action
from test_queue_sambang import claim, priority_arrivals

TOMORROW = DAY0 + dt.timedelta(days=1)
#: 17 on the day after the appointment (2026-12-03): 16 on the appointment day.
SIXTEEN = "2009-12-03"


async def stored(queue: QueueHarness, receipt: str) -> Any:
    async with queue.runtime.engine.connect() as conn:
        return (
            await conn.execute(
                select(application.c.validity_years, application.c.express).where(
                    application.c.receipt_number == receipt
                )
            )
        ).one()


# --- validity and express -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "married", "asked", "express", "validity"),
    [
        ("1990-05-17", None, None, None, 10),  # an adult by default: 10 years
        ("2009-12-02", None, None, None, 10),  # 17 on the appointment day
        (SIXTEEN, None, None, True, 5),  # 16: 5 years by default
        (SIXTEEN, True, None, None, 10),  # 16 and married: 10 by default
        (SIXTEEN, True, 5, None, 5),  # anyone may choose 5
        ("1990-05-17", False, 5, True, 5),
    ],
)
async def test_booking_settles_the_passport_validity_and_publishes_it_with_express(
    queue: QueueHarness,
    birth_date: str,
    married: bool | None,
    asked: int | None,
    express: bool | None,
    validity: int,
) -> None:
    code, s = await queue.office_with_slot()
    applicant = queue.applicant(birth_date=birth_date)
    if married is not None:
        applicant["married"] = married
    extra: dict[str, Any] = {}
    if asked is not None:
        extra["validity_years"] = asked
    if express is not None:
        extra["express"] = express
    app = await queue.booked(code, s["slot_id"], applicant=applicant, **extra)
    receipt = app["receipt_number"]
    ev = await queue.event("queue.application.registered", receipt)
    assert (ev.data.validity_years, ev.data.express) == (validity, bool(express))
    assert tuple(await stored(queue, receipt)) == (validity, bool(express))
    view = (await queue.status(receipt, birth_date)).json()
    assert (view["validity_years"], view["express"]) == (validity, bool(express))
    assert "married" not in ev.model_dump_json()


async def test_ten_years_below_seventeen_unmarried_is_refused_and_books_nothing(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    r = await queue.book(code, s["slot_id"], applicant=queue.applicant(birth_date=SIXTEEN), validity_years=10)
    assert r.status_code == 422 and r.json()["code"] == "validity_years_not_allowed"
    assert r.headers["content-type"].startswith("application/problem+json")
    en = await queue.book(
        code,
        s["slot_id"],
        applicant=queue.applicant(birth_date=SIXTEEN),
        validity_years=10,
        headers={"Accept-Language": "en"},
    )
    assert en.json()["detail"] == "A 10-year passport needs the applicant to be 17 or older, or married"
    family = [
        {"service_type": "NEW", "passport_type": "ELECTRONIC", "applicant": queue.applicant()},
        {
            "service_type": "NEW",
            "passport_type": "ELECTRONIC",
            "validity_years": 10,
            "applicant": queue.applicant(birth_date=SIXTEEN),
        },
    ]
    group = await queue.client.post(
        "/v1/application-groups", json={"office": code, "slot_id": s["slot_id"], "members": family}
    )
    assert group.status_code == 422 and group.json()["code"] == "validity_years_not_allowed"
    listed = await queue.client.get(
        f"/v1/offices/{code}/slots", params={"from": TOMORROW.isoformat(), "to": TOMORROW.isoformat()}
    )
    assert listed.json()[0]["available"] == s["available"]


@pytest.mark.parametrize("value", [7, 0, "ten"])
async def test_validity_is_five_or_ten_years(queue: QueueHarness, value: Any) -> None:
    code, s = await queue.office_with_slot()
    r = await queue.book(code, s["slot_id"], validity_years=value)
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"


async def test_walk_in_settles_the_validity_on_the_day_it_comes(queue: QueueHarness) -> None:
    code = await queue.office()
    queue.set_local(DAY0, 9)
    r = await queue.client.post(
        f"/v1/offices/{code}/walk-ins",
        json={
            "service_type": "NEW",
            "passport_type": "REGULAR",
            "priority_category": "CHILD",
            "express": True,
            "applicant": queue.applicant(birth_date="2024-03-01"),
        },
        headers=queue.auth("customer_care", office=code),
    )
    assert r.status_code == 201, r.text
    ev = await queue.event("queue.application.registered", r.json()["receipt_number"])
    assert (ev.data.walk_in, ev.data.validity_years, ev.data.express) == (True, 5, True)


# --- sambang: release, a claim without a seat, a no-show at the seat ----------------------------------


async def test_release_publishes_sambang_released(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    (app,) = await priority_arrivals(queue, code, s["slot_id"], ["PREGNANT"])
    vid = app["visit"]["visit_id"]
    await claim(queue, code, vid, "tablet-1")
    assert (await claim(queue, code, vid, "tablet-2", action="release")).status_code == 409
    assert (await claim(queue, code, vid, "tablet-1", action="release")).status_code == 200
    ev = await queue.event("queue.sambang.released", app["receipt_number"])
    assert (ev.data.visit_id, ev.data.officer_id) == (vid, "tablet-1")
    assert len(queue.events("queue.sambang.released", app["receipt_number"])) == 1


async def test_claim_of_an_applicant_without_a_seat_leaves_the_seat_out(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(priority_seats=["P1"])
    seated, standing = await priority_arrivals(queue, code, s["slot_id"], ["PREGNANT", "DISABLED"])
    assert standing["visit"]["seat"] is None
    assert (await claim(queue, code, standing["visit"]["visit_id"])).status_code == 200
    ev = await queue.event("queue.sambang.claimed", standing["receipt_number"])
    assert ev.data.seat is None and ev.data.officer_id == "tablet-1"
    assert (await claim(queue, code, seated["visit"]["visit_id"], "tablet-2")).status_code == 200
    assert (await queue.event("queue.sambang.claimed", seated["receipt_number"])).data.seat == "P1"


async def test_a_claimed_applicant_not_at_the_seat_is_a_no_show_at_stage_sambang(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    (app,) = await priority_arrivals(queue, code, s["slot_id"], ["ELDERLY"])
    vid, receipt = app["visit"]["visit_id"], app["receipt_number"]
    unclaimed = await claim(queue, code, vid, "tablet-1", action="no-show")
    assert unclaimed.status_code == 409 and unclaimed.json()["code"] == "not_claimed_by_you"
    await claim(queue, code, vid, "tablet-1")
    other = await claim(queue, code, vid, "tablet-2", action="no-show")
    assert other.status_code == 409 and other.json()["code"] == "not_claimed_by_you"
    gone = await claim(queue, code, vid, "tablet-1", action="no-show")
    assert gone.status_code == 200 and gone.json()["state"] == "NO_SHOW"
    ev = await queue.event("queue.ticket.no_show", receipt)
    assert (ev.data.ticket, ev.data.stage.value) == (app["visit"]["ticket"], "SAMBANG")
    cancelled = await queue.event("queue.application.cancelled", receipt)
    assert cancelled.data.reason.value == "NO_SHOW"
    assert (await queue.status(receipt, app["birth_date"])).json()["status"] == "NO_SHOW"
    worklist = await queue.client.get(
        f"/v1/offices/{code}/sambang/worklist", headers=queue.auth("sambang_officer", office=code)
    )
    assert worklist.json()["visits"] == []
    audit = await queue.client.get(
        "/v1/audit", params={"receipt": receipt}, headers=queue.auth("supervisor", office=code)
    )
    assert [a["action"] for a in audit.json()][-1] == "visit.no_show"


# --- counters: transfers and the near-turn notice ---------------------------------------------------


async def test_a_ticket_moving_to_another_stage_publishes_ticket_transferred(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    (app,) = await arrivals(queue, code, s["slot_id"], 1)
    receipt = app["receipt_number"]
    t = (await call(queue, code, "1", "VERIFICATION")).json()
    again = await ticket_action(queue, code, t["ticket_id"], "transfer", stage="VERIFICATION")
    assert again.status_code == 200  # back to the same stage's line: no move, no event
    await call(queue, code, "1", "VERIFICATION")
    await ticket_action(queue, code, t["ticket_id"], "complete")
    await call(queue, code, "7", "INTERVIEW", role="interviewer")
    await ticket_action(queue, code, t["ticket_id"], "transfer", role="interviewer", stage="VERIFICATION")

    async def both() -> bool:
        return len(queue.events("queue.ticket.transferred", receipt)) >= 2

    from sambang_runtime.testing import eventually

    await eventually(both, what="two transfers")
    moves = [
        (e.data.ticket, e.data.from_stage.value, e.data.to_stage.value)
        for e in queue.events("queue.ticket.transferred", receipt)
    ]
    assert moves == [("A001", "VERIFICATION", "INTERVIEW"), ("A001", "INTERVIEW", "VERIFICATION")]


async def test_near_turn_goes_out_once_per_ticket_and_stage_when_a_ticket_reaches_the_position(
    queue: QueueHarness,
) -> None:
    code, s = await queue.office_with_slot(near_turn_position=2)
    first, second, third = await arrivals(queue, code, s["slot_id"], 3)  # A001, A002, A003 in that order
    # A002 joined the line at place 2.
    ev = await queue.event("queue.ticket.near_turn", second["receipt_number"])
    assert (ev.data.ticket, ev.data.stage.value, ev.data.position) == ("A002", "VERIFICATION", 2)
    t = (await call(queue, code, "1", "VERIFICATION")).json()  # A001 called: A003 moves up to place 2
    ev = await queue.event("queue.ticket.near_turn", third["receipt_number"])
    assert (ev.data.ticket, ev.data.position) == ("A003", 2)
    await ticket_action(queue, code, t["ticket_id"], "complete")  # A001 waits at INTERVIEW, alone
    await call(queue, code, "7", "INTERVIEW", role="interviewer")
    # Back to verification: A001 (checked in first) goes ahead, A002 is at place 2 again, A003 at 3.
    await ticket_action(queue, code, t["ticket_id"], "transfer", role="interviewer", stage="VERIFICATION")
    last = await call(queue, code, "1", "VERIFICATION")  # A001 again: A003 back at place 2
    assert last.json()["ticket"] == "A001"

    # Every notice the last call could have caused left in its commit: all of it is on the bus now.
    await queue.wait_published()
    assert len(queue.events("queue.ticket.called", first["receipt_number"])) == 3
    told = [
        (e.data.ticket, e.data.stage.value)
        for a in (first, second, third)
        for e in queue.events("queue.ticket.near_turn", a["receipt_number"])
    ]
    assert told == [("A002", "VERIFICATION"), ("A003", "VERIFICATION")]
    async with queue.runtime.engine.connect() as conn:
        notices = (
            await conn.execute(
                select(near_turn_notice.c.visit_id, near_turn_notice.c.stage).where(
                    near_turn_notice.c.visit_id.in_([a["visit"]["visit_id"] for a in (first, second, third)])
                )
            )
        ).all()
    assert sorted((v, st) for v, st in notices) == sorted(
        (a["visit"]["visit_id"], "VERIFICATION") for a in (second, third)
    )


async def test_near_turn_position_zero_sends_no_notice(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(near_turn_position=0)
    apps = await arrivals(queue, code, s["slot_id"], 3)
    await call(queue, code, "1", "VERIFICATION")
    await queue.wait_published()
    assert queue.events("queue.ticket.called", apps[0]["receipt_number"])
    assert not [e for a in apps for e in queue.events("queue.ticket.near_turn", a["receipt_number"])]
