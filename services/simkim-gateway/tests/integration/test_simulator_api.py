"""The SIMKIM simulator over HTTP: idempotent on the receipt number, screening, issuance after its delay,
decisions, faults, and the counts tests rely on."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from gateway_support import Application, Simkim, new_application
from sambang_simkim_gateway.adapters.protocol import (
    ApplicationSubmission,
    Biodata,
    Biometric,
    Interview,
)


def submission(app: Application) -> dict[str, Any]:
    """The JSON body the gateway would send for this application."""
    body = ApplicationSubmission(
        receipt_number=app.receipt,
        office=app.office,
        service_type=app.service_type,
        passport_type="ELECTRONIC",
        priority_category="ELDERLY",
        validity_years=10,
        applicant=Biodata(full_name="Siti Aminah", nik=app.nik, birth_date=dt.date(1950, 5, 17)),
        interview=Interview(officer_id="interviewer-7", completed_at=app.interview_at),
        biometrics=[Biometric(**i.model_dump()) for i in app.bundle.items],
    )
    return dict(body.model_dump(mode="json"))


async def test_the_same_receipt_twice_is_one_application_with_the_same_answer(
    simkim: Simkim, rng: random.Random
) -> None:
    app = new_application(rng)
    body = submission(app)
    missing = await simkim.client.post("/simkim/v1/applications", json=body)
    assert missing.status_code == 422 and missing.json()["code"] == "idempotency_key_required"
    first = await simkim.client.post("/simkim/v1/applications", json=body, headers={"Idempotency-Key": app.receipt})
    assert first.status_code == 201, first.text
    again = await simkim.client.post("/simkim/v1/applications", json=body, headers={"Idempotency-Key": app.receipt})
    assert again.status_code == 200
    assert again.json()["reference"] == first.json()["reference"]
    stats = await simkim.stats()
    assert (stats["applications"], stats["submissions_received"]) == (1, 2)
    assert stats["received_by_receipt"] == {app.receipt: 2}


async def test_a_biometric_item_that_does_not_match_its_hash_is_refused(simkim: Simkim, rng: random.Random) -> None:
    app = new_application(rng)
    body = submission(app)
    body["biometrics"][0]["sha256"] = "0" * 64
    r = await simkim.client.post("/simkim/v1/applications", json=body, headers={"Idempotency-Key": app.receipt})
    assert r.status_code == 422 and r.json()["code"] == "biometric_hash_mismatch"
    assert (await simkim.stats())["applications"] == 0


async def test_an_accepted_application_is_issued_after_the_delay_and_cannot_be_decided(
    simkim: Simkim, rng: random.Random
) -> None:
    await simkim.issuance(3600)
    app = new_application(rng)
    r = await simkim.client.post(
        "/simkim/v1/applications", json=submission(app), headers={"Idempotency-Key": app.receipt}
    )
    ref = r.json()["reference"]
    assert r.json()["status"] == "ACCEPTED"
    assert (await simkim.client.get(f"/simkim/v1/applications/{ref}")).json()["status"] == "ACCEPTED"
    simkim.clock.advance(hours=1)
    issued = (await simkim.client.get(f"/simkim/v1/applications/{ref}")).json()
    assert issued["status"] == "ISSUED"
    assert issued["passport"]["number"].startswith("X")
    assert issued["passport"]["expires_at"].startswith("2036-12-07")
    decided = await simkim.client.post(
        f"/simkim/v1/applications/{ref}/decision", json={"decision": "RELEASE", "reason": "x", "decided_by": "head-1"}
    )
    assert decided.status_code == 409 and decided.json()["code"] == "not_held"
    assert (await simkim.client.get("/simkim/v1/applications/SKMUNKNOWN")).status_code == 404


async def test_faults_answer_503_or_500_and_leave_the_admin_side_alone(simkim: Simkim, rng: random.Random) -> None:
    app = new_application(rng)
    await simkim.faults(down=True)
    r = await simkim.client.post(
        "/simkim/v1/applications", json=submission(app), headers={"Idempotency-Key": app.receipt}
    )
    assert r.status_code == 503
    await simkim.faults(error_rate=1.0)
    r = await simkim.client.post(
        "/simkim/v1/applications", json=submission(app), headers={"Idempotency-Key": app.receipt}
    )
    assert r.status_code == 500
    stats = await simkim.stats()
    assert stats["applications"] == 0
    assert stats["refused_by_faults"] == {"DOWN": 1, "ERROR": 1}
    assert (await simkim.client.get("/simkim/_admin/faults")).json() == {
        "error_rate": 1.0,
        "latency_ms": 0,
        "down": False,
    }
    bad = await simkim.client.put("/simkim/_admin/watchlist", json={"niks": ["123"]})
    assert bad.status_code == 422
