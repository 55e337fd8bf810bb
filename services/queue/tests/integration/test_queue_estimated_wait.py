"""The estimated wait on real PostgreSQL and RabbitMQ with a fake clock (issue #24): tickets served at
known times give the range the test works out by hand, on the kiosk ticket, the status page, the board
and the near-turn event; none is shown while too few were served today."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
from conftest import DAY0, QueueHarness, local
from sambang_contracts import WaitEstimate
from sambang_queue.models import visit
from sambang_queue.settings import QueueSettings
from sqlalchemy import select

TOMORROW = DAY0 + dt.timedelta(days=1)


async def paid_applicants(queue: QueueHarness, code: str, slot_id: int, n: int) -> list[dict[str, Any]]:
    """n applicants booked on a slot and paid."""
    apps = [await queue.booked(code, slot_id) for _ in range(n)]
    await asyncio.gather(*(queue.pay(a["receipt_number"]) for a in apps))
    return apps


async def call_next(queue: QueueHarness, code: str, counter: str) -> httpx.Response:
    return await queue.client.post(
        f"/v1/offices/{code}/counters/{counter}/call-next",
        json={"stage": "VERIFICATION"},
        headers=queue.auth("verifier", office=code, sub=f"officer-{counter}"),
    )


async def complete(queue: QueueHarness, code: str, ticket_id: str) -> None:
    r = await queue.client.post(f"/v1/tickets/{ticket_id}/complete", headers=queue.auth("verifier", office=code))
    assert r.status_code == 200, r.text


async def serve(queue: QueueHarness, code: str, app: dict[str, Any], counter: str, minutes: float) -> None:
    """The applicant checks in now, is called at once at `counter` and served for `minutes` there."""
    checked_in = await queue.check_in(code, app)
    assert checked_in.status_code == 201, checked_in.text
    called = await call_next(queue, code, counter)
    assert called.status_code == 200 and called.json()["ticket"] == checked_in.json()["ticket"], called.text
    queue.clock.advance(minutes=minutes)
    await complete(queue, code, called.json()["ticket_id"])


async def board(queue: QueueHarness, code: str) -> dict[tuple[str, str], dict[str, Any]]:
    r = await queue.client.get(f"/v1/lines/{code}/estimates")  # public: no token
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["office"] == code
    return {(line["lane"], line["stage"]): line for line in body["lanes"]}


async def status_estimate(queue: QueueHarness, app: dict[str, Any]) -> Any:
    r = await queue.status(app["receipt_number"], app["birth_date"])
    assert r.status_code == 200, r.text
    return r.json()["estimated_wait"]


def within(estimate: Any, low: float, high: float) -> bool:
    """The range shown holds the range computed by hand."""
    return bool(estimate["low_minutes"] <= low <= high <= estimate["high_minutes"])


async def test_twenty_tickets_served_at_known_times_give_the_range_worked_out_by_hand(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()  # defaults: estimate_window 20, min served 5, near turn at 3
    day_after = TOMORROW + dt.timedelta(days=1)
    later = (await queue.slots(code, day_after, [("08:00", "12:00", 10)]))[0]
    served = await paid_applicants(queue, code, s["slot_id"], 20)
    first, second, third = await paid_applicants(queue, code, s["slot_id"], 3)
    (next_day,) = await paid_applicants(queue, code, later["slot_id"], 1)

    # 20 tickets, each checked in and called at once, served 4, 5, 6, 7, 8, 4, 5, ... minutes at
    # counters 1 and 2 in turn: from 08:00 to 10:00.
    queue.set_local(TOMORROW, 8, 0)
    minutes = [4, 5, 6, 7, 8] * 4
    for i, (app, m) in enumerate(zip(served, minutes, strict=True)):
        await serve(queue, code, app, "1" if i % 2 == 0 else "2", m)
    assert queue.clock() == local(TOMORROW, 10, 0)

    # By hand: the service times sorted are 4,4,4,4, 5,5,5,5, 6,6,6,6, 7,7,7,7, 8,8,8,8. Their 25th
    # percentile sits at rank 0.25 * 19 = 4.75, between the 5th and 6th values (5 and 5): 5 minutes;
    # the 75th at rank 14.25, between the 15th and 16th (7 and 7): 7 minutes. Two counters served in
    # the last 30 minutes. A ticket at position p waits (p - 1 + 1/2) services over 2 counters.
    q25, q75, counters = 5.0, 7.0, 2

    def by_hand(position: int) -> tuple[float, float]:
        turns = position - 1 + 0.5
        return q25 * turns / counters, q75 * turns / counters

    tickets = []
    for minute, app in zip((1, 2, 3), (first, second, third), strict=True):
        queue.set_local(TOMORROW, 10, minute)
        r = await queue.check_in(code, app)
        assert r.status_code == 201, r.text
        tickets.append(r.json())
    assert [t["position"] for t in tickets] == [1, 2, 3]
    # position 1: 1.25-1.75 min -> "less than 5 minutes"; 2: 3.75-5.25 -> 3-10; 3: 6.25-8.75 -> 5-10
    expected = [
        {"low_minutes": 0, "high_minutes": 5},
        {"low_minutes": 3, "high_minutes": 10},
        {"low_minutes": 5, "high_minutes": 10},
    ]
    assert [t["estimated_wait"] for t in tickets] == expected
    for position, t in enumerate(tickets, start=1):
        assert within(t["estimated_wait"], *by_hand(position)), (position, by_hand(position))

    # the status page shows the same for each waiting ticket
    assert [await status_estimate(queue, a) for a in (first, second, third)] == expected

    # the near-turn notice of the ticket at position 3 carries its estimate
    near = await queue.event("queue.ticket.near_turn", third["receipt_number"])
    assert (near.data.position, near.data.estimated_wait) == (3, WaitEstimate(low_minutes=5, high_minutes=10))

    # the board: a ticket joining verification now would be 4th: 8.75-12.25 min -> 5-15; nobody was
    # served at the interview yet (the 20 wait there): no estimate; no names, no receipts
    lines = await board(queue, code)
    assert list(lines) == [
        ("REGULAR", "VERIFICATION"),
        ("REGULAR", "INTERVIEW"),
        ("PRIORITY", "SAMBANG"),
        ("PICKUP", "PICKUP"),
    ]
    verification = lines[("REGULAR", "VERIFICATION")]
    assert verification == {
        "lane": "REGULAR",
        "stage": "VERIFICATION",
        "waiting": 3,
        "estimated_wait": {"low_minutes": 5, "high_minutes": 15},
    }
    assert within(verification["estimated_wait"], *by_hand(4))
    assert lines[("REGULAR", "INTERVIEW")]["waiting"] == 20
    assert lines[("REGULAR", "INTERVIEW")]["estimated_wait"] is None
    assert lines[("PRIORITY", "SAMBANG")]["estimated_wait"] is None

    # the estimate given is kept with the ticket (to be measured against the actual wait)
    async with queue.runtime.engine.connect() as conn:
        kept = (
            await conn.execute(
                select(visit.c.estimate_low_minutes, visit.c.estimate_high_minutes).where(
                    visit.c.id == tickets[2]["visit_id"]
                )
            )
        ).one()
    assert tuple(kept) == (5, 10)

    # once called, the ticket is no longer waiting: no estimate on its status page
    called = await call_next(queue, code, "1")
    assert called.json()["ticket"] == tickets[0]["ticket"]
    assert await status_estimate(queue, first) is None

    # the next day the 20 services are still the last ones, but none was served that day yet
    queue.set_local(day_after, 8, 30)
    r = await queue.check_in(code, next_day)
    assert r.status_code == 201 and r.json()["estimated_wait"] is None, r.text
    assert (await board(queue, code))[("REGULAR", "VERIFICATION")]["estimated_wait"] is None


async def test_no_estimate_is_shown_after_only_two_tickets_were_served_today(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    served = await paid_applicants(queue, code, s["slot_id"], 2)
    waiting = await paid_applicants(queue, code, s["slot_id"], 3)
    queue.set_local(TOMORROW, 8, 0)
    for app in served:
        await serve(queue, code, app, "1", 6)
    tickets = []
    for app in waiting:
        queue.clock.advance(minutes=1)
        r = await queue.check_in(code, app)
        assert r.status_code == 201, r.text
        tickets.append(r.json())
    assert [t["position"] for t in tickets] == [1, 2, 3]
    assert [t["estimated_wait"] for t in tickets] == [None, None, None]
    assert [await status_estimate(queue, a) for a in waiting] == [None, None, None]
    lines = await board(queue, code)
    assert lines[("REGULAR", "VERIFICATION")] == {
        "lane": "REGULAR",
        "stage": "VERIFICATION",
        "waiting": 3,
        "estimated_wait": None,
    }
    near = await queue.event("queue.ticket.near_turn", waiting[2]["receipt_number"])
    assert near.data.position == 3 and near.data.estimated_wait is None
    async with queue.runtime.engine.connect() as conn:
        kept = (
            await conn.execute(
                select(visit.c.estimate_low_minutes).where(visit.c.id.in_([t["visit_id"] for t in tickets]))
            )
        ).scalars()
        assert list(kept) == [None, None, None]


async def test_the_board_is_public_and_knows_only_offices(queue: QueueHarness) -> None:
    missing = await queue.client.get("/v1/lines/QQQ/estimates")
    assert missing.status_code == 404 and missing.json()["code"] == "office_not_found"
    code = await queue.office()
    lines = await board(queue, code)
    assert all(line["waiting"] == 0 and line["estimated_wait"] is None for line in lines.values())
    text = (await queue.client.get(f"/v1/lines/{code}/estimates")).text
    assert "receipt" not in text and "name" not in text


async def test_the_board_is_rate_limited_per_client_like_the_other_public_look_ups(queue_make_harness: Any) -> None:
    limits = QueueSettings(lookup_burst=3, lookup_per_minute=6, office_cache_seconds=0)
    async with queue_make_harness("sqlite+memory", queue_settings=limits) as h:
        code = await h.office()
        answers = [(await h.client.get(f"/v1/lines/{code}/estimates")).status_code for _ in range(4)]
        assert answers == [200, 200, 200, 429]
        limited = await h.client.get(f"/v1/lines/{code}/estimates")
        assert limited.json()["code"] == "rate_limited" and "retry-after" in limited.headers
