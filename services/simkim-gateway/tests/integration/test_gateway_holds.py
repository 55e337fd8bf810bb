"""Cekal and duplicate-passport holds: raised by SIMKIM, seen by supervisors and the head of office only,
decided by the head of office alone, once (not by the interviewer), and the decision carried to SIMKIM."""

from __future__ import annotations

import random

from conftest import Capture, ProbedFactory
from gateway_support import INTERVIEWER, Simkim, new_application
from sambang_contracts.enums import ServiceType
from sambang_runtime.testing import eventually


async def test_a_watch_list_hit_is_held_for_supervisors_and_released_by_another_officer_then_issued(
    probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw, probe = await probed()
    app = new_application(rng)
    await simkim.watchlist(app.nik)
    capture[0].bundles[app.receipt] = app.bundle
    await gw.publish(app.registered(), app.paid(), app.captured(), app.interviewed())

    [raised] = await probe.wait_for("simkim.hold.raised", subject=app.receipt)
    assert raised.data.kind == "CEKAL"
    body = await gw.wait_state(app.receipt, "HELD")
    assert body["hold"]["kind"] == "CEKAL"
    assert body["hold"]["interview_officer_id"] == INTERVIEWER

    # Supervisors and the head of office see it; a service sees the state but not the hold; nobody else.
    for reader in ("supervisor", "head_of_office"):
        holds = await gw.client.get("/v1/holds", params={"office": "BLT"}, headers=gw.auth(reader))
        assert holds.status_code == 200, reader
        assert [h["receipt_number"] for h in holds.json()] == [app.receipt]
    as_service = await gw.client.get(f"/v1/submissions/{app.receipt}", headers=gw.auth("service", office="QUE"))
    assert as_service.status_code == 200
    assert as_service.json()["state"] == "HELD" and as_service.json()["hold"] is None
    as_head = await gw.client.get(f"/v1/submissions/{app.receipt}", headers=gw.auth("head_of_office"))
    assert as_head.status_code == 200 and as_head.json()["hold"]["kind"] == "CEKAL"
    for headers in (gw.auth("sambang_officer"), gw.auth("kiosk"), gw.auth("interviewer"), {}):
        r = await gw.client.get("/v1/holds", headers=headers)
        assert r.status_code in (401, 403), r.text
    elsewhere = await gw.client.get("/v1/holds", params={"office": "BLT"}, headers=gw.auth("supervisor", office="MLG"))
    assert elsewhere.status_code == 403
    # A receipt number with a typo is refused before any look-up, on every route that takes one.
    for bad in (
        await gw.client.get("/v1/submissions/BLT-not-a-receipt", headers=gw.auth("supervisor")),
        await gw.client.post("/v1/holds/BLT-not-a-receipt/decision", json={}, headers=gw.auth("head_of_office")),
    ):
        assert bad.status_code == 422, bad.text
        assert bad.json()["code"] == "invalid_receipt_number"

    decision = {"decision": "RELEASE", "reason": "Nama sama, orang berbeda (different person, same name)"}
    # A supervisor does not decide holds (the head of office does), nor does a national admin or anyone else.
    for role in ("supervisor", "admin", "national_admin", "interviewer", "service"):
        r = await gw.client.post(f"/v1/holds/{app.receipt}/decision", json=decision, headers=gw.auth(role))
        assert r.status_code == 403, (role, r.text)
    other_office = await gw.client.post(
        f"/v1/holds/{app.receipt}/decision", json=decision, headers=gw.auth("head_of_office", office="MLG")
    )
    assert other_office.status_code == 403
    # The head of office who interviewed this applicant may not decide it.
    own = await gw.client.post(
        f"/v1/holds/{app.receipt}/decision", json=decision, headers=gw.auth("head_of_office", sub=INTERVIEWER)
    )
    assert own.status_code == 403
    assert own.json()["code"] == "decider_is_interviewer"
    r = await gw.client.post(f"/v1/holds/{app.receipt}/decision", json=decision, headers=gw.auth("head_of_office"))
    assert r.status_code == 200, r.text
    assert r.json()["decision"] == "RELEASE"
    # Decided once: the same decision again, or another head's, is refused.
    again = await gw.client.post(f"/v1/holds/{app.receipt}/decision", json=decision, headers=gw.auth("head_of_office"))
    assert again.status_code == 409 and again.json()["code"] == "hold_already_decided"
    other = await gw.client.post(
        f"/v1/holds/{app.receipt}/decision",
        json={"decision": "DENY", "reason": "x"},
        headers=gw.auth("head_of_office", sub="head-2"),
    )
    assert other.status_code == 409 and other.json()["code"] == "hold_already_decided"

    [decided] = await probe.wait_for("simkim.hold.decided", subject=app.receipt)
    assert (decided.data.decision, decided.data.decided_by) == ("RELEASE", "head-of-office-1")
    await probe.wait_for("simkim.passport.issued", subject=app.receipt)
    assert (await gw.submission(app.receipt))["state"] == "ISSUED"
    assert (await simkim.stats())["by_status"] == {"ISSUED": 1}
    assert (await gw.client.get("/v1/holds", headers=gw.auth("supervisor"))).json() == []


async def test_a_duplicate_passport_is_held_and_a_denial_ends_the_application(
    probed: ProbedFactory, simkim: Simkim, capture: Capture, rng: random.Random
) -> None:
    gw, probe = await probed()
    new = new_application(rng)
    renewal = new_application(rng, service_type=ServiceType.RENEWAL)
    await simkim.passports(**{f"n{new.nik}": "X1234567", f"n{renewal.nik}": "X7654321"})
    for app in (new, renewal):
        capture[0].bundles[app.receipt] = app.bundle
        await gw.publish(app.registered(), app.paid(), app.captured(), app.interviewed())

    [raised] = await probe.wait_for("simkim.hold.raised", subject=new.receipt)
    assert raised.data.kind == "DUPLICATE_PASSPORT"
    # A renewal supersedes the passport in force: not a duplicate.
    await probe.wait_for("simkim.passport.issued", subject=renewal.receipt)
    assert probe.of("simkim.hold.raised", renewal.receipt) == []

    r = await gw.client.post(
        f"/v1/holds/{new.receipt}/decision",
        json={"decision": "DENY", "reason": "Paspor aktif belum dikembalikan"},
        headers=gw.auth("head_of_office"),
    )
    assert r.status_code == 200, r.text
    await gw.wait_state(new.receipt, "DENIED")

    async def simkim_denied() -> bool:
        return bool((await simkim.stats())["by_status"].get("DENIED") == 1)

    await eventually(simkim_denied, 15, "SIMKIM told of the denial")
    # The gateway recorded that SIMKIM has the denial: no call is due for it any more, so nothing can be
    # issued; whatever it emitted before has reached the probe.
    await gw.wait_idle(new.receipt)
    await gw.settled(probe)
    assert probe.of("simkim.passport.issued", new.receipt) == []
    r = await gw.client.post(
        f"/v1/holds/{renewal.receipt}/decision",
        json={"decision": "DENY", "reason": "x"},
        headers=gw.auth("head_of_office"),
    )
    assert r.status_code == 404
    assert r.json()["code"] == "hold_not_found"
