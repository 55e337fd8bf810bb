"""Reports for the head of office (daily, monthly, JSON and CSV) and the audit trail (rows 19-20)."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from typing import Any

from conftest import DAY0, JAKARTA, QueueHarness
from sambang_contracts import (
    CaptureCompleted,
    CaptureItem,
    CaptureItemKind,
    CaptureMode,
    InterviewCompleted,
    InterviewDecision,
    PassportIssued,
)
from sambang_runtime.testing import eventually

TOMORROW = DAY0 + dt.timedelta(days=1)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:

    return dt.datetime.combine(day, dt.time(hour, minute), JAKARTA).astimezone(dt.UTC)


async def a_day_at_the_office(queue: QueueHarness) -> dict[str, Any]:
    """Tomorrow's office day: regular visits, a no-show, a sambang visit, a walk-in, an absentee."""
    code, s = await queue.office_with_slot()
    regular = [await queue.booked(code, s["slot_id"]) for _ in range(4)]
    priority = await queue.booked(
        code, s["slot_id"], priority_category="PREGNANT", service_type="RENEWAL", passport_type="REGULAR"
    )
    cancelled = await queue.booked(code, s["slot_id"])
    await queue.client.post(
        f"/v1/applications/{cancelled['receipt_number']}/cancel", json={"birth_date": cancelled["birth_date"]}
    )
    await asyncio.gather(*(queue.pay(a["receipt_number"]) for a in regular[:3]))
    verifier = queue.auth("verifier", office=code)
    for minute, a in zip((1, 2, 3, 4), [*regular[:3], priority], strict=True):
        queue.set_local(TOMORROW, 8, minute)
        assert (await queue.check_in(code, a)).status_code == 201
    queue.set_local(TOMORROW, 8, 10)
    claimed = (
        await queue.client.get(
            f"/v1/offices/{code}/sambang/worklist", headers=queue.auth("sambang_officer", office=code)
        )
    ).json()["visits"][0]
    await queue.client.post(
        f"/v1/visits/{claimed['visit_id']}/claim", headers=queue.auth("sambang_officer", office=code, sub="tablet-1")
    )
    queue.set_local(TOMORROW, 8, 11)
    first = (
        await queue.client.post(
            f"/v1/offices/{code}/counters/1/call-next", json={"stage": "VERIFICATION"}, headers=verifier
        )
    ).json()
    queue.set_local(TOMORROW, 8, 21)
    await queue.client.post(f"/v1/tickets/{first['ticket_id']}/complete", headers=verifier)
    queue.set_local(TOMORROW, 8, 22)
    second = (
        await queue.client.post(
            f"/v1/offices/{code}/counters/1/call-next", json={"stage": "VERIFICATION"}, headers=verifier
        )
    ).json()
    await queue.client.post(f"/v1/tickets/{second['ticket_id']}/no-show", headers=verifier)
    queue.set_local(TOMORROW, 8, 40)
    receipt = priority["receipt_number"]
    await queue.publish(
        CaptureCompleted(
            receipt_number=receipt,
            mode=CaptureMode.SAMBANG,
            officer_id="tablet-1",
            items=[CaptureItem(kind=CaptureItemKind.PHOTO, sha256="b" * 64, bytes=10, quality=90)],
            completed_at=queue.clock(),
        ),
        source="sambang/capture",
    )
    await queue.publish(
        InterviewCompleted(
            receipt_number=receipt,
            decision=InterviewDecision.APPROVED,
            officer_id="tablet-1",
            mode=CaptureMode.SAMBANG,
            completed_at=queue.clock(),
        ),
        source="sambang/capture",
    )
    await queue.event("queue.visit.completed", receipt)
    queue.set_local(TOMORROW, 9, 0)
    walk = await queue.client.post(
        f"/v1/offices/{code}/walk-ins",
        json={
            "service_type": "NEW",
            "passport_type": "ELECTRONIC",
            "priority_category": "ELDERLY",
            "applicant": queue.applicant(birth_date="1948-08-17"),
        },
        headers=queue.auth("customer_care", office=code),
    )
    assert walk.status_code == 201
    # Passports: one issued within 5 working days of the visit (Dec 9), one after (Dec 10).
    for r, day in ((regular[0]["receipt_number"], dt.date(2026, 12, 9)), (receipt, dt.date(2026, 12, 10))):
        await queue.publish(
            PassportIssued(
                receipt_number=r,
                passport_number="X0000001",
                issued_at=at(day, 10),
                expires_at=at(day, 10) + dt.timedelta(days=3650),
                pickup_from=day + dt.timedelta(days=1),
            ),
            source="sambang/simkim-gateway",
        )
        await queue.wait_status(r, "ISSUED")
    return {"code": code, "regular": regular, "priority": priority, "first": first}


async def test_daily_and_monthly_reports_count_what_happened(queue: QueueHarness) -> None:
    day = await a_day_at_the_office(queue)
    code = day["code"]
    queue.set_local(dt.date(2026, 12, 11), 7)
    sup = queue.auth("supervisor", office=code)
    r = await queue.client.get(f"/v1/offices/{code}/reports/daily", params={"date": TOMORROW.isoformat()}, headers=sup)
    assert r.status_code == 200, r.text
    rep = r.json()
    assert rep["applications"] == {
        "total": 7,
        "by_lane": {"PRIORITY": 2, "REGULAR": 5},
        "by_service_type": {"NEW": 6, "RENEWAL": 1},
        "by_passport_type": {"ELECTRONIC": 6, "REGULAR": 1},
        "by_priority_category": {"ELDERLY": 1, "NONE": 5, "PREGNANT": 1},
    }
    assert rep["check_ins"] == {"total": 5, "by_lane": {"PRIORITY": 2, "REGULAR": 3}, "walk_ins": 1}
    assert rep["walk_ins"] == 1
    assert rep["no_shows"] == {"called_no_answer": 1, "did_not_come": 1}
    assert rep["cancellations"]["total"] == 0  # cancelled the day before
    waiting = rep["waiting_time"]
    assert waiting["by_lane"]["REGULAR"] == {"count": 2, "avg_minutes": 15.0, "p90_minutes": 19.0}
    assert waiting["by_lane"]["PRIORITY"] == {"count": 1, "avg_minutes": 6.0, "p90_minutes": 6.0}
    assert waiting["all_service_lanes"]["count"] == 3 and waiting["all_service_lanes"]["avg_minutes"] == 12.0
    assert rep["service_time_by_stage"]["VERIFICATION"] == {"count": 1, "avg_minutes": 10.0, "p90_minutes": 10.0}
    assert rep["service_time_by_stage"]["SAMBANG"] == {"count": 1, "avg_minutes": 30.0, "p90_minutes": 30.0}
    assert rep["sambang_visits_by_officer"] == {"tablet-1": 1}
    assert rep["issued_within_target"]["issued"] == 0  # none issued on the visit day itself

    monthly = (
        await queue.client.get(f"/v1/offices/{code}/reports/monthly", params={"month": "2026-12"}, headers=sup)
    ).json()
    assert monthly["cancellations"] == {"total": 1, "APPLICANT": 1, "OFFICER": 0, "BILL_EXPIRED": 0}
    assert monthly["issued_within_target"] == {"target_working_days": 5, "issued": 2, "within_target": 1, "share": 0.5}
    assert monthly["pickups_pending"] == {"count": 2, "oldest_pickup_from": "2026-12-10"}

    as_csv = await queue.client.get(
        f"/v1/offices/{code}/reports/daily",
        params={"date": TOMORROW.isoformat()},
        headers={**sup, "Accept": "text/csv"},
    )
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    rows = {row["metric"]: row["value"] for row in csv.DictReader(io.StringIO(as_csv.text))}
    assert rows["applications.total"] == "7" and rows["sambang_visits_by_officer.tablet-1"] == "1"
    assert rows["waiting_time.by_lane.REGULAR.avg_minutes"] == "15.0"


async def test_reports_are_for_the_office_supervisor_with_a_valid_period(queue: QueueHarness) -> None:
    code = await queue.office()
    url = f"/v1/offices/{code}/reports/monthly"
    assert (
        await queue.client.get(url, params={"month": "2026-12"}, headers=queue.auth("verifier", office=code))
    ).status_code == 403
    other = await queue.client.get(url, params={"month": "2026-12"}, headers=queue.auth("supervisor", office="BLT"))
    assert other.json()["code"] == "wrong_office"
    bad = await queue.client.get(url, params={"month": "2026-13"}, headers=queue.auth("supervisor", office=code))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_period"
    empty = await queue.client.get(url, params={"month": "2026-12"}, headers=queue.auth("supervisor", office=code))
    assert empty.json()["applications"]["total"] == 0 and empty.json()["issued_within_target"]["share"] is None


async def test_audit_trail_records_who_did_what_when_on_which_receipt(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.arrived(code, s["slot_id"])
    receipt = app["receipt_number"]
    v1 = queue.auth("verifier", office=code, sub="verifier-dewi")
    t = (
        await queue.client.post(f"/v1/offices/{code}/counters/2/call-next", json={"stage": "VERIFICATION"}, headers=v1)
    ).json()
    await queue.client.post(f"/v1/tickets/{t['ticket_id']}/recall", headers=v1)
    await queue.client.post(f"/v1/tickets/{t['ticket_id']}/complete", headers=v1)
    r = await queue.client.get("/v1/audit", params={"receipt": receipt}, headers=queue.auth("supervisor", office=code))
    assert r.status_code == 200
    # The harness's payment check read the application as a supervisor: each officer read is audited too.
    trail = [a for a in r.json() if a["action"] != "application.viewed"]
    assert {a["officer"] for a in r.json() if a["action"] == "application.viewed"} == {"officer-1"}
    assert [(a["action"], a["officer"], a["office"], a["receipt_number"]) for a in trail] == [
        ("ticket.called", "verifier-dewi", code, receipt),
        ("ticket.recalled", "verifier-dewi", code, receipt),
        ("ticket.completed", "verifier-dewi", code, receipt),
    ]
    assert all(a["at"] for a in trail)
    assert (
        await queue.client.get("/v1/audit", params={"receipt": receipt}, headers=queue.auth("supervisor", office="BLT"))
    ).status_code == 403
    assert (await queue.client.get("/v1/audit", params={"receipt": receipt}, headers=v1)).status_code == 403
    assert (
        await queue.client.get("/v1/audit", params={"receipt": "BLT123"}, headers=queue.auth("supervisor", office=code))
    ).status_code == 422


async def test_failed_action_leaves_no_audit_entry(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.arrived(code, s["slot_id"])
    v1 = queue.auth("verifier", office=code)
    t = (
        await queue.client.post(f"/v1/offices/{code}/counters/2/call-next", json={"stage": "VERIFICATION"}, headers=v1)
    ).json()
    refused = await queue.client.post(f"/v1/tickets/{t['ticket_id']}/transfer", json={"stage": "PICKUP"}, headers=v1)
    assert refused.status_code == 409

    async def only_the_call() -> bool:
        trail = (
            await queue.client.get(
                "/v1/audit", params={"receipt": app["receipt_number"]}, headers=queue.auth("supervisor", office=code)
            )
        ).json()
        return [a["action"] for a in trail if a["action"] != "application.viewed"] == ["ticket.called"]

    await eventually(only_the_call, 2, "no audit for the refused transfer")
