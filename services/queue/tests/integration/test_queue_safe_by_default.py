"""Safe by default (#16) in the queue: approvals that are not logins, birth dates only in bodies, the
receipt's lock after wrong birth dates, devices limited per token, ticket actions tied to the stage's
role, bounded office settings, who reads reports, audited officer reads, control characters refused."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import jwt
import pytest
from conftest import DAY0, QueueHarness
from sambang_contracts import ApprovalAction
from sambang_contracts.values import generate_receipt_number
from sambang_queue.app import DESCRIPTOR
from sambang_queue.settings import QueueSettings
from sambang_runtime.approvals import APPROVAL_AUDIENCE, verify_approval
from sambang_runtime.auth import Principal
from sambang_runtime.problems import ProblemError

TOMORROW = DAY0 + dt.timedelta(days=1)


async def approve(queue: QueueHarness, headers: dict[str, str], **body: Any) -> Any:
    return await queue.client.post("/v1/approvals", json=body, headers=headers)


# -- approvals ---------------------------------------------------------------------------------------


async def test_a_supervisor_approves_one_finger_of_one_receipt_of_their_office_once(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    receipt = app["receipt_number"]
    sup = queue.auth("supervisor", office=code, sub="spv-rina")
    r = await approve(queue, sup, action="fingerprint_exception", subject=receipt, position=7)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["action"], body["subject"], body["position"]) == ("fingerprint_exception", receipt, 7)
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["aud"] == APPROVAL_AUDIENCE and claims["jti"] == body["jti"] and claims["sub"] == "spv-rina"
    assert (claims["action"], claims["subject"], claims["position"], claims["office"]) == (
        "fingerprint_exception",
        receipt,
        7,
        code,
    )
    assert 0 < claims["exp"] - claims["iat"] <= 900
    assert dt.datetime.fromisoformat(body["expires_at"]).timestamp() == claims["exp"]
    # What capture will check: for this receipt and finger, by another officer of the office.
    interviewer = Principal("int-budi", code, frozenset({"interviewer"}))
    verified = verify_approval(
        queue.settings,
        body["token"],
        action=ApprovalAction.FINGERPRINT_EXCEPTION,
        subject=receipt,
        position=7,
        caller=interviewer,
    )
    assert verified.approver == "spv-rina" and verified.jti == body["jti"]
    with pytest.raises(ProblemError) as other_finger:
        verify_approval(
            queue.settings,
            body["token"],
            action=ApprovalAction.FINGERPRINT_EXCEPTION,
            subject=receipt,
            position=8,
            caller=interviewer,
        )
    assert other_finger.value.extra["reason"] == "wrong_position"
    # Never a login: as a bearer token it opens nothing.
    bearer = {"Authorization": f"Bearer {body['token']}"}
    assert (await queue.client.get(f"/v1/applications/{receipt}", headers=bearer)).status_code == 401
    assert (
        await approve(queue, bearer, action="fingerprint_exception", subject=receipt, position=1)
    ).status_code == 401
    # Audited: who approved what for which receipt; the token itself nowhere.
    audit = (await queue.client.get("/v1/audit", params={"receipt": receipt}, headers=sup)).json()
    issued = [a for a in audit if a["action"] == "approval.issued"]
    assert len(issued) == 1
    assert issued[0]["officer"] == "spv-rina" and issued[0]["receipt_number"] == receipt
    assert issued[0]["detail"] == {
        "action": "fingerprint_exception",
        "jti": body["jti"],
        "position": 7,
        "expires_at": body["expires_at"],
    }
    assert body["token"] not in str(audit)


async def test_a_receipt_of_another_office_is_as_unknown_as_a_receipt_that_does_not_exist(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    other = await queue.office()
    app = await queue.booked(code, s["slot_id"])
    elsewhere = queue.auth("supervisor", office=other)
    foreign = await approve(queue, elsewhere, action="fingerprint_exception", subject=app["receipt_number"], position=1)
    unknown = await approve(
        queue, elsewhere, action="fingerprint_exception", subject=generate_receipt_number(other, DAY0), position=1
    )
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["code"] == unknown.json()["code"] == "application_not_found"
    malformed = await approve(queue, elsewhere, action="fingerprint_exception", subject="BLT123", position=1)
    assert malformed.status_code == 422 and malformed.json()["code"] == "invalid_receipt_number"


async def test_the_finger_is_named_for_a_fingerprint_exception_only(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    receipt = (await queue.booked(code, s["slot_id"]))["receipt_number"]
    sup = queue.auth("supervisor", office=code)
    missing = await approve(queue, sup, action="fingerprint_exception", subject=receipt)
    assert missing.status_code == 422 and missing.json()["code"] == "invalid_approval_position"
    for finger in (0, 11):
        out = await approve(queue, sup, action="fingerprint_exception", subject=receipt, position=finger)
        assert out.status_code == 422, finger
    digest = hashlib.sha256(b"settlement").hexdigest()
    extra = await approve(queue, sup, action="settlement_apply", subject=digest, position=3)
    assert extra.status_code == 422 and extra.json()["code"] == "invalid_approval_position"


async def test_national_powers_take_a_national_admin_and_settlements_a_supervisor_or_one(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    receipt = (await queue.booked(code, s["slot_id"]))["receipt_number"]
    sup = queue.auth("supervisor", office=code)
    national = queue.auth("national_admin", office="PST", sub="nat-1")
    digest = hashlib.sha256(b"BRI settlement 2026-12-01").hexdigest()

    assert (await approve(queue, sup, action="partner_create", subject="BANKBRI")).status_code == 403
    created = await approve(queue, national, action="partner_create", subject="BANKBRI")
    assert created.status_code == 201 and created.json()["position"] is None
    for action in ("partner_rotate", "partner_revoke"):
        assert (await approve(queue, national, action=action, subject="BANKBRI")).status_code == 201
    junk = await approve(queue, national, action="partner_revoke", subject="BANK BRI; drop")
    assert junk.status_code == 422 and junk.json()["code"] == "invalid_approval_subject"
    national_finger = await approve(queue, national, action="fingerprint_exception", subject=receipt, position=2)
    assert national_finger.status_code == 403

    upper = await approve(queue, sup, action="settlement_apply", subject=digest.upper())
    assert upper.status_code == 201 and upper.json()["subject"] == digest
    assert (await approve(queue, national, action="settlement_apply", subject=digest)).status_code == 201
    not_a_digest = await approve(queue, sup, action="settlement_apply", subject="abc")
    assert not_a_digest.status_code == 422 and not_a_digest.json()["code"] == "invalid_approval_subject"

    for role in ("interviewer", "verifier", "customer_care", "head_of_office", "admin", "kiosk"):
        refused = await approve(
            queue, queue.auth(role, office=code), action="fingerprint_exception", subject=receipt, position=1
        )
        assert refused.status_code == 403, role
    assert (await approve(queue, {}, action="settlement_apply", subject=digest)).status_code == 401
    unknown_action = await approve(queue, sup, action="release_hold", subject=receipt)
    assert unknown_action.status_code == 422


def test_the_front_door_routes_approvals_to_the_queue() -> None:
    assert "/v1/approvals" in DESCRIPTOR.prefixes


# -- birth dates in bodies, officers' reads audited ------------------------------------------------------


async def test_the_applicant_looks_up_by_a_birth_date_in_the_body_and_the_url_form_is_gone(
    queue: QueueHarness,
) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    receipt = app["receipt_number"]
    url = f"/v1/applications/{receipt}"
    looked = await queue.client.post(f"{url}/lookup", json={"birth_date": app["birth_date"]})
    assert looked.status_code == 200 and looked.json()["applicant"]["full_name"] == "Siti Aminah"
    assert looked.json()["status"] == "BOOKED"
    sup = queue.auth("supervisor", office=code)
    for headers in ({}, sup):
        in_url = await queue.client.get(url, params={"birth_date": app["birth_date"]}, headers=headers)
        assert in_url.status_code == 400 and in_url.json()["code"] == "birth_date_in_url"
        assert app["birth_date"] not in in_url.text
    assert (await queue.client.get(url)).status_code == 401
    assert (await queue.client.get(url, headers=queue.auth("kiosk", office=code))).status_code == 403
    assert (await queue.client.get(url, headers=queue.auth("admin", office=code))).status_code == 403
    head = await queue.client.get(url, headers=queue.auth("head_of_office", office=code, sub="kakan"))
    assert head.status_code == 200 and head.json()["status"] == "BOOKED"
    assert (await queue.client.post(f"{url}/lookup", json={"birth_date": "1990-05-18"})).status_code == 404


async def test_every_officer_read_of_personal_data_is_audited_without_the_data(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    app = await queue.booked(code, s["slot_id"])
    receipt = app["receipt_number"]
    assert (
        await queue.client.post(f"/v1/applications/{receipt}/lookup", json={"birth_date": app["birth_date"]})
    ).status_code == 200
    viewed = await queue.client.get(
        f"/v1/applications/{receipt}", headers=queue.auth("customer_care", office=code, sub="cs-ani")
    )
    assert viewed.status_code == 200
    looked = await queue.client.post(
        f"/v1/applications/{receipt}/lookup",
        json={"birth_date": app["birth_date"]},
        headers=queue.auth("verifier", office=code, sub="ver-dewi"),
    )
    assert looked.status_code == 200
    refused = await queue.client.get(f"/v1/applications/{receipt}", headers=queue.auth("verifier", office="BLT"))
    assert refused.status_code == 403
    audit = (
        await queue.client.get("/v1/audit", params={"receipt": receipt}, headers=queue.auth("supervisor", office=code))
    ).json()
    reads = [(a["action"], a["officer"], a["receipt_number"]) for a in audit]
    # The applicant's own look-up is no officer's read; the refused read is none at all.
    assert reads == [("application.viewed", "cs-ani", receipt), ("application.looked_up", "ver-dewi", receipt)]
    text = str(audit)
    for personal in ("Siti", app["nik"], app["birth_date"], "siti@example.id", "081234567890"):
        assert personal not in text


# -- the receipt's lock and the devices' limits ----------------------------------------------------------

GUARDED = QueueSettings(
    lookup_burst=100_000,
    lookup_per_minute=6_000_000,
    device_burst=100_000,
    device_per_minute=6_000_000,
    office_cache_seconds=0,
    receipt_guess_limit=3,
)


async def test_wrong_birth_dates_lock_the_receipt_but_not_the_applicant_at_the_counter(queue_make_harness: Any) -> None:
    async with queue_make_harness(queue_settings=GUARDED) as h:
        code, s = await h.office_with_slot()
        app = await h.booked(code, s["slot_id"])
        await h.pay(app["receipt_number"])
        neighbour = await h.booked(code, s["slot_id"])
        receipt = app["receipt_number"]
        # Wrong guesses from different addresses and doors all count: look-up, cancel, kiosk check-in.
        assert (await h.status(receipt, "2000-01-01", headers={"X-Forwarded-For": "198.51.100.1"})).status_code == 404
        cancel = await h.client.post(f"/v1/applications/{receipt}/cancel", json={"birth_date": "2000-01-02"})
        assert cancel.status_code == 404
        h.set_local(TOMORROW, 8, 10)
        kiosk = await h.check_in(code, {**app, "birth_date": "2000-01-03"})
        assert kiosk.status_code == 404 and kiosk.json()["code"] == "application_not_found"
        # Now even the right birth date is refused, at every door that takes one.
        locked = await h.status(receipt, app["birth_date"])
        assert locked.status_code == 429 and locked.json()["code"] == "receipt_locked"
        assert 1 <= int(locked.headers["Retry-After"]) <= 900
        assert (await h.check_in(code, app)).status_code == 429
        cancel = await h.client.post(f"/v1/applications/{receipt}/cancel", json={"birth_date": app["birth_date"]})
        assert cancel.status_code == 429
        # Another receipt is not locked; customer care checks the applicant in without a birth date.
        assert (await h.status(neighbour["receipt_number"], neighbour["birth_date"])).status_code == 200
        desk = await h.client.post(
            f"/v1/offices/{code}/check-ins",
            json={"receipt_number": receipt},
            headers=h.auth("customer_care", office=code, sub="cs-ani"),
        )
        assert desk.status_code == 201, desk.text
        # An unknown receipt locks the same way, so a lock tells nothing about whether one exists.
        unknown = generate_receipt_number(code, DAY0)
        codes = [(await h.status(unknown, "2000-01-01")).status_code for _ in range(4)]
        assert codes == [404, 404, 404, 429]


async def test_kiosks_and_displays_are_limited_per_device(queue_make_harness: Any) -> None:
    limits = QueueSettings(
        lookup_burst=100_000,
        lookup_per_minute=6_000_000,
        device_burst=2,
        device_per_minute=0.01,
        office_cache_seconds=0,
    )
    async with queue_make_harness(queue_settings=limits) as h:
        code, s = await h.office_with_slot()
        app = await h.booked(code, s["slot_id"])
        h.set_local(TOMORROW, 8, 10)
        kiosk = h.auth("kiosk", office=code, sub="kiosk-1")
        body = {"receipt_number": app["receipt_number"], "birth_date": app["birth_date"]}
        codes = [
            (await h.client.post(f"/v1/offices/{code}/check-ins", json=body, headers=kiosk)).status_code
            for _ in range(3)
        ]
        assert codes[:2] != [429, 429] and codes[2] == 429
        limited = await h.client.post(f"/v1/offices/{code}/check-ins", json=body, headers=kiosk)
        assert limited.json()["code"] == "rate_limited" and int(limited.headers["Retry-After"]) >= 1
        # The public look-up with the kiosk's token is the same device's allowance.
        lookup = await h.client.post(
            f"/v1/applications/{app['receipt_number']}/lookup", json={"birth_date": app["birth_date"]}, headers=kiosk
        )
        assert lookup.status_code == 429
        # Another kiosk, and customer care, are not that device.
        other = await h.client.post(
            f"/v1/offices/{code}/check-ins", json=body, headers=h.auth("kiosk", office=code, sub="kiosk-2")
        )
        assert other.status_code != 429
        desk = h.auth("customer_care", office=code)
        desk_codes = [
            (await h.client.post(f"/v1/offices/{code}/check-ins", json=body, headers=desk)).status_code
            for _ in range(3)
        ]
        assert 429 not in desk_codes
        # A display polling the board is one device too; the public without a token is not a device.
        display = h.auth("display", office=code, sub="board-1")
        board = [(await h.client.get(f"/v1/lines/{code}/estimates", headers=display)).status_code for _ in range(3)]
        assert board == [200, 200, 429]
        assert (await h.client.get(f"/v1/lines/{code}/estimates")).status_code == 200


# -- ticket actions at the stage's role ------------------------------------------------------------------


async def test_ticket_actions_take_the_role_of_the_tickets_stage(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    await queue.arrived(code, s["slot_id"])
    verifier = queue.auth("verifier", office=code, sub="ver-1")
    interviewer = queue.auth("interviewer", office=code, sub="int-1")
    care = queue.auth("customer_care", office=code, sub="cs-1")
    wrong_call = await queue.client.post(
        f"/v1/offices/{code}/counters/1/call-next", json={"stage": "VERIFICATION"}, headers=interviewer
    )
    assert wrong_call.status_code == 403 and wrong_call.json()["code"] == "stage_not_allowed"
    called = await queue.client.post(
        f"/v1/offices/{code}/counters/1/call-next", json={"stage": "VERIFICATION"}, headers=verifier
    )
    assert called.status_code == 200, called.text
    ticket = called.json()["ticket_id"]
    for action, body in (("recall", None), ("no-show", None), ("complete", None), ("transfer", {"stage": "INTERVIEW"})):
        refused = await queue.client.post(f"/v1/tickets/{ticket}/{action}", json=body, headers=interviewer)
        assert refused.status_code == 403 and refused.json()["code"] == "wrong_stage_role", action
        assert refused.json()["stage"] == "VERIFICATION"
    # Customer care serves verification too (the rule of the counters), so it may recall there.
    assert (await queue.client.post(f"/v1/tickets/{ticket}/recall", headers=care)).status_code == 200
    done = await queue.client.post(f"/v1/tickets/{ticket}/complete", headers=verifier)
    assert done.status_code == 200 and done.json()["stage"] == "INTERVIEW"
    # At interview the verifier and customer care are the wrong roles, the interviewer the right one.
    for headers in (verifier, care):
        refused = await queue.client.post(
            f"/v1/tickets/{ticket}/transfer", json={"stage": "VERIFICATION"}, headers=headers
        )
        assert refused.status_code == 403 and refused.json()["code"] == "wrong_stage_role"
    back = await queue.client.post(
        f"/v1/tickets/{ticket}/transfer", json={"stage": "VERIFICATION"}, headers=interviewer
    )
    assert back.status_code == 200 and back.json()["stage"] == "VERIFICATION"


# -- office settings bounds, reports' readers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "too_far", "at_bound"),
    [
        ("booking_window_days", 366, 365),
        ("checkin_early_minutes", 1441, 1440),
        ("checkin_late_minutes", 1441, 0),
        ("biometric_retention_days", 91, 90),
        ("fingerprint_quality_threshold", 101, 100),
        ("near_turn_position", 51, 50),
        ("no_show_after_calls", 11, 10),
        ("bill_validity_seconds", 30 * 86_400 + 1, 30 * 86_400),
        ("pickup_working_days", 61, 60),
        ("biometric_retention_days", -1, 0),
    ],
)
async def test_office_rules_outside_their_bounds_are_refused_naming_the_rule(
    queue: QueueHarness, rule: str, too_far: int, at_bound: int
) -> None:
    code = await queue.office()
    admin = queue.auth("admin", office=code)
    url = f"/v1/offices/{code}/settings"
    put = await queue.client.put(url, json={"settings": {rule: too_far}}, headers=admin)
    patch = await queue.client.patch(url, json={"settings": {rule: too_far}}, headers=admin)
    for refused in (put, patch):
        assert refused.status_code == 422
        assert rule in str(refused.json()), refused.text
    view = await queue.client.get(url, headers=queue.auth("supervisor", office=code))
    assert view.json()["settings"][rule] != too_far
    ok = await queue.client.patch(url, json={"settings": {rule: at_bound}}, headers=admin)
    assert ok.status_code == 200 and ok.json()["settings"][rule] == at_bound


async def test_reports_are_read_by_the_supervisor_and_the_head_of_office_and_settings_written_by_admin(
    queue: QueueHarness,
) -> None:
    code = await queue.office()
    daily = f"/v1/offices/{code}/reports/daily"
    for role in ("supervisor", "head_of_office"):
        r = await queue.client.get(daily, params={"date": DAY0.isoformat()}, headers=queue.auth(role, office=code))
        assert r.status_code == 200, role
        monthly = await queue.client.get(
            f"/v1/offices/{code}/reports/monthly", params={"month": "2026-12"}, headers=queue.auth(role, office=code)
        )
        assert monthly.status_code == 200, role
    for role in ("interviewer", "admin", "kiosk", "national_admin"):
        r = await queue.client.get(daily, params={"date": DAY0.isoformat()}, headers=queue.auth(role, office=code))
        assert r.status_code == 403, role
    other = await queue.client.get(
        daily, params={"date": DAY0.isoformat()}, headers=queue.auth("head_of_office", office="BLT")
    )
    assert other.status_code == 403
    for role in ("supervisor", "head_of_office", "national_admin"):
        r = await queue.client.patch(
            f"/v1/offices/{code}/settings",
            json={"settings": {"near_turn_position": 4}},
            headers=queue.auth(role, office=code),
        )
        assert r.status_code == 403, role


# -- control characters ------------------------------------------------------------------------------------


async def test_control_characters_in_free_text_answer_422_and_store_nothing(queue: QueueHarness) -> None:
    code, s = await queue.office_with_slot()
    nul_name = await queue.book(code, s["slot_id"], applicant=queue.applicant(full_name="Siti\x00Aminah"))
    escape_name = await queue.book(code, s["slot_id"], applicant=queue.applicant(full_name="Siti\x1b[31m"))
    two_lines = await queue.book(code, s["slot_id"], applicant=queue.applicant(full_name="Siti\nAminah"))
    for refused in (nul_name, escape_name, two_lines):
        assert refused.status_code == 422, refused.text
    app = await queue.booked(code, s["slot_id"])
    receipt = app["receipt_number"]
    cancel = await queue.client.post(
        f"/v1/applications/{receipt}/cancel", json={"birth_date": app["birth_date"], "detail": "sakit\x00"}
    )
    assert cancel.status_code == 422 and "detail" in cancel.text
    sup = queue.auth("supervisor", office=code)
    assert (await queue.client.get("/v1/audit", params={"receipt": receipt + "\x00"}, headers=sup)).status_code == 422
    monthly = await queue.client.get(f"/v1/offices/{code}/reports/monthly", params={"month": "2026\x0012"}, headers=sup)
    assert monthly.status_code == 422
    assert (await queue.client.get("/v1/offices/A%00B/slots")).status_code == 422
    named = await queue.client.patch(
        f"/v1/offices/{code}/settings", json={"name": "Kantor\x7f"}, headers=queue.auth("admin", office=code)
    )
    assert named.status_code == 422
    seats = await queue.client.patch(
        f"/v1/offices/{code}/settings",
        json={"settings": {"priority_seats": ["P1", "P\x002"]}},
        headers=queue.auth("admin", office=code),
    )
    assert seats.status_code == 422
    # A tab or a line break is text where text may have lines.
    fine = await queue.client.post(
        f"/v1/applications/{receipt}/cancel", json={"birth_date": app["birth_date"], "detail": "sakit\n\tdemam"}
    )
    assert fine.status_code == 200


def test_every_free_text_field_of_every_request_carries_the_no_control_pattern() -> None:
    from sambang_queue.app import create_app
    from sambang_runtime.settings import RuntimeSettings

    doc = create_app(RuntimeSettings(environment="test")).openapi()
    components = doc["components"]["schemas"]
    bare: list[str] = []

    def walk(schema: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(components[name], where, seen | {name})
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in schema.get(key, []):
                walk(sub, where, seen)
        if schema.get("type") == "string" and not {"pattern", "enum", "format", "const"} & schema.keys():
            bare.append(where)
        for name, sub in schema.get("properties", {}).items():
            walk(sub, f"{where}.{name}", seen)
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], f"{where}[]", seen)
        if isinstance(schema.get("additionalProperties"), dict):
            walk(schema["additionalProperties"], f"{where}{{}}", seen)

    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            for p in op.get("parameters", []):
                # The runtime's receipt path (valid_receipt) and the Idempotency-Key (checked printable
                # ASCII by idempotency_of) are validated in code with their own problem codes.
                if (p["in"], p["name"]) in {("path", "receipt_number"), ("header", "Idempotency-Key")}:
                    continue
                walk(p.get("schema", {}), f"{method.upper()} {path} {p['in']}:{p['name']}", frozenset())
            for content in op.get("requestBody", {}).get("content", {}).values():
                walk(content.get("schema", {}), f"{method.upper()} {path} body", frozenset())
    assert bare == []
