"""The pure parts of #16 in the queue: the receipt's lock, the stage's roles, bounded stored rules."""

from __future__ import annotations

from sambang_contracts import OfficeSettings, OfficeUpdated
from sambang_contracts.values import BIOMETRIC_RETENTION_MAX_DAYS
from sambang_queue.context import QueueContext
from sambang_queue.domain.lanes import serves_stage
from sambang_queue.domain.rules import stored_rules
from sambang_queue.settings import QueueSettings
from sambang_runtime.ratelimit import ReceiptGuard

R = "BLT2612010000017"


def test_the_fifth_wrong_birth_date_within_the_window_locks_the_receipt_for_the_lock_time() -> None:
    guard = ReceiptGuard(5, window=900, lock=900)
    for second in range(4):
        guard.failed(R, now=1000 + second)
    assert guard.locked_for(R, now=1004) == 0
    guard.failed(R, now=1004)
    assert guard.locked_for(R, now=1004) == 900
    assert guard.locked_for(R, now=1004 + 899) == 1
    assert guard.locked_for(R, now=1004 + 900) == 0
    assert guard.locked_for("BLT2612010000025", now=1004) == 0


def test_wrong_birth_dates_older_than_the_window_no_longer_count() -> None:
    guard = ReceiptGuard(3, window=60, lock=600)
    guard.failed(R, now=0)
    guard.failed(R, now=30)
    guard.failed(R, now=61)  # the first fell out of the window: two within it
    assert guard.locked_for(R, now=61) == 0
    guard.failed(R, now=62)
    assert guard.locked_for(R, now=62) == 600


def test_the_guard_forgets_quiet_receipts_first_and_keeps_locks() -> None:
    guard = ReceiptGuard(2, window=10, lock=1000, max_keys=3)
    guard.failed("LOCKED", now=0)
    guard.failed("LOCKED", now=0)
    guard.failed("QUIET1", now=0)
    guard.failed("QUIET2", now=0)
    guard.failed("NEW", now=100)  # at the bound: receipts neither locked nor recent go
    guard.failed("NEW", now=100)
    assert guard.locked_for("LOCKED", now=100) == 900
    assert guard.locked_for("NEW", now=100) == 1000
    assert sorted(guard._receipts) == ["LOCKED", "NEW"]


def test_the_context_builds_its_limits_from_the_settings() -> None:
    ctx = QueueContext(QueueSettings(receipt_guess_limit=2, device_burst=1, device_per_minute=0.01))
    ctx.receipts.failed(R)
    assert ctx.receipts.locked_for(R) == 0
    ctx.receipts.failed(R)
    assert ctx.receipts.locked_for(R) > 0
    assert ctx.device_wait("BLT:kiosk-1") == 0
    assert ctx.device_wait("BLT:kiosk-1") > 0
    assert ctx.device_wait("BLT:kiosk-2") == 0


def test_each_stage_is_served_by_its_roles() -> None:
    assert serves_stage({"verifier"}, "VERIFICATION") and serves_stage({"customer_care"}, "VERIFICATION")
    assert not serves_stage({"interviewer"}, "VERIFICATION")
    assert serves_stage({"interviewer"}, "INTERVIEW")
    assert not serves_stage({"verifier", "customer_care", "supervisor"}, "INTERVIEW")
    assert serves_stage({"customer_care"}, "PICKUP") and not serves_stage({"verifier"}, "PICKUP")
    assert not serves_stage({"verifier", "interviewer", "customer_care"}, "SAMBANG")
    assert serves_stage({"verifier"}, "DONE")  # a finished visit: its state answers


def test_rules_stored_before_the_bounds_read_within_them() -> None:
    raw = {
        **OfficeSettings().model_dump(),
        "biometric_retention_days": 365,
        "booking_window_days": 1000,
        "near_turn_position": 80,
        "checkin_early_minutes": 5000,
        "priority_seats": [f"S{n}" for n in range(150)],
    }
    rules = stored_rules(raw)
    assert rules.biometric_retention_days == BIOMETRIC_RETENTION_MAX_DAYS
    assert (rules.booking_window_days, rules.near_turn_position, rules.checkin_early_minutes) == (365, 50, 1440)
    assert len(rules.priority_seats) == 100
    assert rules.reminder_enabled is True and rules.fingerprint_quality_threshold == 40
    assert stored_rules({}) == OfficeSettings()


def test_an_older_producers_office_message_still_validates() -> None:
    v11 = {
        "office": "BLT",
        "name": "Blitar",
        "timezone": "Asia/Jakarta",
        "settings": {
            "booking_window_days": 30,
            "first_bookable_offset_days": 1,
            "checkin_early_minutes": 30,
            "checkin_late_minutes": 60,
            "priority_seats": ["P1", "P2"],
            "no_show_after_calls": 3,
            "near_turn_position": 3,
            "bill_validity_seconds": 7200,
            "priority_bill_validity_seconds": 604800,
            "pickup_working_days": 5,
            "fingerprint_quality_threshold": 40,
            "biometric_retention_days": 30,
        },
    }
    data = OfficeUpdated.model_validate(v11)
    assert data.settings.reminder_hour == 16 and data.settings.priority_seats == ["P1", "P2"]
