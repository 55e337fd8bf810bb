"""Measuring the estimated wait and the reminder (issue #24) on real PostgreSQL and RabbitMQ with a fake
clock: the notifier's delivered reminder is noted once on the application, and the monthly report
gives the estimate's error and the no-shows with and without a reminder from a known set of tickets."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from typing import Any

import httpx
from conftest import DAY0, QueueHarness, local
from sambang_contracts import CloudEvent, NotificationChannel, NotificationSent, dump_event, new_event
from sambang_contracts.values import luhn_check_digit
from sambang_queue.models import application
from sambang_runtime.bus.transport import OutgoingMessage
from sambang_runtime.testing import wait_handled
from sqlalchemy import select

TOMORROW = DAY0 + dt.timedelta(days=1)


async def delivered(
    queue: QueueHarness,
    receipt: str,
    *,
    template: str = "visit_reminder",
    channel: NotificationChannel = NotificationChannel.EMAIL,
) -> CloudEvent[Any]:
    """The notifier says a message reached the applicant now (by the fake clock); handled when this returns."""
    sent = NotificationSent(
        receipt_number=receipt, notification_id=f"n-{channel.value}", channel=channel, template=template
    )
    ev = new_event(
        sent,
        source="sambang/notifier",
        time=queue.clock(),
    )
    await queue.runtime.transport.publish_batch(
        [OutgoingMessage(ev.id, ev.type, dump_event(ev), ev.subject, ev.office)]
    )
    await wait_handled(queue.runtime, ev.id)
    return ev


async def reminder_sent_at(queue: QueueHarness, receipt: str) -> dt.datetime | None:
    async with queue.runtime.engine.connect() as conn:
        value = (
            await conn.execute(select(application.c.reminder_sent_at).where(application.c.receipt_number == receipt))
        ).scalar_one()
    assert value is None or isinstance(value, dt.datetime)
    return value


async def test_a_delivered_reminder_marks_its_application_once(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    reminded = await queue.booked(code, s["slot_id"])
    other = await queue.booked(code, s["slot_id"])
    receipt = reminded["receipt_number"]
    assert await reminder_sent_at(queue, receipt) is None

    queue.set_local(DAY0, 16, 0)
    first = await delivered(queue, receipt)
    assert await reminder_sent_at(queue, receipt) == first.time == local(DAY0, 16, 0)
    # the SMS of the same reminder, later, and a redelivery of the first: the first delivery stays
    queue.set_local(DAY0, 16, 2)
    await delivered(queue, receipt, channel=NotificationChannel.SMS)
    await queue.runtime.transport.publish_batch(
        [OutgoingMessage(first.id, first.type, dump_event(first), first.subject, first.office)]
    )
    await delivered(queue, receipt, channel=NotificationChannel.EMAIL)
    assert await reminder_sent_at(queue, receipt) == local(DAY0, 16, 0)
    # another template is not the reminder; a receipt the queue does not know is left alone
    await delivered(queue, other["receipt_number"], template="arrival_link")
    assert await reminder_sent_at(queue, other["receipt_number"]) is None
    await delivered(queue, f"{code}261201999999{luhn_check_digit('261201999999')}")


async def call_next(queue: QueueHarness, code: str, counter: str) -> httpx.Response:
    r = await queue.client.post(
        f"/v1/offices/{code}/counters/{counter}/call-next",
        json={"stage": "VERIFICATION"},
        headers=queue.auth("verifier", office=code, sub=f"officer-{counter}"),
    )
    assert r.status_code == 200, r.text
    return r


async def ticket_action(queue: QueueHarness, code: str, ticket_id: str, action: str) -> None:
    r = await queue.client.post(f"/v1/tickets/{ticket_id}/{action}", headers=queue.auth("verifier", office=code))
    assert r.status_code == 200, r.text


async def check_in_at(queue: QueueHarness, code: str, app: dict[str, Any], hour: int, minute: int) -> dict[str, Any]:
    queue.set_local(TOMORROW, hour, minute)
    r = await queue.check_in(code, app)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_the_monthly_report_measures_the_estimates_and_the_no_shows_by_reminder(queue: QueueHarness) -> None:
    # An estimate as soon as one ticket was served today, from the last 3 services.
    code, s = await queue.office_with_slot(estimate_min_served=1, estimate_window=3, near_turn_position=0)
    x, a, b, c, d, e, _f = apps = [await queue.booked(code, s["slot_id"]) for _ in range(7)]
    g = await queue.booked(code, s["slot_id"])
    await asyncio.gather(*(queue.pay(app["receipt_number"]) for app in apps))
    cancelled = await queue.client.post(
        f"/v1/applications/{g['receipt_number']}/cancel", json={"birth_date": g["birth_date"]}
    )
    assert cancelled.status_code == 200
    # the reminders the day before reached X, A, E (and G, who cancelled: not an appointment)
    queue.set_local(DAY0, 16, 0)
    for app in (x, a, e, g):
        await delivered(queue, app["receipt_number"])

    # 08:00 X is served 10 minutes at counter 1: the only service time, so one counter, 10 minutes each.
    await check_in_at(queue, code, x, 8, 0)
    served = await call_next(queue, code, "1")
    queue.set_local(TOMORROW, 8, 10)
    await ticket_action(queue, code, served.json()["ticket_id"], "complete")
    # A, B, C, D check in: positions 1-4 wait 0.5, 1.5, 2.5, 3.5 services of 10 minutes
    ta = await check_in_at(queue, code, a, 8, 10)  # 5 min -> "less than 5 minutes"
    tb = await check_in_at(queue, code, b, 8, 11)  # 15 min -> 15-20
    tc = await check_in_at(queue, code, c, 8, 12)  # 25 min -> 25-30
    td = await check_in_at(queue, code, d, 8, 13)  # 35 min -> 35-40 (but never called)
    assert [t["estimated_wait"] for t in (ta, tb, tc, td)] == [
        {"low_minutes": 0, "high_minutes": 5},
        {"low_minutes": 15, "high_minutes": 20},
        {"low_minutes": 25, "high_minutes": 30},
        {"low_minutes": 35, "high_minutes": 40},
    ]
    # A called at 08:13 (waited 3), B at 08:20 (waited 9), C at 08:40 at counter 2 (waited 28);
    # D is marked a no-show while waiting (never called: not measured); E and F never come.
    queue.set_local(TOMORROW, 8, 13)
    assert (await call_next(queue, code, "1")).json()["ticket"] == ta["ticket"]
    queue.set_local(TOMORROW, 8, 20)
    await ticket_action(queue, code, ta["ticket_id"], "complete")
    assert (await call_next(queue, code, "1")).json()["ticket"] == tb["ticket"]
    queue.set_local(TOMORROW, 8, 40)
    assert (await call_next(queue, code, "2")).json()["ticket"] == tc["ticket"]
    queue.set_local(TOMORROW, 8, 41)
    await ticket_action(queue, code, td["ticket_id"], "no-show")

    # By hand: errors (actual - middle of the range) A 3 - 2.5 = +0.5, B 9 - 17.5 = -8.5,
    # C 28 - 27.5 = +0.5. Absolute: 0.5, 0.5, 8.5 -> p50 0.5; p90 at rank 0.9 * 2 = 1.8 ->
    # 0.5 + 0.8 * (8.5 - 0.5) = 6.9. Signed median +0.5. Within the range: A (3 in 0-5), C (28 in 25-30).
    # Appointments (the day has passed): reminded X, A, E -> E did not come: 1 of 3; not reminded
    # B, C, D, F -> D (no answer) and F (did not come): 2 of 4. G cancelled: not an appointment.
    queue.set_local(TOMORROW + dt.timedelta(days=1), 9, 0)
    supervisor = queue.auth("supervisor", office=code)
    r = await queue.client.get(f"/v1/offices/{code}/reports/monthly", params={"month": "2026-12"}, headers=supervisor)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["wait_estimates"] == {
        "estimated": 3,
        "abs_error_p50_minutes": 0.5,
        "abs_error_p90_minutes": 6.9,
        "median_error_minutes": 0.5,
        "within_range": 2,
        "within_range_share": 0.667,
    }
    assert report["no_shows_by_reminder"] == {
        "with_reminder": {"appointments": 3, "no_shows": 1, "share": 0.333},
        "without_reminder": {"appointments": 4, "no_shows": 2, "share": 0.5},
    }
    assert report["no_shows"] == {"called_no_answer": 1, "did_not_come": 2}  # unchanged meaning

    as_csv = await queue.client.get(
        f"/v1/offices/{code}/reports/monthly",
        params={"month": "2026-12"},
        headers={**supervisor, "Accept": "text/csv"},
    )
    rows = dict(csv.reader(io.StringIO(as_csv.text)))
    assert rows["wait_estimates.abs_error_p90_minutes"] == "6.9"
    assert rows["wait_estimates.within_range"] == "2"
    assert rows["no_shows_by_reminder.with_reminder.share"] == "0.333"
    assert rows["no_shows_by_reminder.without_reminder.no_shows"] == "2"
