"""Counters: call-next per stage, recall, no-show, complete, transfer, the waiting queue (rows 12-14)."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import uuid
from typing import Any

from conftest import DAY0, QueueHarness
from sambang_contracts.values import luhn_check_digit
from sambang_queue.models import slot, visit
from sqlalchemy import insert, select

TOMORROW = DAY0 + dt.timedelta(days=1)


async def arrivals(queue: QueueHarness, code: str, slot_id: int, n: int) -> list[dict[str, Any]]:
    """n paid applicants checked in one minute apart."""
    apps = [await queue.booked(code, slot_id) for _ in range(n)]
    await asyncio.gather(*(queue.pay(a["receipt_number"]) for a in apps))
    queue.set_local(TOMORROW, 8, 0)
    out = []
    for a in apps:
        queue.clock.advance(minutes=1)
        r = await queue.check_in(code, a)
        assert r.status_code == 201, r.text
        out.append({**a, "visit": r.json()})
    return out


def call(
    queue: QueueHarness, code: str, counter: str, stage: str, role: str = "verifier", sub: str = "officer-1"
) -> Any:
    return queue.client.post(
        f"/v1/offices/{code}/counters/{counter}/call-next",
        json={"stage": stage},
        headers=queue.auth(role, office=code, sub=sub),
    )


def ticket_action(
    queue: QueueHarness, code: str, ticket_id: str, action: str, role: str = "verifier", **body: Any
) -> Any:
    return queue.client.post(
        f"/v1/tickets/{ticket_id}/{action}", json=body or None, headers=queue.auth(role, office=code)
    )


async def test_call_next_serves_first_come_first_served_then_says_no_content(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    apps = await arrivals(queue, code, s["slot_id"], 3)
    got = []
    for counter in ("1", "2", "3"):
        r = await call(queue, code, counter, "VERIFICATION")
        assert r.status_code == 200, r.text
        got.append(r.json()["ticket"])
    assert got == [a["visit"]["ticket"] for a in apps] == ["A001", "A002", "A003"]
    assert (await call(queue, code, "4", "VERIFICATION")).status_code == 204
    ev = await queue.event("queue.ticket.called", apps[0]["receipt_number"])
    assert (ev.data.counter, ev.data.stage.value, ev.data.recall) == ("1", "VERIFICATION", 0)
    status = (await queue.status(apps[0]["receipt_number"], apps[0]["birth_date"])).json()
    assert status["status"] == "IN_SERVICE" and status["ticket"]["counter"] == "1"


async def test_each_stage_is_called_by_its_own_officers_of_the_office(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    await arrivals(queue, code, s["slot_id"], 1)
    wrong_role = await call(queue, code, "1", "VERIFICATION", role="interviewer")
    assert wrong_role.status_code == 403 and wrong_role.json()["code"] == "stage_not_allowed"
    other = await queue.office()
    r = await queue.client.post(
        f"/v1/offices/{code}/counters/1/call-next",
        json={"stage": "VERIFICATION"},
        headers=queue.auth("verifier", office=other),
    )
    assert r.json()["code"] == "wrong_office"
    bad_stage = await call(queue, code, "1", "SAMBANG")
    assert bad_stage.status_code == 422
    bad_counter = await call(queue, code, "a counter", "VERIFICATION")
    assert bad_counter.status_code == 422


async def test_counter_must_finish_its_ticket_before_calling_the_next(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    await arrivals(queue, code, s["slot_id"], 2)
    first = (await call(queue, code, "1", "VERIFICATION")).json()
    busy = await call(queue, code, "1", "VERIFICATION")
    assert (
        busy.status_code == 409 and busy.json()["code"] == "counter_busy" and busy.json()["ticket"] == first["ticket"]
    )


async def test_recall_counts_calls_and_the_third_unanswered_call_makes_a_no_show(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    (app,) = await arrivals(queue, code, s["slot_id"], 1)
    t = (await call(queue, code, "1", "VERIFICATION")).json()
    for n in (2, 3):
        r = await ticket_action(queue, code, t["ticket_id"], "recall")
        assert r.status_code == 200 and r.json()["calls"] == n and r.json()["state"] == "CALLED"
    gone = await ticket_action(queue, code, t["ticket_id"], "recall")
    assert gone.json()["state"] == "NO_SHOW"
    receipt = app["receipt_number"]
    await queue.event("queue.ticket.no_show", receipt)
    cancelled = await queue.event("queue.application.cancelled", receipt)
    assert cancelled.data.reason.value == "NO_SHOW"
    recalls = sorted(e.data.recall for e in queue.events("queue.ticket.called", receipt))
    assert recalls == [0, 1, 2]
    assert (await queue.status(receipt, app["birth_date"])).json()["status"] == "NO_SHOW"
    async with queue.runtime.engine.connect() as conn:
        assert (await conn.execute(select(slot.c.booked).where(slot.c.id == s["slot_id"]))).scalar_one() == 0
    assert (await ticket_action(queue, code, t["ticket_id"], "recall")).json()["code"] == "ticket_not_called"


async def test_office_setting_changes_the_calls_before_a_no_show(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot(no_show_after_calls=1)
    await arrivals(queue, code, s["slot_id"], 1)
    t = (await call(queue, code, "1", "VERIFICATION")).json()
    assert (await ticket_action(queue, code, t["ticket_id"], "recall")).json()["state"] == "NO_SHOW"


async def test_no_show_by_hand_frees_the_counter(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    await arrivals(queue, code, s["slot_id"], 2)
    t = (await call(queue, code, "1", "VERIFICATION")).json()
    r = await ticket_action(queue, code, t["ticket_id"], "no-show")
    assert r.status_code == 200 and r.json()["state"] == "NO_SHOW"
    assert (await call(queue, code, "1", "VERIFICATION")).json()["ticket"] == "A002"


async def test_complete_moves_verification_to_interview_and_the_interview_ends_the_visit(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    (app,) = await arrivals(queue, code, s["slot_id"], 1)  # checked in at 08:01
    queue.set_local(TOMORROW, 8, 10)
    t = (await call(queue, code, "1", "VERIFICATION")).json()
    queue.clock.advance(minutes=5)
    done = await ticket_action(queue, code, t["ticket_id"], "complete")
    assert (done.json()["stage"], done.json()["state"], done.json()["counter"]) == ("INTERVIEW", "WAITING", None)
    assert (await call(queue, code, "2", "VERIFICATION")).status_code == 204
    again = await call(queue, code, "7", "INTERVIEW", role="interviewer")
    assert again.json()["ticket"] == "A001"
    queue.clock.advance(minutes=10)
    end = await ticket_action(queue, code, t["ticket_id"], "complete", role="interviewer")
    assert end.json()["stage"] == "DONE" and end.json()["state"] == "DONE"
    ev = await queue.event("queue.visit.completed", app["receipt_number"])
    assert ev.data.waited_seconds == 9 * 60  # checked in 08:01, first called 08:10
    assert ev.data.served_seconds == 15 * 60
    assert (await queue.status(app["receipt_number"], app["birth_date"])).json()["status"] == "IN_PROCESS"
    assert (await ticket_action(queue, code, t["ticket_id"], "complete")).json()["code"] == "ticket_not_called"


async def test_transfer_sends_a_ticket_back_to_verification(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    await arrivals(queue, code, s["slot_id"], 1)
    t = (await call(queue, code, "1", "VERIFICATION")).json()
    await ticket_action(queue, code, t["ticket_id"], "complete")
    await call(queue, code, "7", "INTERVIEW", role="interviewer")
    back = await ticket_action(queue, code, t["ticket_id"], "transfer", role="interviewer", stage="VERIFICATION")
    assert back.status_code == 200 and (back.json()["stage"], back.json()["state"]) == ("VERIFICATION", "WAITING")
    assert (await call(queue, code, "1", "VERIFICATION")).json()["ticket"] == "A001"
    pickup = await ticket_action(queue, code, t["ticket_id"], "transfer", stage="PICKUP")
    assert pickup.status_code == 409 and pickup.json()["code"] == "invalid_transfer"


async def test_ticket_of_another_office_cannot_be_touched(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    await arrivals(queue, code, s["slot_id"], 1)
    t = (await call(queue, code, "1", "VERIFICATION")).json()
    other = await queue.office()
    r = await queue.client.post(f"/v1/tickets/{t['ticket_id']}/complete", headers=queue.auth("verifier", office=other))
    assert r.status_code == 403 and r.json()["code"] == "wrong_office"
    assert (await ticket_action(queue, code, "nope", "complete")).status_code == 404


async def test_queue_lists_waiting_tickets_with_position_and_minutes_waited(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    await arrivals(queue, code, s["slot_id"], 3)  # checked in 08:01, 08:02, 08:03
    await call(queue, code, "1", "VERIFICATION")
    queue.set_local(TOMORROW, 8, 31)
    r = await queue.client.get(
        f"/v1/offices/{code}/queue", params={"stage": "VERIFICATION"}, headers=queue.auth("verifier", office=code)
    )
    assert r.status_code == 200
    waiting = r.json()["waiting"]
    assert [(w["ticket"], w["position"], w["minutes_waited"]) for w in waiting] == [("A002", 1, 29), ("A003", 2, 28)]
    assert [c["ticket"] for c in r.json()["called"]] == ["A001"]
    assert (await queue.client.get(f"/v1/offices/{code}/queue")).status_code == 401


async def test_twenty_counters_calling_at_once_call_each_of_two_hundred_tickets_exactly_once(
    queue: QueueHarness,
) -> None:
    code = await queue.office()
    queue.set_local(TOMORROW, 9, 0)
    start = queue.clock() - dt.timedelta(hours=1)
    rows = [
        {
            "id": uuid.uuid4().hex,
            "receipt_number": f"{code}261202{n:06d}{luhn_check_digit(f'261202{n:06d}')}",
            "office": code,
            "day": TOMORROW,
            "purpose": "SERVICE",
            "lane": "REGULAR",
            "ticket": f"A{n:03d}",
            "priority_category": "NONE",
            "channel": "KIOSK",
            "paid": True,
            "stage": "VERIFICATION",
            "state": "WAITING",
            "calls": 0,
            "checked_in_at": start + dt.timedelta(seconds=n),
        }
        for n in range(1, 201)
    ]
    async with queue.runtime.engine.begin() as conn:
        await conn.execute(insert(visit), rows)
    called: list[str] = []
    busy = 0

    async def counter(n: int) -> None:
        nonlocal busy
        while True:
            r = await call(queue, code, f"C{n}", "VERIFICATION", sub=f"verifier-{n}")
            if r.status_code == 503:
                # 20 callers on a small pool on a loaded machine: a request that waited its pool timeout
                # gets 503 service_busy with nothing changed, and the tablet calls again (Retry-After).
                assert r.json()["code"] == "service_busy" and "Retry-After" in r.headers, r.text
                busy += 1
                await asyncio.sleep(0.2)
                continue
            if r.status_code == 204:
                return
            assert r.status_code == 200, r.text
            called.append(r.json()["ticket"])
            while (done := await ticket_action(queue, code, r.json()["ticket_id"], "complete")).status_code == 503:
                busy += 1
                await asyncio.sleep(0.2)
            assert done.status_code == 200, done.text

    await asyncio.gather(*(counter(n) for n in range(20)))
    counts = collections.Counter(called)
    assert len(called) == 200 and set(counts.values()) == {1}, f"{busy} busy answers"
    async with queue.runtime.engine.connect() as conn:
        states = (await conn.execute(select(visit.c.stage, visit.c.calls).where(visit.c.office == code))).all()
    assert all(stage == "INTERVIEW" for stage, _ in states) and len(states) == 200
