"""Document check, nonconformances, interview and violations on PostgreSQL and RabbitMQ."""

from __future__ import annotations

import pytest
from capture_support import ALL_OK_ADULT, CHILD_BIRTH, CaptureHarness, unique_office
from sambang_capture.models import audit_entry, document_check, violation
from sambang_contracts import Lane, ServiceType


async def test_the_checklist_follows_the_service_type(capture: CaptureHarness) -> None:
    receipt = await capture.register(service_type=ServiceType.REPLACEMENT_LOST)
    r = await capture.documents(receipt)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["complete"] is False
    assert [(c["requirement"], c["met"]) for c in body["checklist"]] == [
        ("KTP", True),
        ("KK", True),
        ("CIVIL_RECORD", True),
        ("POLICE_REPORT", False),
        ("PERDIM_11", True),
        ("STATEMENT_LETTER", True),
    ]
    r = await capture.documents(receipt, [{"kind": "POLICE_REPORT", "status": "OK"}])
    assert r.json()["complete"] is True


async def test_a_childs_checklist_asks_for_the_parents_documents(capture: CaptureHarness) -> None:
    receipt = await capture.register(birth_date=CHILD_BIRTH, service_type=ServiceType.RENEWAL)
    summary = await capture.summary(receipt)
    assert summary["fingerprints_required"] is True  # 11 years old
    assert [c["requirement"] for c in summary["documents"]["checklist"]] == [
        "KK",
        "BIRTH_CERTIFICATE",
        "FATHER_KTP",
        "MOTHER_KTP",
        "PARENTS_MARRIAGE_CERTIFICATE",
        "OLD_PASSPORT",
        "PERDIM_11",
        "STATEMENT_LETTER",
    ]
    r = await capture.documents(receipt)  # the adult's set: the child's own KTP does not stand for the parents'
    missing = {m["requirement"] for m in (await capture.complete(receipt)).json()["missing"] if m["item"] == "DOCUMENT"}
    assert r.status_code == 200 and missing == {
        "FATHER_KTP",
        "MOTHER_KTP",
        "PARENTS_MARRIAGE_CERTIFICATE",
        "OLD_PASSPORT",
    }


async def test_the_checklist_of_a_service_type_is_served_before_capture_knows_the_application(
    capture: CaptureHarness,
) -> None:
    office = unique_office()
    headers = capture.auth("sambang_officer", office=office)
    r = await capture.client.get("/v1/captures/checklists/REPLACEMENT_LOST", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()[2] == {
        "requirement": "CIVIL_RECORD",
        "kinds": ["BIRTH_CERTIFICATE", "MARRIAGE_CERTIFICATE", "DIPLOMA"],
        "holder": "APPLICANT",
    }
    assert [line["requirement"] for line in r.json()] == [
        "KTP",
        "KK",
        "CIVIL_RECORD",
        "POLICE_REPORT",
        "PERDIM_11",
        "STATEMENT_LETTER",
    ]
    child = await capture.client.get("/v1/captures/checklists/NEW", params={"age": 11}, headers=headers)
    assert [(line["requirement"], line["holder"]) for line in child.json()][2:4] == [
        ("FATHER_KTP", "FATHER"),
        ("MOTHER_KTP", "MOTHER"),
    ]
    assert (await capture.client.get("/v1/captures/checklists/NEW")).status_code == 401


async def test_a_mismatch_records_a_nonconformance_and_both_events_go_out(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    docs = [*ALL_OK_ADULT[1:], {"kind": "KTP", "status": "MISMATCH", "note": "nama di KTP: Siti Aminah binti X"}]
    r = await capture.documents(receipt, docs)
    assert r.status_code == 200, r.text
    assert r.json()["nonconformances_recorded"] == 1
    assert r.json()["complete"] is True  # shown, though mismatched: the interview weighs it
    verified = await capture.event("capture.documents.verified", receipt)
    assert {(d.kind, d.status, d.note) for d in verified.data.documents} == {
        ("KTP", "MISMATCH", None),
        ("KK", "OK", None),
        ("BIRTH_CERTIFICATE", "OK", None),
        ("PERDIM_11", "OK", None),
        ("STATEMENT_LETTER", "OK", None),
    }
    assert verified.data.officer_id == "officer-1"
    nonconformance = await capture.event("capture.nonconformance.recorded", receipt)
    assert nonconformance.data.kind == "DOCUMENT_MISMATCH"
    assert "Siti" not in nonconformance.data.detail  # the officer's note stays in capture, encrypted
    rows = {r.kind: r for r in await capture.rows(document_check, receipt)}
    assert rows["KTP"].note_enc and "Siti" not in rows["KTP"].note_enc


async def test_the_same_document_check_resent_changes_nothing_and_emits_nothing(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    assert (await capture.documents(receipt)).status_code == 200
    await capture.event("capture.documents.verified", receipt)
    again = await capture.documents(receipt)
    assert again.status_code == 200 and again.json()["complete"] is True
    await capture.relayed()  # whatever the resend emitted has reached the probe
    assert len(capture.events("capture.documents.verified", receipt)) == 1
    assert [a.action for a in await capture.rows(audit_entry, receipt)] == ["documents.checked"]


async def test_the_same_document_twice_in_one_check_is_refused(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    r = await capture.documents(receipt, [{"kind": "KK", "status": "OK"}, {"kind": "KK", "status": "MISSING"}])
    assert r.status_code == 422 and r.json()["code"] == "duplicate_document"
    assert await capture.rows(document_check, receipt) == []


async def test_a_verifier_checks_documents_but_customer_care_does_not(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    url = f"/v1/captures/{receipt}/documents"
    r = await capture.client.post(url, json=ALL_OK_ADULT, headers=capture.auth("customer_care", office=receipt[:3]))
    assert r.status_code == 403
    r = await capture.client.post(url, json=ALL_OK_ADULT, headers=capture.auth("verifier", office=receipt[:3]))
    assert r.status_code == 200


async def test_any_officer_records_a_nonconformance_once(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    url = f"/v1/captures/{receipt}/nonconformances"
    body = {"kind": "DATA_MISMATCH", "detail": "birth place on the KK differs from the form"}
    headers = capture.auth("customer_care", office=receipt[:3], sub="cc-1")
    first = await capture.client.post(url, json=body, headers=headers)
    again = await capture.client.post(url, json=body, headers=headers)
    assert first.json() == {"kind": "DATA_MISMATCH", "recorded": True}
    assert again.json() == {"kind": "DATA_MISMATCH", "recorded": False}
    event = await capture.event("capture.nonconformance.recorded", receipt)
    assert (event.data.detail, event.data.officer_id) == (body["detail"], "cc-1")
    await capture.relayed()  # whatever the resend emitted has reached the probe
    assert len(capture.events("capture.nonconformance.recorded", receipt)) == 1
    assert (await capture.summary(receipt))["nonconformances"][0]["detail"] == body["detail"]


# -- interview ---------------------------------------------------------------------------------------------


async def _interview(capture: CaptureHarness, receipt: str, **body: object):
    return await capture.client.post(f"/v1/captures/{receipt}/interview", json=body, headers=capture.officer(receipt))


async def test_a_violation_seen_at_the_interview_is_flagged_at_once(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    violation_body = {
        "category": "NONPROCEDURAL_MIGRANT_WORKER",
        "detail": "says she will work in Malaysia on a tourist passport; agent waiting outside",
    }
    r = await _interview(capture, receipt, decision="REJECTED", notes="refused", violation=violation_body)
    assert r.status_code == 200, r.text
    assert r.json()["violation_flagged"] is True and r.json()["decision"] == "REJECTED"
    flagged = await capture.event("capture.violation.flagged", receipt)
    assert flagged.data.category == "NONPROCEDURAL_MIGRANT_WORKER" and flagged.data.officer_id == "officer-1"
    decided = await capture.event("capture.interview.completed", receipt)
    assert decided.data.decision == "REJECTED"
    [row] = await capture.rows(violation, receipt)
    assert "Malaysia" not in row.detail_enc  # encrypted at rest


async def test_a_resent_interview_emits_nothing_new(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    body = {"decision": "APPROVED", "violation": {"category": "OTHER", "detail": "photo of a forged stamp"}}
    first = await _interview(capture, receipt, **body)
    again = await _interview(capture, receipt, **body)
    assert first.status_code == again.status_code == 200
    assert again.json()["unchanged"] is True and again.json()["decided_at"] == first.json()["decided_at"]
    await capture.event("capture.violation.flagged", receipt)
    await capture.relayed()  # whatever the resend emitted has reached the probe
    assert len(capture.events("capture.interview.completed", receipt)) == 1
    assert len(capture.events("capture.violation.flagged", receipt)) == 1


async def test_a_final_decision_stands_but_needs_documents_can_become_approved(capture: CaptureHarness) -> None:
    receipt = await capture.register()
    assert (await _interview(capture, receipt, decision="NEEDS_DOCUMENTS")).status_code == 200
    assert (await _interview(capture, receipt, decision="APPROVED", notes="KK brought")).status_code == 200
    r = await _interview(capture, receipt, decision="REJECTED")
    assert r.status_code == 409 and r.json()["code"] == "interview_already_decided"
    assert (await capture.summary(receipt))["interview"]["decision"] == "APPROVED"


@pytest.mark.parametrize(("lane", "mode"), [(Lane.PRIORITY, "SAMBANG"), (Lane.REGULAR, "COUNTER")])
async def test_the_interview_mode_follows_the_lane_of_the_visit(capture: CaptureHarness, lane: Lane, mode: str) -> None:
    receipt = await capture.register()
    await capture.check_in(receipt, lane=lane)

    async def lane_known() -> bool:
        return (await capture.summary(receipt))["lane"] == lane.value

    from sambang_runtime.testing import eventually

    await eventually(lane_known, 15, "check-in seen")
    r = await capture.client.post(
        f"/v1/captures/{receipt}/interview",
        json={"decision": "APPROVED"},
        headers=capture.auth("interviewer", office=receipt[:3]),
    )
    assert r.json()["mode"] == mode
    assert (await capture.event("capture.interview.completed", receipt)).data.mode == mode
