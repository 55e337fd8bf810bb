"""Retention on PostgreSQL and RabbitMQ: every final outcome schedules the deletion of the biometrics
after the office's days (never past the national maximum), the purge crypto-shreds them (a copy of the
images table taken before cannot be read after), and the daily purge report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from capture_support import T0, CaptureHarness, unique_office
from sambang_capture.models import application, audit_entry, biometric_item, biometric_key, office_rule
from sambang_capture.stores import keys
from sambang_contracts import (
    ApplicationCancelled,
    CancelReason,
    CollectedBy,
    EventData,
    HoldDecided,
    HoldDecision,
    PassportCollected,
    SubmissionFailed,
)
from sambang_contracts.values import BIOMETRIC_RETENTION_MAX_DAYS, generate_receipt_number
from sambang_runtime.crypto import DecryptionError
from sambang_runtime.testing import eventually, wait_handled

# -- what ends an application ------------------------------------------------------------------------


def _cancelled(receipt: str) -> EventData:
    return ApplicationCancelled(receipt_number=receipt, reason=CancelReason.APPLICANT)


def _no_show(receipt: str) -> EventData:
    return ApplicationCancelled(receipt_number=receipt, reason=CancelReason.NO_SHOW)


def _bill_expired(receipt: str) -> EventData:
    return ApplicationCancelled(receipt_number=receipt, reason=CancelReason.BILL_EXPIRED)


def _denied(receipt: str) -> EventData:
    return HoldDecided(receipt_number=receipt, decision=HoldDecision.DENY, decided_by="kakan-1", reason="cekal")


def _failed(receipt: str) -> EventData:
    return SubmissionFailed(receipt_number=receipt, reason="refused by SIMKIM", attempts=5, permanent=True)


def _collected(receipt: str) -> EventData:
    return PassportCollected(
        receipt_number=receipt,
        passport_number="X1234567",
        collected_at=T0,
        officer_id="pickup-1",
        collected_by=CollectedBy.SELF,
    )


OUTCOMES = {
    "cancelled": (_cancelled, "CANCELLED"),
    "bill_expired": (_bill_expired, "CANCELLED"),
    "no_show": (_no_show, "NO_SHOW"),
    "hold_denied": (_denied, "DENIED"),
    "submission_failed": (_failed, "FAILED"),
    "collected": (_collected, "COLLECTED"),
}


async def _captured(capture: CaptureHarness, office: str) -> str:
    """A registered application with a photo and a finger stored."""
    receipt = await capture.register(office)
    assert (r := await capture.photo(receipt)).status_code == 200, r.text
    assert (r := await capture.finger(receipt, 1)).status_code == 200, r.text
    return receipt


async def _app_row(capture: CaptureHarness, receipt: str) -> Any:
    [row] = await capture.rows(application, receipt)
    return row


async def _end(capture: CaptureHarness, data: EventData) -> None:
    receipt: str = data.receipt_number  # type: ignore[attr-defined]
    event = await capture.publish(data, office=receipt[:3])
    await wait_handled(capture.runtime, event.id)


async def _purged(capture: CaptureHarness, receipt: str) -> None:
    async def done() -> bool:  # the background loop (every 0.2 s in the suites) does it
        return (await _app_row(capture, receipt)).purged_at is not None

    await eventually(done, 15, f"{receipt} purged")


@pytest.mark.parametrize("case", list(OUTCOMES))
async def test_every_final_outcome_deletes_the_biometrics_after_the_offices_days(
    capture: CaptureHarness, case: str
) -> None:
    office = unique_office()
    await capture.office_rules(office, retention_days=7)
    receipt = await _captured(capture, office)
    make, outcome = OUTCOMES[case]
    capture.clock.advance(hours=1)
    await _end(capture, make(receipt))
    row = await _app_row(capture, receipt)
    at = T0 if case == "collected" else T0 + dt.timedelta(hours=1)  # the handover's own time
    assert (row.outcome, row.outcome_at, row.purge_due_at) == (outcome, at, at + dt.timedelta(days=7))

    capture.clock.set(at + dt.timedelta(days=7) - dt.timedelta(minutes=1))
    await capture.relayed()
    assert (await _app_row(capture, receipt)).purged_at is None  # not yet
    assert all(r.content_enc is not None for r in await capture.rows(biometric_item, receipt))
    capture.clock.advance(minutes=2)
    await _purged(capture, receipt)
    assert all(r.content_enc is None for r in await capture.rows(biometric_item, receipt))
    assert await capture.rows(biometric_key, receipt) == []


async def test_an_interview_rejection_schedules_the_deletion_in_its_own_transaction(capture: CaptureHarness) -> None:
    office = unique_office()
    await capture.office_rules(office, retention_days=3)
    receipt = await _captured(capture, office)
    r = await capture.client.post(
        f"/v1/captures/{receipt}/interview", json={"decision": "REJECTED"}, headers=capture.officer(receipt)
    )
    assert r.status_code == 200, r.text
    row = await _app_row(capture, receipt)
    assert (row.outcome, row.purge_due_at) == ("REJECTED", T0 + dt.timedelta(days=3))
    capture.clock.advance(days=3, seconds=1)
    await _purged(capture, receipt)


def _released(receipt: str) -> EventData:
    return HoldDecided(receipt_number=receipt, decision=HoldDecision.RELEASE, decided_by="kakan-1", reason="cleared")


def _retried(receipt: str) -> EventData:
    return SubmissionFailed(receipt_number=receipt, reason="SIMKIM busy", attempts=1, permanent=False)


@pytest.mark.parametrize("make", [_released, _retried], ids=["hold_released", "failure_still_retried"])
async def test_what_is_not_an_outcome_schedules_nothing(capture: CaptureHarness, make: Any) -> None:
    receipt = await _captured(capture, unique_office())
    await _end(capture, make(receipt))
    row = await _app_row(capture, receipt)
    assert (row.outcome, row.purge_due_at) == (None, None)


async def test_the_retention_is_never_longer_than_the_national_maximum(capture: CaptureHarness) -> None:
    office = unique_office()
    receipt = await _captured(capture, office)
    # Rules kept from before the bounds (or written by a producer outside them) count as the maximum.
    async with capture.runtime.engine.begin() as conn:
        await conn.execute(
            office_rule.insert().values(
                office=office,
                timezone="Asia/Jakarta",
                fingerprint_quality_threshold=250,
                biometric_retention_days=3650,
                updated_at=T0,
            )
        )
    await _end(capture, _cancelled(receipt))
    row = await _app_row(capture, receipt)
    assert row.purge_due_at == T0 + dt.timedelta(days=BIOMETRIC_RETENTION_MAX_DAYS)
    r = await capture.finger(receipt, 2)  # the threshold counts as 100: even a good print is refused
    assert r.status_code == 422 and r.json()["threshold"] == 100


async def test_a_later_outcome_brings_the_deletion_forward_never_later(capture: CaptureHarness) -> None:
    office = unique_office()
    await capture.office_rules(office, retention_days=10)
    receipt = await _captured(capture, office)
    await _end(capture, _failed(receipt))
    capture.clock.advance(days=5)
    await _end(capture, _cancelled(receipt))  # would be T0 + 15 days
    row = await _app_row(capture, receipt)
    assert (row.outcome, row.purge_due_at) == ("FAILED", T0 + dt.timedelta(days=10))


async def test_an_outcome_before_the_registration_is_kept_and_counts(capture: CaptureHarness) -> None:
    office = unique_office()
    await capture.office_rules(office, retention_days=2)
    receipt = generate_receipt_number(office, T0.date())
    await _end(capture, _no_show(receipt))
    r = await capture.client.get(f"/v1/captures/{receipt}", headers=capture.officer(receipt))
    assert r.status_code == 404  # an outcome alone opens no capture
    await capture.publish_registration(receipt)
    await capture.known(receipt)
    summary = await capture.summary(receipt)
    assert summary["purge_due_at"].startswith((T0 + dt.timedelta(days=2)).isoformat()[:19])


# -- crypto-shredding ------------------------------------------------------------------------------------


async def test_a_copy_of_the_images_table_taken_before_the_purge_cannot_be_read_after(capture: CaptureHarness) -> None:
    office = unique_office()
    await capture.office_rules(office, retention_days=1)
    receipt = await _captured(capture, office)
    await _end(capture, _cancelled(receipt))
    backup = [(r.kind, r.position, bytes(r.content_enc)) for r in await capture.rows(biometric_item, receipt)]
    assert len(backup) == 2 and all(keys.is_sealed_with_data_key(c) for _, _, c in backup)

    def context(kind: str, position: int) -> str:
        return f"biometric_item:{receipt}:{kind}:{position}"

    async with capture.runtime.uow() as uow:  # before: the service reads the copy with the data key
        key = await keys.data_key(uow, receipt)
        assert key is not None
        opened = [keys.unseal(key, c, context=context(k, p)) for k, p, c in backup]
    assert sorted(o[:3] for o in opened) == [b"\x89PN", b"\xff\xd8\xff"]  # the print (PNG) and the photo (JPEG)

    capture.clock.advance(days=1, seconds=1)
    await _purged(capture, receipt)
    assert await capture.rows(biometric_key, receipt) == []  # the data key is destroyed
    async with capture.runtime.uow() as uow:
        assert await keys.data_key(uow, receipt) is None
        for kind, position, copied in backup:
            # Not under the PII key either: nothing the service holds opens the copy any more.
            with pytest.raises(DecryptionError):
                uow.cipher.decrypt_bytes(copied, context=context(kind, position))
        # Nor another application's data key.
        other = await _captured(capture, office)
        other_key = await keys.data_key(uow, other)
        assert other_key is not None
        with pytest.raises(DecryptionError):
            keys.unseal(other_key, backup[0][2], context=context(backup[0][0], backup[0][1]))
    entries = [a.action for a in sorted(await capture.rows(audit_entry, receipt), key=lambda a: a.id)]
    assert entries[-2:] == ["biometrics.purge_scheduled", "biometrics.purged"]


# -- the daily purge report -----------------------------------------------------------------------------


async def test_the_daily_purge_report_says_what_was_deleted_and_what_is_due(capture: CaptureHarness) -> None:
    office = unique_office()
    await capture.office_rules(office, retention_days=1)
    first, second, later = [await _captured(capture, office) for _ in range(3)]
    never_captured = await capture.register(office)  # cancelled before any camera: nothing to count
    await _end(capture, _cancelled(never_captured))
    await _end(capture, _cancelled(first))
    await _end(capture, _no_show(second))
    capture.clock.advance(hours=10)
    await _end(capture, _failed(later))  # due one day and ten hours after T0

    url = "/v1/captures/purge-report"
    head = capture.auth("head_of_office", office=office, sub="kakan-1")
    today = T0.date().isoformat()  # 1 December at the office (T0 is 09:00 WIB)
    r = await capture.client.get(url, params={"office": office, "date": today}, headers=head)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "office": office,
        "date": today,
        "timezone": "Asia/Jakarta",
        "deleted": 0,
        "due": 0,
        "next_due_at": "2026-12-02T02:00:00Z",
    }
    capture.clock.set(T0 + dt.timedelta(days=1, minutes=1))
    await _purged(capture, first)
    await _purged(capture, second)
    await _purged(capture, never_captured)  # closed, without an entry: it had nothing
    assert "biometrics.purged" not in [a.action for a in await capture.rows(audit_entry, never_captured)]
    tomorrow = (T0.date() + dt.timedelta(days=1)).isoformat()
    supervisor = capture.auth("supervisor", office=office, sub="sup-1")
    r = await capture.client.get(url, params={"office": office}, headers=supervisor)  # today: 2 December
    assert r.status_code == 200, r.text
    assert r.json() == {
        "office": office,
        "date": tomorrow,
        "timezone": "Asia/Jakarta",
        "deleted": 2,
        "due": 1,  # the failed one, due at 19:00 WIB that day
        "next_due_at": None,  # nothing after it
    }
    r = await capture.client.get(url, params={"office": office, "date": today}, headers=supervisor)
    assert (r.json()["deleted"], r.json()["due"], r.json()["next_due_at"]) == (0, 0, "2026-12-02T12:00:00Z")


@pytest.mark.parametrize(
    ("roles", "office", "status"),
    [
        (("interviewer",), None, 403),
        (("sambang_officer",), None, 403),
        (("service",), None, 403),
        (("supervisor",), "other", 403),
        (("head_of_office",), "other", 403),
    ],
)
async def test_the_purge_report_is_for_the_offices_supervisor_and_head(
    capture: CaptureHarness, roles: tuple[str, ...], office: str | None, status: int
) -> None:
    own = unique_office()
    token_office = unique_office() if office == "other" else own
    r = await capture.client.get(
        "/v1/captures/purge-report", params={"office": own}, headers=capture.auth(*roles, office=token_office)
    )
    assert r.status_code == status, r.text
    r = await capture.client.get("/v1/captures/purge-report", params={"office": own})
    assert r.status_code == 401
    r = await capture.client.get(
        "/v1/captures/purge-report", params={"office": "blt"}, headers=capture.auth("supervisor", office=own)
    )
    assert r.status_code == 422


async def test_nothing_is_stored_for_an_application_once_its_biometrics_are_purged(capture: CaptureHarness) -> None:
    office = unique_office()
    await capture.office_rules(office, retention_days=0)
    receipt = await _captured(capture, office)
    await _end(capture, _denied(receipt))
    await _purged(capture, receipt)
    r = await capture.photo(receipt)
    assert r.status_code == 410 and r.json()["code"] == "biometrics_purged"
    assert all(row.content_enc is None for row in await capture.rows(biometric_item, receipt))
    assert await capture.rows(biometric_key, receipt) == []
