"""Safe by default (#16) in payment: national powers are national_admin's alone, partner keys and
settlement payments take a second person's approval (four eyes, once only, never a login), and free
text (request fields, settlement lines) refuses control characters."""

from __future__ import annotations

from typing import Any

import pytest
from payment_support import HarnessFactory, PaymentHarness
from sambang_payment.domain.settlement import settlement_sha256
from sambang_payment.models import AUDIT, DISCREPANCY, PAYMENT, RECONCILIATION
from sambang_payment.stores.schedules import shipped_schedule
from sqlalchemy import select

HEADER = "billing_code,ntpn,amount,paid_at,channel,bank_reference"
NATIONAL_ROUTES = (
    ("PUT", "/v1/fees"),
    ("GET", "/v1/partners"),
    ("POST", "/v1/partners"),
    ("POST", "/v1/partners/BANKBRI/rotate"),
    ("POST", "/v1/partners/BANKBRI/revoke"),
)
OTHER_ROLES = (
    "customer_care",
    "verifier",
    "sambang_officer",
    "interviewer",
    "supervisor",
    "head_of_office",
    "admin",
    "kiosk",
    "display",
    "service",
)


def refusal(r: Any) -> tuple[int, str, str | None]:
    body = r.json()
    return r.status_code, body.get("code"), body.get("reason")


async def audit_rows(h: PaymentHarness) -> list[Any]:
    async with h.runtime.engine.connect() as conn:
        return list((await conn.execute(select(AUDIT).order_by(AUDIT.c.id))).all())


# --- national powers --------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), NATIONAL_ROUTES)
async def test_fees_and_partners_are_refused_to_every_role_but_national_admin(
    payment_harness: HarnessFactory, method: str, path: str
) -> None:
    h = await payment_harness(backend="sqlite+memory")
    bodies: dict[str, Any] = {
        "/v1/fees": shipped_schedule().model_dump(mode="json") | {"effective_from": "2027-06-01", "name": "Baru"},
        "/v1/partners": {"partner_id": "BANKBRI", "name": "BRI"},
        "/v1/partners/BANKBRI/rotate": {},
        "/v1/partners/BANKBRI/revoke": {"key_id": "BANKBRI-1"},
    }
    body = bodies.get(path)
    for role in OTHER_ROLES:
        r = await h.client.request(method, path, json=body, headers=h.token(role))
        assert refusal(r)[:2] == (403, "forbidden"), (method, path, role)
    assert (await h.client.request(method, path, json=body)).status_code == 401
    # A national admin passes the role check (partner actions then ask for the approval).
    r = await h.client.request(method, path, json=body, headers=h.national())
    if method == "POST":
        assert refusal(r) == (403, "approval_invalid", "missing")
    else:
        assert r.status_code in (200, 201), r.text


# --- four eyes on partners ------------------------------------------------------------------------


async def test_creating_a_partner_needs_a_second_national_admins_approval_for_that_partner(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    me = h.national("national-1")
    body = {"partner_id": "BANKBRI", "name": "BRI"}

    async def create(approval: dict[str, str]) -> Any:
        return await h.client.post("/v1/partners", json=body, headers={**me, **approval})

    assert refusal(await create({})) == (403, "approval_invalid", "missing")
    own = h.approval("partner_create", "BANKBRI", sub="national-1")
    assert refusal(await create(own)) == (403, "approval_invalid", "self_approval")
    other_partner = h.approval("partner_create", "BANKBNI")
    assert refusal(await create(other_partner)) == (403, "approval_invalid", "wrong_subject")
    rotation = h.approval("partner_rotate", "BANKBRI")
    assert refusal(await create(rotation)) == (403, "approval_invalid", "wrong_action")
    # A supervisor may approve a settlement, never a partner.
    supervisor = h.approval("settlement_apply", "BANKBRI", sub="sup-2", roles=("supervisor",), office="BLT")
    assert refusal(await create(supervisor))[:2] == (403, "approval_invalid")
    # A login token is not an approval.
    login = {"X-Supervisor-Approval": h.national("national-2")["Authorization"].removeprefix("Bearer ")}
    assert refusal(await create(login))[:2] == (403, "approval_invalid")
    assert await audit_rows(h) == []
    # A second national admin of another office approves it: created, once.
    good = h.approval("partner_create", "BANKBRI", sub="national-2", office="JKT")
    created = await create(good)
    assert created.status_code == 201, created.text
    again = await h.client.post(
        "/v1/partners", json=body | {"partner_id": "BANKBRI"}, headers={**h.national("national-3"), **good}
    )
    assert refusal(again)[:2] == (409, "approval_used")
    [row] = await audit_rows(h)
    assert (row.officer, row.approved_by, row.approver_office, row.action) == (
        "national-1",
        "national-2",
        "JKT",
        "PARTNER_REGISTERED",
    )


async def test_an_approval_for_an_action_that_fails_is_not_used_up(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    await h.new_partner("BANKBRI")
    approval = h.approval("partner_create", "BANKBRI")
    taken = await h.client.post(
        "/v1/partners", json={"partner_id": "BANKBRI", "name": "BRI"}, headers={**h.national(), **approval}
    )
    assert refusal(taken)[:2] == (409, "partner_exists")
    rotate = h.approval("partner_rotate", "BANKBRI")
    bad_body = await h.client.post(
        "/v1/partners/BANKBRI/revoke",
        json={"key_id": "NOPE-1"},
        headers={**h.national(), **h.approval("partner_revoke", "BANKBRI")},
    )
    assert refusal(bad_body)[:2] == (404, "unknown_key")
    ok = await h.client.post("/v1/partners/BANKBRI/rotate", json={}, headers={**h.national(), **rotate})
    assert ok.status_code == 200
    reused = await h.client.post("/v1/partners/BANKBRI/rotate", json={}, headers={**h.national(), **rotate})
    assert refusal(reused)[:2] == (409, "approval_used")


async def test_rotating_and_revoking_take_an_approval_naming_that_partner(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    key_id, _ = await h.new_partner("BANKBRI")
    await h.new_partner("BANKBNI")
    me = h.national()
    for path, action, body in (
        ("/v1/partners/BANKBRI/rotate", "partner_rotate", {}),
        ("/v1/partners/BANKBRI/revoke", "partner_revoke", {"key_id": key_id}),
    ):
        assert refusal(await h.client.post(path, json=body, headers=me)) == (403, "approval_invalid", "missing")
        for_other = h.approval(action, "BANKBNI")
        refused = await h.client.post(path, json=body, headers={**me, **for_other})
        assert refusal(refused) == (403, "approval_invalid", "wrong_subject")
        ok = await h.client.post(path, json=body, headers={**me, **h.approval(action, "BANKBRI")})
        assert ok.status_code in (200, 204), ok.text
    rows = await audit_rows(h)
    assert [(r.action, r.partner_id, r.approved_by) for r in rows[-2:]] == [
        ("PARTNER_KEY_ROTATED", "BANKBRI", "national-2"),
        ("PARTNER_KEY_REVOKED", "BANKBRI", "national-2"),
    ]


# --- four eyes on settlements ---------------------------------------------------------------------


def settlement(h: PaymentHarness, *bills: Any, prefix: str = "NTPN00000000A") -> str:
    lines = [HEADER] + [
        f"{b.billing_code},{prefix}{i:03d},{b.amount},{h.clock().isoformat()},TELLER,SET-{i}"
        for i, b in enumerate(bills)
    ]
    return "\n".join(lines) + "\n"


async def post_settlement(
    h: PaymentHarness,
    text: str,
    *,
    caller: dict[str, str] | None = None,
    approval: dict[str, str] | None = None,
    **params: str,
) -> Any:
    headers = {**(caller or h.token("supervisor", sub="sup-1")), "Content-Type": "text/csv", **(approval or {})}
    return await h.client.post(
        "/v1/reconciliations", params={"partner": "BANKBRI", **params}, content=text.encode(), headers=headers
    )


def supervisor_approval(h: PaymentHarness, text: str, *, sub: str = "sup-2", office: str = "BLT") -> dict[str, str]:
    return h.approval(
        "settlement_apply", settlement_sha256(text.encode()), sub=sub, roles=("supervisor",), office=office
    )


async def test_without_an_approval_a_settlement_is_a_dry_run_that_changes_nothing(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    key_id, secret = await h.new_partner()
    bills = [await h.bill(await h.register()) for _ in range(3)]
    paid = bills[0]
    await h.notify(key_id, secret, h.payment_body(paid, "NTPN00000000A000"))
    await h.settled()
    confirmed_before = len(h.probe.of("payment.confirmed"))
    second_payment = f"{paid.billing_code},NTPN00000000B999,{paid.amount},{h.clock().isoformat()},ATM,SET-X"
    text = (
        settlement(h, *bills)
        + f"{bills[1].billing_code},NTPN00000000B001,{bills[1].amount},{h.clock().isoformat()},ATM,SET-Y\n"
        + second_payment
        + "\n"
    )
    r = await post_settlement(h, text)
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["dry_run"] is True
    assert (preview["matched"], preview["would_apply"], preview["other_office"]) == (1, 2, 0)
    kinds = sorted(d["kind"] for d in preview["discrepancies"])
    # bill 1 twice in the file: the second NTPN would be a double payment; bill 0 paid already.
    assert kinds == ["DOUBLE_PAYMENT", "DOUBLE_PAYMENT"]
    assert preview["approval_action"] == "settlement_apply"
    assert preview["approval_subject"] == preview["file_sha256"] == settlement_sha256(text.encode())
    assert preview["already_processed"] is False
    # Nothing applied, recorded or emitted.
    assert await h.count(PAYMENT) == 1 and await h.count(DISCREPANCY) == 0 and await h.count(RECONCILIATION) == 0
    assert [(await h.bill(b.receipt_number)).status for b in bills] == ["PAID", "UNPAID", "UNPAID"]
    await h.settled()
    assert len(h.probe.of("payment.confirmed")) == confirmed_before
    assert h.probe.of("payment.discrepancy.detected") == []
    # The same bytes with an approval apply what the dry run said.
    applied = await post_settlement(h, text, approval=supervisor_approval(h, text))
    assert applied.status_code == 200, applied.text
    result = applied.json()
    assert result["dry_run"] is False
    assert (result["matched"], result["applied"]) == (preview["matched"], preview["would_apply"])
    assert sorted(d["kind"] for d in result["discrepancies"]) == kinds
    assert [(await h.bill(b.receipt_number)).status for b in bills] == ["PAID", "PAID", "PAID"]
    # A dry run of applied bytes says so.
    again = (await post_settlement(h, text)).json()
    assert again["dry_run"] is True and again["already_processed"] is True and again["would_apply"] == 0


async def test_a_settlement_approval_must_fit_the_bytes_the_office_and_another_person(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    await h.new_partner()
    bill = await h.bill(await h.register())
    text = settlement(h, bill)
    other_file = text + "\n"
    cases = [
        (supervisor_approval(h, other_file), "wrong_subject"),
        (supervisor_approval(h, text, sub="sup-1"), "self_approval"),
        (supervisor_approval(h, text, office="MLG"), "wrong_office"),
        (h.approval("partner_create", settlement_sha256(text.encode())), "wrong_action"),
        ({"X-Supervisor-Approval": "junk"}, "malformed"),
    ]
    for approval, reason in cases:
        r = await post_settlement(h, text, approval=approval)
        assert refusal(r) == (403, "approval_invalid", reason)
    assert await h.count(PAYMENT) == 0 and (await h.bill(bill.receipt_number)).status == "UNPAID"
    # A national admin of another office may approve; the approval works once.
    national = h.approval("settlement_apply", settlement_sha256(text.encode()), sub="national-9", office="PST")
    assert (await post_settlement(h, text, approval=national)).json()["applied"] == 1
    reused = await post_settlement(h, text, approval=national)
    assert refusal(reused)[:2] == (409, "approval_used")
    [row] = [r for r in await audit_rows(h) if r.action == "SETTLEMENT_UPLOADED"]
    assert (row.officer, row.approved_by, row.approver_office) == ("sup-1", "national-9", "PST")


async def test_a_national_admin_reconciles_any_office_and_a_supervisor_only_their_own(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    await h.new_partner()
    mlg = await h.bill(await h.register(office="MLG"))
    text = settlement(h, mlg)
    wrong = await post_settlement(h, text, office="MLG")
    assert refusal(wrong)[:2] == (403, "wrong_office")
    for role in ("verifier", "admin", "head_of_office", "kiosk"):
        assert (await post_settlement(h, text, caller=h.token(role))).status_code == 403, role
    national = h.national("national-1")
    preview = (await post_settlement(h, text, caller=national, office="MLG")).json()
    assert (preview["office"], preview["would_apply"]) == ("MLG", 1)
    # Approved by an MLG supervisor (not a BLT one).
    blt = supervisor_approval(h, text, office="BLT")
    assert refusal(await post_settlement(h, text, caller=national, office="MLG", approval=blt))[2] == "wrong_office"
    ok = await post_settlement(
        h, text, caller=national, office="mlg", approval=supervisor_approval(h, text, office="MLG")
    )
    assert ok.status_code == 200 and ok.json()["applied"] == 1 and ok.json()["office"] == "MLG"
    assert (await h.bill(mlg.receipt_number)).status == "PAID"


# --- control characters ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\x7f", "\x85", "\x08"])
async def test_a_settlement_line_with_a_control_character_refuses_the_file_naming_the_line(
    payment_harness: HarnessFactory, bad: str
) -> None:
    h = await payment_harness(backend="sqlite+memory")
    await h.new_partner()
    bill = await h.bill(await h.register())
    good = f"{bill.billing_code},NTPN00000000C001,{bill.amount},{h.clock().isoformat()},TELLER,SET-1"
    tainted = f"{bill.billing_code},NTPN00000000C002,{bill.amount},{h.clock().isoformat()},TELLER,SET{bad}2"
    text = "\r\n".join([HEADER, good, tainted, good.replace("C001", "C003")]) + "\r\n"
    for approval in ({}, supervisor_approval(h, text)):
        r = await post_settlement(h, text, approval=approval)
        assert r.status_code == 422 and r.json()["code"] == "settlement_control_characters"
        assert r.json()["line"] == 3
    assert await h.count(PAYMENT) == 0 and await h.count(RECONCILIATION) == 0


async def test_free_text_of_requests_refuses_control_characters(payment_harness: HarnessFactory) -> None:
    h = await payment_harness(backend="sqlite+memory")
    key_id, secret = await h.new_partner()
    named = await h.client.post(
        "/v1/partners",
        json={"partner_id": "BANKNUL", "name": "Bank\x00Nul"},
        headers={**h.national(), **h.approval("partner_create", "BANKNUL")},
    )
    assert named.status_code == 422 and named.json()["code"] == "validation_failed"
    revoke = await h.client.post(
        "/v1/partners/BANKBRI/revoke",
        json={"key_id": "BANKBRI-\x1b"},
        headers={**h.national(), **h.approval("partner_revoke", "BANKBRI")},
    )
    assert revoke.status_code == 422
    bill = await h.bill(await h.register())
    notice = h.payment_body(bill, "NTPN00000000T001") | {"bank_reference": "REF\x00"}
    assert (await h.notify(key_id, secret, notice)).status_code == 422
    assert (await h.bill(bill.receipt_number)).status == "UNPAID"
    bad_partner = await h.client.post(
        "/v1/reconciliations",
        params={"partner": "BANK\x00"},
        content=HEADER.encode(),
        headers={**h.token("supervisor"), "Content-Type": "text/csv"},
    )
    assert bad_partner.status_code == 422
    bad_office = await h.client.get("/v1/discrepancies", params={"office": "B\x00T"}, headers=h.token("supervisor"))
    assert bad_office.status_code == 422
