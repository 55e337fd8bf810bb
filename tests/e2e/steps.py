"""The steps of one passport journey, driven only through REST behind the front door, as the
applicant's browser, the bank, the kiosk, the counters and the tablets drive them.

Every step is an async function taking an ``httpx.AsyncClient`` and the front door's base URL
(``Stack.front_door``); officers' tokens are signed here with the development secret
(``stack.officer``). Waiting is by polling with a deadline (``stack.until``), never a fixed sleep.

API (imported by tests/e2e, tests/faults, tests/browser and bench; put ``tests/e2e`` on ``sys.path`` to import
it; ``import steps``):

- ``Applicant`` / ``new_applicant(**fields)``: a distinct applicant (random NIK, own e-mail address);
  ``receipt`` is filled in by ``book``.
- ``prepare_office(client, base, **rules) -> slot_id``: office rules for journeys that happen today
  (bookable today, check-in open all day, pickup the same day) plus ``rules``; a slot today with room.
- ``book(client, base, applicant, slot_id) -> receipt`` (posts ``booking(applicant, slot_id)``);
  ``bill(...)`` (waits until billed);
  ``pay(...)`` (the demo bank's signed webhook: ``bank_notification(...)`` signed by ``bank_headers(raw)``);
  ``settle(...)`` (a settlement file);
  ``confirm_arrival(...)`` (the link from the e-mail); ``check_in(...)`` (kiosk);
  ``serve(...)`` (call the ticket to a counter); ``complete_ticket(...)``;
  ``check_documents(...)``, ``capture_biometrics(...)``, ``interview(...)``, ``complete_capture(...)``;
  ``wait_status(...)`` (applicant-facing status); ``collect(...)`` (pickup ticket, hand-over).
- ``ordinary_journey(client, base, applicant, slot_id)``: all of them for one regular-lane
  applicant, up to the passport handed over; returns the receipt number. Its parts:
  ``after_payment(...)`` (arrival link to hand-over) and ``at_the_counters(...)`` (check-in to
  capture complete).
- ``Alerts`` / ``follow_officer_stream(client, base, alerts)``: the sambang tablets' SSE stream;
  ``follow_display_stream(client, base, alerts)``: the display board's.

Counters call the next waiting ticket of their stage: ``serve`` fails if another applicant's ticket
comes first, so run journeys one after another (or give each its own office).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import random
import re
import string
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
from stack import OFFICE, officer, until

#: The demo bank the payment service seeds in environment "development" (payment's DEV_PARTNER_*).
BANK = "BANKDEMO"
#: Its key and secret.
BANK_KEY_ID = "BANKDEMO-dev"
BANK_SECRET = "sambang-dev-bank-secret-not-for-production"
TZ = ZoneInfo("Asia/Jakarta")
ROOT = Path(__file__).resolve().parents[2]


def images() -> ModuleType:
    """Capture's own honest test images (skimage astronaut crop, synthetic fingerprints), imported on
    first use (OpenCV and scikit-image load with it)."""
    if "capture_images" in sys.modules:
        return sys.modules["capture_images"]
    path = ROOT / "services" / "capture" / "tests" / "capture_images.py"
    spec = importlib.util.spec_from_file_location("capture_images", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["capture_images"] = module
    spec.loader.exec_module(module)
    return module


def today() -> dt.date:
    """Today at the office (Blitar: Asia/Jakarta)."""
    return dt.datetime.now(TZ).date()


@dataclass
class Applicant:
    """One applicant: what they type into the booking form, and their receipt once booked."""

    full_name: str
    nik: str
    birth_date: str
    email: str
    language: str = "id"
    service_type: str = "NEW"
    passport_type: str = "ELECTRONIC"
    priority_category: str = "NONE"
    receipt: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        """The booking form's ``applicant`` part."""
        return {
            "full_name": self.full_name,
            "nik": self.nik,
            "birth_date": self.birth_date,
            "email": self.email,
            "language": self.language,
        }


def new_applicant(**fields: Any) -> Applicant:
    """A distinct applicant (random NIK and e-mail address); ``fields`` override the defaults."""
    tag = uuid.uuid4().hex[:10]
    values: dict[str, Any] = {
        "full_name": "Siti Aminah",
        "nik": "35" + "".join(random.choices(string.digits, k=14)),
        "birth_date": "1990-05-17",
        "email": f"applicant-{tag}@example.test",
    }
    values.update(fields)
    return Applicant(**values)


def _ok(resp: httpx.Response, *codes: int) -> Any:
    assert resp.status_code in (codes or (200,)), f"{resp.request.method} {resp.request.url.path}: {resp.text}"
    return resp.json() if resp.content else None


# -- the office -----------------------------------------------------------------------------------------


async def office_rules(client: httpx.AsyncClient, base: str, office: str = OFFICE, **rules: Any) -> dict[str, Any]:
    """Change some of the office's rules (admin), keeping the others; the rules now."""
    current = _ok(await client.get(f"{base}/v1/offices/{office}/settings", headers=officer("supervisor", office)))
    settings = {**current["settings"], **rules}
    return _ok(  # type: ignore[no-any-return]
        await client.put(
            f"{base}/v1/offices/{office}/settings", json={"settings": settings}, headers=officer("admin", office)
        )
    )


async def prepare_office(
    client: httpx.AsyncClient, base: str, office: str = OFFICE, quota: int = 500, **rules: Any
) -> int:
    """Rules for journeys that happen today (bookable today, check-in open all day, pickup the same
    day) plus ``rules``, and a session today with room for ``quota``; its slot id."""
    await office_rules(
        client,
        base,
        office,
        **{
            "first_bookable_offset_days": 0,
            "checkin_early_minutes": 24 * 60,
            "checkin_late_minutes": 24 * 60,
            "pickup_working_days": 0,
            **rules,
        },
    )
    day = today().isoformat()
    plan = {
        "date_from": day,
        "date_to": day,
        "weekdays": [1, 2, 3, 4, 5, 6, 7],
        "sessions": [{"start": "00:00:00", "end": "23:59:00", "quota": quota}],
    }
    _ok(await client.put(f"{base}/v1/offices/{office}/slots", json=plan, headers=officer("supervisor", office)))
    return await slot_today(client, base, office)


async def slot_today(client: httpx.AsyncClient, base: str, office: str = OFFICE, start: str = "00:00") -> int:
    """The id of today's session starting at ``start``."""
    day = today().isoformat()
    slots = _ok(await client.get(f"{base}/v1/offices/{office}/slots", params={"from": day, "to": day}))
    found = [s for s in slots if str(s["start"]).startswith(start)]
    assert found, f"no session at {start} today: {slots}"
    return int(found[0]["slot_id"])


async def slot(client: httpx.AsyncClient, base: str, slot_id: int, office: str = OFFICE) -> dict[str, Any]:
    """One slot as the public sees it (quota, available)."""
    day = today().isoformat()
    slots = _ok(await client.get(f"{base}/v1/offices/{office}/slots", params={"from": day, "to": day}))
    return next(s for s in slots if int(s["slot_id"]) == slot_id)


# -- booking and payment ----------------------------------------------------------------------------------


def booking(applicant: Applicant, slot_id: int, office: str = OFFICE, **extra: Any) -> dict[str, Any]:
    """The booking form as the applicant's browser posts it (``POST /v1/applications``)."""
    return {
        "office": office,
        "slot_id": slot_id,
        "service_type": applicant.service_type,
        "passport_type": applicant.passport_type,
        "priority_category": applicant.priority_category,
        "applicant": applicant.body(),
        **applicant.extra,
        **extra,
    }


async def book(
    client: httpx.AsyncClient, base: str, applicant: Applicant, slot_id: int, office: str = OFFICE, **extra: Any
) -> str:
    """Book (public, as the applicant's browser); sets and returns ``applicant.receipt``."""
    created = _ok(await client.post(f"{base}/v1/applications", json=booking(applicant, slot_id, office, **extra)), 201)
    applicant.receipt = str(created["receipt_number"])
    return applicant.receipt


async def bill(client: httpx.AsyncClient, base: str, receipt: str, timeout: float = 60) -> dict[str, Any]:
    """The bill of ``receipt`` (officer view), once payment has issued it."""

    async def billed() -> dict[str, Any] | None:
        resp = await client.get(f"{base}/v1/bills/{receipt}", headers=officer())
        return resp.json() if resp.status_code == 200 and resp.json().get("billing_code") else None

    found: dict[str, Any] = await until(f"the bill of {receipt}", billed, timeout=timeout)
    return found


def ntpn() -> str:
    """A fresh NTPN (16 characters, digits and capitals)."""
    return "".join(random.choices(string.digits + string.ascii_uppercase, k=16))


def _sign(secret: str, timestamp: int, body: bytes) -> str:
    import hashlib
    import hmac

    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def bank_notification(billing_code: str, amount: int, paid: str, channel: str = "ATM") -> bytes:
    """The body of a bank's payment notification (API.md): bill ``billing_code`` paid ``amount`` now,
    NTPN ``paid``. Signed by ``bank_headers`` (the demo bank) or by the caller's own partner."""
    return json.dumps(
        {
            "billing_code": billing_code,
            "amount": amount,
            "ntpn": paid,
            "bank_reference": f"REF-{paid}",
            "channel": channel,
            "paid_at": dt.datetime.now(dt.UTC).isoformat(),
        }
    ).encode()


def bank_headers(raw: bytes) -> dict[str, str]:
    """The demo bank's headers for notification body ``raw``: its key and its signature of now."""
    return {
        "X-Partner-Key": BANK_KEY_ID,
        "X-Signature": _sign(BANK_SECRET, int(time.time()), raw),
        "Content-Type": "application/json",
    }


async def pay(
    client: httpx.AsyncClient, base: str, receipt: str, amount: int | None = None, channel: str = "ATM"
) -> dict[str, Any]:
    """The demo bank's signed notification paying the bill of ``receipt``; payment's answer."""
    issued = await bill(client, base, receipt)
    raw = bank_notification(issued["billing_code"], issued["amount"] if amount is None else amount, ntpn(), channel)
    resp = await client.post(f"{base}/v1/payments/notifications", content=raw, headers=bank_headers(raw))
    return _ok(resp)  # type: ignore[no-any-return]


async def settle(client: httpx.AsyncClient, base: str, receipts: list[str], office: str = OFFICE) -> dict[str, Any]:
    """The bank's daily settlement file paying the bills of ``receipts``, uploaded by a supervisor."""
    rows = ["billing_code,ntpn,amount,paid_at,channel,bank_reference"]
    for receipt in receipts:
        issued = await bill(client, base, receipt)
        paid = ntpn()
        rows.append(
            f"{issued['billing_code']},{paid},{issued['amount']},{dt.datetime.now(dt.UTC).isoformat()},TELLER,SET-{paid}"
        )
    body = ("\n".join(rows) + "\n").encode()
    # Four eyes: a second supervisor approves applying exactly these bytes.
    consent = await approval(
        client, base, "settlement_apply", hashlib.sha256(body).hexdigest(), office=office, sub="supervisor-2"
    )
    resp = await client.post(
        f"{base}/v1/reconciliations",
        params={"partner": BANK},
        content=body,
        headers={**officer("supervisor", office), "Content-Type": "text/csv", **consent},
    )
    return _ok(resp)  # type: ignore[no-any-return]


async def approval(
    client: httpx.AsyncClient,
    base: str,
    action: str,
    subject: str,
    *,
    position: int | None = None,
    office: str = OFFICE,
    role: str = "supervisor",
    sub: str = "supervisor-approver",
) -> dict[str, str]:
    """A single-use approval (``POST /v1/approvals``) by ``sub``, as the header the action takes."""
    body: dict[str, Any] = {"action": action, "subject": subject}
    if position is not None:
        body["position"] = position
    issued = _ok(await client.post(f"{base}/v1/approvals", json=body, headers=officer(role, office, sub=sub)), 201)
    return {"X-Supervisor-Approval": issued["token"]}


# -- the applicant's side ----------------------------------------------------------------------------


async def mail(client: httpx.AsyncClient, base: str, to: str, subject: str, timeout: float = 60) -> dict[str, Any]:
    """The first e-mail to ``to`` whose subject contains ``subject`` (the notifier's development sink)."""

    async def arrived() -> dict[str, Any] | None:
        box = _ok(await client.get(f"{base}/v1/dev/mailbox", params={"to": to}))
        return next((m for m in box if subject in m["subject"]), None)

    found: dict[str, Any] = await until(f"an e-mail '{subject}' to the applicant", arrived, timeout=timeout)
    return found


async def mails(client: httpx.AsyncClient, base: str, to: str) -> list[dict[str, Any]]:
    """Every e-mail to ``to`` so far."""
    return _ok(await client.get(f"{base}/v1/dev/mailbox", params={"to": to}))  # type: ignore[no-any-return]


def arrival_token(message: dict[str, Any]) -> tuple[str, str]:
    """The (receipt, token) of the arrival link in an e-mail."""
    link = re.search(r"https?://\S+/arrival\?\S+", message["text"])
    assert link, "no arrival link in the e-mail"
    query = parse_qs(urlsplit(link.group(0).rstrip(".")).query)
    return query["receipt"][0], query["token"][0]


async def confirm_arrival(client: httpx.AsyncClient, base: str, applicant: Applicant) -> dict[str, Any]:
    """Open the arrival link from the e-mail the applicant got once paid."""
    receipt, token = arrival_token(await _arrival_mail(client, base, applicant))
    assert receipt == applicant.receipt
    resp = await client.post(f"{base}/v1/applications/{receipt}/arrival-confirmation", json={"token": token})
    return _ok(resp)  # type: ignore[no-any-return]


async def _arrival_mail(client: httpx.AsyncClient, base: str, applicant: Applicant) -> dict[str, Any]:
    async def arrived() -> dict[str, Any] | None:
        box = await mails(client, base, applicant.email)
        return next((m for m in box if "/arrival?" in m["text"]), None)

    found: dict[str, Any] = await until(f"the arrival link of {applicant.receipt} by e-mail", arrived)
    return found


async def status(client: httpx.AsyncClient, base: str, applicant: Applicant) -> dict[str, Any]:
    """The applicant-facing status page (receipt number and birth date)."""
    resp = await client.post(
        f"{base}/v1/applications/{applicant.receipt}/lookup", json={"birth_date": applicant.birth_date}
    )
    return _ok(resp)  # type: ignore[no-any-return]


async def wait_status(
    client: httpx.AsyncClient, base: str, applicant: Applicant, wanted: str, timeout: float = 60
) -> dict[str, Any]:
    """Wait until the applicant-facing status reads ``wanted``; the page."""

    async def reached() -> dict[str, Any] | None:
        page = await status(client, base, applicant)
        return page if page["status"] == wanted else None

    found: dict[str, Any] = await until(f"{applicant.receipt} to read {wanted}", reached, timeout=timeout)
    return found


# -- the office's side -----------------------------------------------------------------------------------


async def check_in(
    client: httpx.AsyncClient, base: str, applicant: Applicant, office: str = OFFICE, **body: Any
) -> dict[str, Any]:
    """Check in at the kiosk (receipt number and birth date); the ticket."""
    resp = await client.post(
        f"{base}/v1/offices/{office}/check-ins",
        json={"receipt_number": applicant.receipt, "birth_date": applicant.birth_date, **body},
        headers=officer("kiosk", office, sub="kiosk-1"),
    )
    return _ok(resp, 200, 201)  # type: ignore[no-any-return]


#: Who calls which stage to a counter.
STAGE_ROLE = {"VERIFICATION": "verifier", "INTERVIEW": "interviewer", "PICKUP": "customer_care"}


async def serve(
    client: httpx.AsyncClient,
    base: str,
    ticket_id: str,
    stage: str,
    counter: str = "C1",
    office: str = OFFICE,
    sub: str | None = None,
) -> dict[str, Any]:
    """Call the next ticket of ``stage`` to ``counter``; it must be ``ticket_id``. The called ticket."""
    role = STAGE_ROLE[stage]
    headers = officer(role, office, sub=sub or f"{role}-1")

    async def called() -> dict[str, Any] | None:
        resp = await client.post(
            f"{base}/v1/offices/{office}/counters/{counter}/call-next", json={"stage": stage}, headers=headers
        )
        if resp.status_code == 204:
            return None  # not waiting at this stage yet
        got = _ok(resp)
        assert got["ticket_id"] == ticket_id, f"{stage} called someone else's ticket {got['ticket']}"
        return got  # type: ignore[no-any-return]

    found: dict[str, Any] = await until(f"ticket {ticket_id} waiting at {stage}", called)
    return found


async def complete_ticket(
    client: httpx.AsyncClient, base: str, ticket_id: str, stage: str, office: str = OFFICE, sub: str | None = None
) -> dict[str, Any]:
    """The counter is done with the ticket: on to the next stage, or the visit ends."""
    role = STAGE_ROLE[stage]
    resp = await client.post(
        f"{base}/v1/tickets/{ticket_id}/complete", headers=officer(role, office, sub=sub or f"{role}-1")
    )
    return _ok(resp)  # type: ignore[no-any-return]


async def capture_summary(
    client: httpx.AsyncClient, base: str, receipt: str, role: str = "interviewer", office: str = OFFICE
) -> dict[str, Any]:
    """Capture's summary of one application (no biometric bytes)."""
    return _ok(await client.get(f"{base}/v1/captures/{receipt}", headers=officer(role, office)))  # type: ignore[no-any-return]


async def check_documents(
    client: httpx.AsyncClient,
    base: str,
    receipt: str,
    role: str = "verifier",
    office: str = OFFICE,
    extra: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Verification: every document on the application's checklist seen and OK (plus ``extra``)."""

    async def known() -> dict[str, Any] | None:
        resp = await client.get(f"{base}/v1/captures/{receipt}", headers=officer(role, office))
        return resp.json() if resp.status_code == 200 else None

    summary = await until(f"capture to know {receipt}", known)
    docs = [
        {"kind": req["kinds"][0], "holder": req["holder"], "status": "OK"}
        for req in summary["documents"]["checklist"]
        if not req["met"]
    ] + list(extra or [])
    if not docs:
        return summary["documents"]  # type: ignore[no-any-return]
    resp = await client.post(f"{base}/v1/captures/{receipt}/documents", json=docs, headers=officer(role, office))
    return _ok(resp)  # type: ignore[no-any-return]


async def _put_image(
    client: httpx.AsyncClient, url: str, data: bytes, content_type: str, headers: dict[str, str]
) -> Any:
    return _ok(await client.put(url, content=data, headers={**headers, "Content-Type": content_type}))


async def capture_biometrics(
    client: httpx.AsyncClient,
    base: str,
    receipt: str,
    role: str = "interviewer",
    office: str = OFFICE,
    missing_fingers: dict[int, str] | None = None,
) -> None:
    """Photo (a real face), ten fingerprints and the signature. ``missing_fingers`` (position -> reason,
    e.g. AMPUTATED) are recorded as exceptions instead, each with its own supervisor's approval."""
    headers = officer(role, office, sub=f"{role}-1")
    url = f"{base}/v1/captures/{receipt}"
    img = images()
    await _put_image(client, f"{url}/photo", img.portrait_jpeg(), "image/jpeg", headers)
    for position in range(1, 11):
        if missing_fingers and position in missing_fingers:
            resp = await client.put(
                f"{url}/fingerprints/{position}/exception",
                json={"reason": missing_fingers[position], "note": "seen at the counter"},
                headers={
                    **headers,
                    **await approval(client, base, "fingerprint_exception", receipt, position=position, office=office),
                },
            )
            _ok(resp)
        else:
            await _put_image(
                client, f"{url}/fingerprints/{position}", img.fingerprint_png(position), "image/png", headers
            )
    await _put_image(client, f"{url}/signature", img.signature_png(), "image/png", headers)


async def interview(
    client: httpx.AsyncClient, base: str, receipt: str, decision: str = "APPROVED", **how: Any
) -> dict[str, Any]:
    """The interview's decision (``role``, ``office`` and more of the body in ``how``)."""
    return await capture_step(client, base, receipt, "interview", decision=decision, **how)


async def complete_capture(
    client: httpx.AsyncClient, base: str, receipt: str, mode: str = "COUNTER", **how: Any
) -> dict[str, Any]:
    """Capture complete (emits capture.completed); the manifest."""
    return await capture_step(client, base, receipt, "complete", mode=mode, **how)


async def capture_step(
    client: httpx.AsyncClient,
    base: str,
    receipt: str,
    step: str,
    *,
    role: str = "interviewer",
    office: str = OFFICE,
    **body: Any,
) -> dict[str, Any]:
    """``POST /v1/captures/{receipt}/{step}`` with ``body``, as the officer ``role`` of ``office``; the answer."""
    resp = await client.post(
        f"{base}/v1/captures/{receipt}/{step}", json=body, headers=officer(role, office, sub=f"{role}-1")
    )
    return _ok(resp)  # type: ignore[no-any-return]


async def collect(
    client: httpx.AsyncClient, base: str, applicant: Applicant, office: str = OFFICE, counter: str = "K1"
) -> dict[str, Any]:
    """Pickup: the kiosk's pickup ticket, the counter calls it, identity checked, passport handed over."""
    resp = await client.post(
        f"{base}/v1/offices/{office}/pickups",
        json={"receipt_number": applicant.receipt, "birth_date": applicant.birth_date},
        headers=officer("kiosk", office, sub="kiosk-1"),
    )
    ticket = _ok(resp, 200, 201)
    await serve(client, base, ticket["ticket_id"], "PICKUP", counter, office)
    resp = await client.post(
        f"{base}/v1/pickups/{ticket['pickup_id']}/hand-over",
        json={"identity_checked": True, "collected_by": "SELF"},
        headers=officer("customer_care", office, sub="customer_care-1"),
    )
    return _ok(resp)  # type: ignore[no-any-return]


async def at_the_counters(
    client: httpx.AsyncClient, base: str, applicant: Applicant, office: str = OFFICE
) -> dict[str, Any]:
    """Check in at the kiosk, verification counter (documents), interview counter (photo, ten
    fingers, signature, interview approved, capture complete); the ticket."""
    ticket = await check_in(client, base, applicant, office)
    await serve(client, base, ticket["ticket_id"], "VERIFICATION", "V1", office)
    await check_documents(client, base, applicant.receipt, office=office)
    await complete_ticket(client, base, ticket["ticket_id"], "VERIFICATION", office)
    await serve(client, base, ticket["ticket_id"], "INTERVIEW", "I1", office)
    await capture_biometrics(client, base, applicant.receipt, office=office)
    await interview(client, base, applicant.receipt, office=office)
    await complete_capture(client, base, applicant.receipt, office=office)
    await complete_ticket(client, base, ticket["ticket_id"], "INTERVIEW", office)
    return ticket


async def after_payment(client: httpx.AsyncClient, base: str, applicant: Applicant, office: str = OFFICE) -> None:
    """A paid applicant from the arrival link to the passport in hand."""
    await confirm_arrival(client, base, applicant)
    await at_the_counters(client, base, applicant, office)
    await wait_status(client, base, applicant, "ISSUED", timeout=90)
    await collect(client, base, applicant, office)


async def ordinary_journey(
    client: httpx.AsyncClient, base: str, applicant: Applicant, slot_id: int, office: str = OFFICE
) -> str:
    """One regular-lane applicant from booking to the passport in hand; the receipt number."""
    await book(client, base, applicant, slot_id, office)
    await pay(client, base, applicant.receipt)
    await after_payment(client, base, applicant, office)
    return applicant.receipt


# -- the sambang officers' tablets ---------------------------------------------------------------------------


@dataclass
class Alerts:
    """What the officers' stream (server-sent events) said so far: (event, data) pairs."""

    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def all(self, event: str) -> list[dict[str, Any]]:
        """Every ``event`` so far, in order."""
        return [d for e, d in self.received if e == event]

    def of(self, event: str, receipt: str) -> dict[str, Any] | None:
        """The first ``event`` about ``receipt``."""
        return next((d for e, d in self.received if e == event and d.get("receipt_number") == receipt), None)


async def follow_officer_stream(
    client: httpx.AsyncClient, base: str, alerts: Alerts, office: str = OFFICE, sub: str = "tablet-1"
) -> None:
    """Read the sambang officers' stream into ``alerts`` until cancelled (run it as a task)."""
    headers = officer("sambang_officer", office, sub=sub)
    await _follow(client, f"{base}/v1/streams/officers", {"office": office}, headers, alerts)


async def follow_display_stream(client: httpx.AsyncClient, base: str, alerts: Alerts, office: str = OFFICE) -> None:
    """Read the display board's stream (tickets called) into ``alerts`` until cancelled (run it as a task)."""
    headers = officer("display", office, sub="display-1")
    await _follow(client, f"{base}/v1/streams/displays/{office}", {}, headers, alerts)


async def _follow(
    client: httpx.AsyncClient, url: str, params: dict[str, str], headers: dict[str, str], alerts: Alerts
) -> None:
    headers = {**headers, "Accept": "text/event-stream"}
    async with client.stream("GET", url, params=params, headers=headers, timeout=None) as resp:
        assert resp.status_code == 200, await resp.aread()
        event, data = "message", ""
        async for line in resp.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data += line[5:].strip()
            elif not line.strip():
                if data:
                    with contextlib.suppress(ValueError):  # not JSON: nothing of ours
                        alerts.received.append((event, json.loads(data)))
                event, data = "message", ""
