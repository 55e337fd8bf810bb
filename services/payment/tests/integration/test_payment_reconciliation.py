"""Settlement reconciliation on PostgreSQL and RabbitMQ: missing webhooks applied once, files once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from payment_support import HarnessFactory, PaymentHarness
from sambang_payment.domain.settlement import settlement_sha256
from sambang_payment.models import DISCREPANCY, PAYMENT, RECONCILIATION
from sambang_payment.settings import PaymentSettings

HEADER = "billing_code,ntpn,amount,paid_at,channel,bank_reference"


def row(
    h: PaymentHarness, bill: Any, ntpn: str, *, amount: int | None = None, paid_at: dt.datetime | None = None
) -> str:
    """A settlement line paying a bill, paid now by the service clock unless said."""
    when = (paid_at or h.clock()).isoformat()
    return f"{bill.billing_code},{ntpn},{bill.amount if amount is None else amount},{when},TELLER,SET-{ntpn}"


def approval(h: PaymentHarness, text: str | bytes, *, office: str = "BLT", sub: str = "sup-2") -> dict[str, str]:
    """A second supervisor's approval of applying exactly these bytes."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return h.approval("settlement_apply", settlement_sha256(raw), sub=sub, roles=("supervisor",), office=office)


async def upload(
    h: PaymentHarness,
    text: str,
    *,
    partner: str = "BANKBRI",
    office: str = "BLT",
    approve: bool = True,
    headers: dict[str, str] | None = None,
    **params: str,
) -> Any:
    """Upload a settlement file as a supervisor of ``office``; applied with a second supervisor's
    approval unless ``approve`` is False (a dry run)."""
    sent = {**h.token("supervisor", office=office, sub="sup-1"), "Content-Type": "text/csv"}
    if approve:
        sent |= approval(h, text, office=office)
    return await h.client.post(
        "/v1/reconciliations",
        params={"partner": partner, **params},
        content=text.encode("utf-8"),
        headers=sent | (headers or {}),
    )


async def setup(h: PaymentHarness, n: int) -> tuple[str, str, list[Any]]:
    key_id, secret = await h.new_partner()
    receipts = [await h.register() for _ in range(n)]
    return key_id, secret, [await h.bill(r) for r in receipts]


async def test_a_payment_whose_webhook_never_came_is_applied_from_the_settlement_once(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    key_id, secret, (webhooked, silent) = await setup(h, 2)
    assert (await h.notify(key_id, secret, h.payment_body(webhooked, "NTPN0000000000W1"))).json()[
        "outcome"
    ] == "APPLIED"
    text = "\r\n".join([HEADER, row(h, webhooked, "NTPN0000000000W1"), row(h, silent, "NTPN0000000000S1")]) + "\r\n"
    r = await upload(h, "\ufeff" + text)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["matched"], result["applied"], result["discrepancies"], result["errors"]) == (1, 1, [], [])
    assert result["already_processed"] is False
    events = await h.probe.wait_for("payment.confirmed", 2)
    settled = [e for e in events if e.subject == silent.receipt_number]
    assert len(settled) == 1 and settled[0].data.source == "SETTLEMENT" and settled[0].data.channel == "TELLER"
    assert (await h.bill(silent.receipt_number)).status == "PAID"
    # The same file again applies nothing and answers the first result.
    again = await upload(h, "\ufeff" + text)
    assert again.status_code == 200
    assert again.json() == {**result, "already_processed": True}
    # The late webhook for the settled payment is a duplicate, not a second payment.
    late = await h.notify(key_id, secret, h.payment_body(silent, "NTPN0000000000S1") | {"channel": "TELLER"})
    assert late.json()["outcome"] == "DUPLICATE"
    await h.settled()
    assert len(h.probe.of("payment.confirmed")) == 2
    assert await h.count(PAYMENT) == 2
    assert await h.count(RECONCILIATION) == 1


async def test_same_rows_in_different_bytes_apply_nothing_twice(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    _, _, (bill,) = await setup(h, 1)
    lines = [HEADER, row(h, bill, "NTPN0000000000B1")]
    first = await upload(h, "\n".join(lines) + "\n")
    second = await upload(h, "\r\n".join(lines))  # another file (other bytes), same payment
    assert (first.json()["applied"], second.json()["applied"]) == (1, 0)
    assert second.json()["matched"] == 1 and second.json()["already_processed"] is False
    await h.probe.wait_for("payment.confirmed")
    await h.settled()
    assert len(h.probe.of("payment.confirmed")) == 1


async def test_our_payment_missing_from_the_file_is_reported_once(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    key_id, secret, (a, b) = await setup(h, 2)
    await h.notify(key_id, secret, h.payment_body(a, "NTPN0000000000M1"))
    text = "\n".join([HEADER, row(h, b, "NTPN0000000000M2")])
    result = (await upload(h, text)).json()
    assert result["applied"] == 1
    [missing] = result["discrepancies"]
    assert missing["kind"] == "MISSING_IN_SETTLEMENT" and missing["ntpn"] == "NTPN0000000000M1"
    assert missing["line"] is None
    [event] = await h.probe.wait_for("payment.discrepancy.detected")
    assert event.data.kind == "MISSING_IN_SETTLEMENT" and event.data.receipt_number == a.receipt_number
    # A corrected file for the same day without it again: no second discrepancy.
    await upload(h, text + "\n")
    await h.settled()
    assert len(h.probe.of("payment.discrepancy.detected")) == 1
    listed = (await h.client.get("/v1/discrepancies", headers=h.token("supervisor"))).json()
    assert [d["kind"] for d in listed["items"]] == ["MISSING_IN_SETTLEMENT"]
    today = h.clock().date()  # 09:00 in Jakarta: the same day
    assert (listed["office"], listed["from"], listed["to"]) == (
        "BLT",
        (today - dt.timedelta(days=30)).isoformat(),
        today.isoformat(),
    )


async def test_settlement_rows_that_disagree_become_discrepancies(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    key_id, secret, (paid, unpaid, wrong) = await setup(h, 3)
    await h.notify(key_id, secret, h.payment_body(paid, "NTPN0000000000P1"))
    unknown = type("B", (), {"billing_code": "000000000000000", "amount": 950000})()
    text = "\n".join(
        [
            HEADER,
            row(h, paid, "NTPN0000000000P1", amount=1),  # known NTPN, other amount
            row(h, paid, "NTPN0000000000P2"),  # second NTPN on a paid bill
            row(h, wrong, "NTPN0000000000P3", amount=100),  # wrong amount
            row(h, unknown, "NTPN0000000000P4"),  # unknown billing code
            row(h, unpaid, "NTPN0000000000P5", paid_at=h.clock() + dt.timedelta(hours=5)),  # late
        ]
    )
    result = (await upload(h, text)).json()
    kinds = {d["line"]: d["kind"] for d in result["discrepancies"]}
    assert kinds == {
        2: "AMOUNT_MISMATCH",
        3: "DOUBLE_PAYMENT",
        4: "AMOUNT_MISMATCH",
        5: "UNKNOWN_BILL",
        6: "LATE_PAYMENT",
    }
    assert (result["matched"], result["applied"]) == (0, 0)
    await h.probe.wait_for("payment.discrepancy.detected", 5)
    assert len(h.probe.of("payment.confirmed")) == 1  # only the webhook
    assert await h.count(DISCREPANCY) == 5


async def test_a_malformed_row_is_reported_by_line_and_the_other_rows_still_apply(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    _, _, (a, b) = await setup(h, 2)
    text = "\n".join(
        [HEADER, row(h, a, "NTPN0000000000X1"), f"{b.billing_code},bad,12.5,then,CASH,", row(h, b, "NTPN0000000000X2")]
    )
    result = (await upload(h, text)).json()
    assert result["applied"] == 2
    [error] = result["errors"]
    assert error["line"] == 3 and len(error["errors"]) >= 4
    assert len(await h.probe.wait_for("payment.confirmed", 2)) == 2


async def test_empty_file_wrong_header_and_wrong_type_are_refused_and_change_nothing(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    _, _, (bill,) = await setup(h, 1)
    empty = await upload(h, "")
    assert empty.status_code == 422 and empty.json()["code"] == "empty_settlement_file"
    assert empty.json()["detail"] == "Berkas settlement kosong"
    wrong = await h.client.post(
        "/v1/reconciliations",
        params={"partner": "BANKBRI"},
        content=(
            "ntpn,billing_code,amount,paid_at,channel,bank_reference\n" + row(h, bill, "NTPN0000000000H1")
        ).encode(),
        headers={**h.token("supervisor"), "Content-Type": "text/csv", "Accept-Language": "en"},
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_settlement_header"
    assert HEADER in wrong.json()["detail"]
    json_body = await h.client.post(
        "/v1/reconciliations", params={"partner": "BANKBRI"}, json={}, headers=h.token("supervisor")
    )
    assert json_body.status_code == 415
    unknown = await upload(h, HEADER + "\n", partner="NOBANK")
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_partner"
    assert await h.count(RECONCILIATION) == 0 and await h.count(PAYMENT) == 0
    assert (await h.bill(bill.receipt_number)).status == "UNPAID"


async def test_a_settlement_file_over_the_size_limit_gets_413_and_changes_nothing(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness(payment=PaymentSettings(sweep_interval_seconds=3600, settlement_max_bytes=1024))
    _, _, (bill,) = await setup(h, 1)
    lines = [row(h, bill, "NTPN0000000000Z1")] + [row(h, bill, f"NTPN00000000Z{i:03d}") for i in range(20)]
    r = await upload(h, HEADER + "\n" + "\n".join(lines) + "\n")
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large" and r.json()["max_bytes"] == 1024
    assert await h.count(RECONCILIATION) == 0 and await h.count(PAYMENT) == 0
    assert (await h.bill(bill.receipt_number)).status == "UNPAID"


async def test_reconciliation_and_discrepancies_are_for_supervisors_of_their_own_office(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    _, _, (blt_bill,) = await setup(h, 1)
    mlg = await h.bill(await h.register(office="MLG"))
    text = "\n".join([HEADER, row(h, blt_bill, "NTPN0000000000O1"), row(h, mlg, "NTPN0000000000O2")])
    verifier = await h.client.post(
        "/v1/reconciliations",
        params={"partner": "BANKBRI"},
        content=text.encode(),
        headers={**h.token("verifier"), "Content-Type": "text/csv"},
    )
    assert verifier.status_code == 403
    result = (await upload(h, text)).json()
    # The other office's row is left to that office's supervisor.
    assert (result["applied"], result["other_office"]) == (1, 1)
    assert (await h.bill(mlg.receipt_number)).status == "UNPAID"
    assert (await upload(h, text, office="MLG")).json()["applied"] == 1
    other = await h.client.get("/v1/discrepancies", params={"office": "MLG"}, headers=h.token("supervisor"))
    assert other.status_code == 403 and other.json()["code"] == "wrong_office"
