"""Pure rules of the queue service: windows, priority, status progression, working days, tokens."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sambang_contracts import Lane, Language, OfficeSettings, PassportType, PriorityCategory, ServiceType, Stage
from sambang_contracts.values import add_working_days, age_on, is_working_day, working_days_between
from sambang_queue.domain.arrival import arrival_link_expiry, sign_arrival_token, verify_arrival_token
from sambang_queue.domain.booking import (
    ApplicantData,
    Booking,
    check_bookings,
    draw_receipts,
    settle_validity,
    walk_in_appointment,
)
from sambang_queue.domain.calendar import PUBLIC_HOLIDAYS, SessionPlan, plan_dates
from sambang_queue.domain.lanes import (
    check_birth_date,
    check_priority_category,
    first_stage,
    lane_for,
    may_call,
    next_stage,
    pick_seat,
    transfer_allowed,
)
from sambang_queue.domain.statistics import duration_summary, percentile, within_target
from sambang_queue.domain.status import Status, advanced, is_active, public_status
from sambang_queue.domain.times import booking_window, check_bookable, check_checkin_time
from sambang_queue.domain.visits import no_show_stage, visit_completed
from sambang_runtime.errors import DomainError

TZ = "Asia/Jakarta"
SETTINGS = OfficeSettings()


def jakarta(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A Blitar wall-clock time as a UTC instant."""
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(hour, minute), ZoneInfo(TZ)).astimezone(dt.UTC)


def code_of(call: object, *args: object, **kwargs: object) -> str | None:
    """The rule code a call raises, or None."""
    try:
        call(*args, **kwargs)  # type: ignore[operator]
    except DomainError as exc:
        return exc.code
    return None


# --- booking window -------------------------------------------------------------------------------


def test_booking_window_defaults_run_from_tomorrow_to_thirty_days_ahead() -> None:
    today = dt.date(2026, 12, 1)
    assert booking_window(today, SETTINGS) == (dt.date(2026, 12, 2), dt.date(2026, 12, 31))


@pytest.mark.parametrize(
    ("slot_day", "code"),
    [
        (dt.date(2026, 11, 30), "outside_booking_window"),  # the past
        (dt.date(2026, 12, 1), "outside_booking_window"),  # today: first bookable day is tomorrow
        (dt.date(2026, 12, 2), None),
        (dt.date(2026, 12, 31), None),
        (dt.date(2027, 1, 1), "outside_booking_window"),  # beyond 30 days
    ],
)
def test_slot_must_lie_inside_the_booking_window(slot_day: dt.date, code: str | None) -> None:
    assert code_of(check_bookable, slot_day, dt.date(2026, 12, 1), SETTINGS) == code


def test_office_settings_move_the_booking_window() -> None:
    settings = OfficeSettings(first_bookable_offset_days=0, booking_window_days=7)
    assert code_of(check_bookable, dt.date(2026, 12, 1), dt.date(2026, 12, 1), settings) is None
    assert code_of(check_bookable, dt.date(2026, 12, 9), dt.date(2026, 12, 1), settings) == "outside_booking_window"


# --- check-in window -------------------------------------------------------------------------------

DAY = dt.date(2026, 12, 2)


@pytest.mark.parametrize(
    ("hour", "minute", "code"),
    [
        (7, 29, "too_early"),
        (7, 30, None),  # 30 minutes before 08:00
        (10, 0, None),
        (13, 0, None),  # 60 minutes after 12:00
        (13, 1, "too_late"),
    ],
)
def test_check_in_opens_thirty_minutes_before_and_closes_an_hour_after_the_slot(
    hour: int, minute: int, code: str | None
) -> None:
    now = jakarta(DAY, hour, minute)
    assert code_of(check_checkin_time, now, DAY, dt.time(8), dt.time(12), TZ, SETTINGS) == code


def test_check_in_on_another_day_is_not_today_even_inside_the_hours() -> None:
    now = jakarta(DAY + dt.timedelta(days=1), 9)
    assert code_of(check_checkin_time, now, DAY, dt.time(8), dt.time(12), TZ, SETTINGS) == "not_today"


def test_today_is_the_office_calendar_day_not_utc() -> None:
    # 06:00 in Blitar is still the previous day in UTC (23:00).
    now = jakarta(DAY, 6, 0)
    assert now.date() == DAY - dt.timedelta(days=1)
    settings = OfficeSettings(checkin_early_minutes=180)
    assert code_of(check_checkin_time, now, DAY, dt.time(8), dt.time(12), TZ, settings) is None


# --- priority -----------------------------------------------------------------------------------------


def test_age_counts_whole_years_up_to_the_birthday() -> None:
    assert age_on(dt.date(1966, 12, 2), dt.date(2026, 12, 1)) == 59
    assert age_on(dt.date(1966, 12, 1), dt.date(2026, 12, 1)) == 60


@pytest.mark.parametrize(
    ("category", "birth", "by_officer", "code"),
    [
        (PriorityCategory.ELDERLY, dt.date(1960, 1, 1), False, None),
        (PriorityCategory.ELDERLY, dt.date(1990, 1, 1), False, "priority_category_mismatch"),
        (PriorityCategory.ELDERLY, dt.date(1990, 1, 1), True, "priority_category_mismatch"),
        (PriorityCategory.CHILD, dt.date(2024, 1, 1), False, None),
        (PriorityCategory.CHILD, dt.date(2020, 1, 1), False, "priority_category_mismatch"),
        (PriorityCategory.DISABLED, dt.date(1990, 1, 1), False, None),
        (PriorityCategory.PREGNANT, dt.date(1990, 1, 1), False, None),
        (PriorityCategory.OTHER, dt.date(1990, 1, 1), False, "priority_category_officer_only"),
        (PriorityCategory.OTHER, dt.date(1990, 1, 1), True, None),
        (PriorityCategory.NONE, dt.date(1950, 1, 1), False, None),
    ],
)
def test_priority_categories_are_proven_by_birth_date_or_set_by_an_officer(
    category: PriorityCategory, birth: dt.date, by_officer: bool, code: str | None
) -> None:
    assert code_of(check_priority_category, category, birth, dt.date(2026, 12, 2), by_officer=by_officer) == code


def test_birth_date_in_the_future_is_refused() -> None:
    assert code_of(check_birth_date, dt.date(2026, 12, 2), dt.date(2026, 12, 1)) == "birth_date_in_future"
    assert code_of(check_birth_date, dt.date(2026, 12, 1), dt.date(2026, 12, 1)) is None


def test_lanes_and_stages_follow_the_category() -> None:
    assert lane_for(PriorityCategory.NONE) == Lane.REGULAR
    assert all(lane_for(c) == Lane.PRIORITY for c in PriorityCategory if c != PriorityCategory.NONE)
    assert first_stage(Lane.REGULAR) == "VERIFICATION"
    assert next_stage(Lane.REGULAR, "VERIFICATION") == "INTERVIEW"
    assert next_stage(Lane.REGULAR, "INTERVIEW") == "DONE"
    assert first_stage(Lane.PRIORITY) == "SAMBANG"
    assert first_stage(Lane.PICKUP) == "PICKUP"


def test_each_stage_is_called_by_its_own_officers() -> None:
    assert may_call({"verifier"}, Stage.VERIFICATION)
    assert not may_call({"verifier"}, Stage.INTERVIEW)
    assert may_call({"interviewer"}, Stage.INTERVIEW)
    assert may_call({"customer_care"}, Stage.PICKUP)
    assert not may_call({"interviewer"}, Stage.PICKUP)


def test_transfer_stays_within_the_lane() -> None:
    assert transfer_allowed(Lane.REGULAR, Stage.VERIFICATION)
    assert not transfer_allowed(Lane.REGULAR, Stage.PICKUP)
    assert not transfer_allowed(Lane.PRIORITY, Stage.VERIFICATION)


def test_free_seats_are_offered_in_the_office_order() -> None:
    assert pick_seat(["P1", "P2", "P3"], {"P1", "P3"}) == ["P2"]
    assert pick_seat(["P1"], {"P1"}) == []


# --- status ----------------------------------------------------------------------------------------------


def test_status_never_goes_back_when_events_come_late() -> None:
    assert advanced(Status.ISSUED, Status.IN_PROCESS) == Status.ISSUED
    assert advanced(Status.CHECKED_IN, Status.PAID) == Status.CHECKED_IN
    assert advanced(Status.BOOKED, Status.PAID) == Status.PAID


def test_final_statuses_stay_final() -> None:
    assert advanced(Status.CANCELLED, Status.PAID) == Status.CANCELLED
    assert advanced(Status.REJECTED, Status.ISSUED) == Status.REJECTED


def test_hold_and_release_move_into_each_other() -> None:
    assert advanced(Status.IN_PROCESS, Status.HELD) == Status.HELD
    assert advanced(Status.HELD, Status.IN_PROCESS) == Status.IN_PROCESS
    assert advanced(Status.HELD, Status.ISSUED) == Status.ISSUED


def test_a_hold_is_shown_to_the_applicant_as_in_process() -> None:
    assert public_status(Status.HELD) == "IN_PROCESS"
    assert public_status(Status.ISSUED) == "ISSUED"


def test_only_open_applications_block_a_new_one_for_the_nik() -> None:
    assert is_active(Status.BOOKED) and is_active(Status.ISSUED) and is_active(Status.HELD)
    for s in (Status.CANCELLED, Status.EXPIRED, Status.NO_SHOW, Status.REJECTED, Status.COLLECTED):
        assert not is_active(s)


# --- working days -------------------------------------------------------------------------------------------


def test_the_queues_calendar_knows_indonesian_public_holidays() -> None:
    assert PUBLIC_HOLIDAYS(dt.date(2026, 8, 17))  # Hari Kemerdekaan
    assert PUBLIC_HOLIDAYS(dt.date(2026, 12, 25))
    assert not PUBLIC_HOLIDAYS(dt.date(2026, 12, 1))


def test_on_the_queues_calendar_weekends_and_holidays_are_not_working_days() -> None:
    assert is_working_day(dt.date(2026, 12, 1), PUBLIC_HOLIDAYS)  # Tuesday
    assert not is_working_day(dt.date(2026, 12, 5), PUBLIC_HOLIDAYS)  # Saturday
    assert not is_working_day(dt.date(2026, 8, 17), PUBLIC_HOLIDAYS)  # Monday, Independence Day


def test_on_the_queues_calendar_five_working_days_skip_the_weekend_and_christmas() -> None:
    # Tue 22 Dec 2026 + 5 working days: 23, 24, (25 holiday), 28, 29, 30.
    assert add_working_days(dt.date(2026, 12, 22), 5, PUBLIC_HOLIDAYS) == dt.date(2026, 12, 30)
    assert add_working_days(dt.date(2026, 12, 1), 0, PUBLIC_HOLIDAYS) == dt.date(2026, 12, 1)


def test_on_the_queues_calendar_working_days_between_counts_after_the_start_day() -> None:
    assert working_days_between(dt.date(2026, 12, 1), dt.date(2026, 12, 1), PUBLIC_HOLIDAYS) == 0
    assert working_days_between(dt.date(2026, 12, 4), dt.date(2026, 12, 7), PUBLIC_HOLIDAYS) == 1  # Fri -> Mon
    assert working_days_between(dt.date(2026, 12, 22), dt.date(2026, 12, 30), PUBLIC_HOLIDAYS) == 5


def test_issued_within_target_counts_working_days_from_the_day_of_service() -> None:
    assert within_target(dt.date(2026, 12, 22), dt.date(2026, 12, 30), 5)
    assert not within_target(dt.date(2026, 12, 22), dt.date(2026, 12, 31), 5)


# --- slot plans -----------------------------------------------------------------------------------------------


def test_slot_plan_takes_listed_weekdays_and_skips_holidays() -> None:
    sessions = [SessionPlan(dt.time(8), dt.time(12), 90)]
    dates, skipped = plan_dates(dt.date(2026, 12, 21), dt.date(2026, 12, 27), [1, 2, 3, 4, 5], sessions)
    assert dates == [dt.date(2026, 12, 21), dt.date(2026, 12, 22), dt.date(2026, 12, 23), dt.date(2026, 12, 24)]
    assert skipped == [dt.date(2026, 12, 25)]


def test_slot_plan_refuses_overlapping_or_backwards_sessions() -> None:
    overlap = [SessionPlan(dt.time(8), dt.time(12), 90), SessionPlan(dt.time(11), dt.time(13), 50)]
    assert code_of(plan_dates, dt.date(2026, 12, 1), dt.date(2026, 12, 2), [1], overlap) == "invalid_slot_plan"
    backwards = [SessionPlan(dt.time(12), dt.time(8), 90)]
    assert code_of(plan_dates, dt.date(2026, 12, 1), dt.date(2026, 12, 2), [1], backwards) == "invalid_slot_plan"
    assert code_of(plan_dates, dt.date(2026, 12, 2), dt.date(2026, 12, 1), [1], []) == "invalid_slot_plan"
    assert code_of(plan_dates, dt.date(2026, 1, 1), dt.date(2027, 6, 1), [1], []) == "range_too_long"


# --- arrival link -------------------------------------------------------------------------------------------------


def fake_mac(message: str) -> str:
    """A stand-in keyed hash (any deterministic hex function will do for the rules)."""
    import hashlib

    return hashlib.sha256(b"key|" + message.encode()).hexdigest()


def test_arrival_token_verifies_until_it_expires() -> None:
    expires = arrival_link_expiry(DAY, TZ)
    assert expires == jakarta(DAY + dt.timedelta(days=1), 0)
    token = sign_arrival_token("BLT2612010421738", expires, fake_mac)
    assert code_of(verify_arrival_token, "BLT2612010421738", token, jakarta(DAY, 9), fake_mac) is None
    assert code_of(verify_arrival_token, "BLT2612010421738", token, expires, fake_mac) == "link_expired"


def test_arrival_token_of_another_receipt_or_altered_is_invalid() -> None:
    token = sign_arrival_token("BLT2612010421738", arrival_link_expiry(DAY, TZ), fake_mac)
    now = jakarta(DAY, 9)
    assert code_of(verify_arrival_token, "BLT2612010421720", token, now, fake_mac) == "invalid_token"
    stamp, sig = token.split(".")
    stretched = f"{int(stamp) + 86400}.{sig}"  # a longer validity is not signed
    assert code_of(verify_arrival_token, "BLT2612010421738", stretched, now, fake_mac) == "invalid_token"
    assert code_of(verify_arrival_token, "BLT2612010421738", "garbage", now, fake_mac) == "invalid_token"


# --- rate limiting and statistics ----------------------------------------------------------------------------------


def test_percentile_interpolates_and_summary_reports_minutes() -> None:
    assert percentile([], 90) is None
    assert percentile([60.0], 90) == 60.0
    assert percentile([float(x) for x in range(1, 11)], 90) == pytest.approx(9.1)
    summary = duration_summary([60.0, 120.0, 180.0])
    assert summary == {"count": 3, "avg_minutes": 2.0, "p90_minutes": 2.8}
    assert duration_summary([])["count"] == 0


# --- passport validity, receipts, visits (contracts v1.1) ---------------------------------------------------------


def booking(birth_date: dt.date, *, married: bool = False, validity: int | None = None) -> Booking:
    nik = "3501" + birth_date.strftime("%d%m%y") + "000001"
    applicant = ApplicantData("Siti Aminah", nik, birth_date, None, None, Language.ID, married)
    return Booking(ServiceType.NEW, PassportType.ELECTRONIC, PriorityCategory.NONE, applicant, validity)


@pytest.mark.parametrize(
    ("birth_date", "married", "asked", "settled"),
    [
        (dt.date(2009, 12, 2), False, None, 10),  # 17 that very day
        (dt.date(2009, 12, 3), False, None, 5),  # 17 tomorrow
        (dt.date(2009, 12, 3), True, None, 10),
        (dt.date(2009, 12, 3), True, 10, 10),
        (dt.date(1990, 5, 17), False, 5, 5),
        (dt.date(2024, 3, 1), False, 5, 5),
    ],
)
def test_validity_is_ten_years_from_seventeen_or_when_married_else_five(
    birth_date: dt.date, married: bool, asked: int | None, settled: int
) -> None:
    assert settle_validity(booking(birth_date, married=married, validity=asked), DAY).validity_years == settled


def test_ten_years_below_seventeen_unmarried_is_refused() -> None:
    assert code_of(settle_validity, booking(dt.date(2009, 12, 3), validity=10), DAY) == "validity_years_not_allowed"


def test_check_bookings_settles_each_member_on_the_appointment_day() -> None:
    today = DAY - dt.timedelta(days=1)
    settled = check_bookings(
        [booking(dt.date(2009, 12, 2)), booking(dt.date(1980, 1, 1), validity=5)], DAY, today, SETTINGS
    )
    assert [b.validity_years for b in settled] == [10, 5]
    twins = [booking(dt.date(1980, 1, 1)), booking(dt.date(1980, 1, 1))]
    assert code_of(check_bookings, twins, DAY, today, SETTINGS) == "duplicate_nik_in_group"


def test_receipts_drawn_together_differ_and_carry_office_and_day() -> None:
    receipts = draw_receipts("BLT", DAY, 5, random.Random(7))
    assert len(set(receipts)) == 5 and all(r.startswith("BLT261202") for r in receipts)


def test_a_walk_in_is_expected_from_the_minute_it_came_for_an_hour_at_most_to_midnight() -> None:
    early = walk_in_appointment(jakarta(DAY, 9, 7), TZ)
    assert (early.slot_id, early.date, early.start, early.end) == (None, DAY, dt.time(9, 7), dt.time(10, 7))
    late = walk_in_appointment(jakarta(DAY, 23, 30), TZ)
    assert (late.start, late.end) == (dt.time(23, 30), dt.time(23, 59, 59))


def test_visit_completed_counts_waiting_and_service_seconds() -> None:
    ev = visit_completed(
        receipt_number="BLT2612010421733",
        visit_id="v1",
        checked_in_at=jakarta(DAY, 8),
        started_at=jakarta(DAY, 8, 10),
        now=jakarta(DAY, 8, 25),
    )
    assert (ev.waited_seconds, ev.served_seconds) == (600, 900)
    never = visit_completed(
        receipt_number="BLT2612010421733",
        visit_id="v1",
        checked_in_at=jakarta(DAY, 8),
        started_at=None,
        now=jakarta(DAY, 12),
    )
    assert (never.waited_seconds, never.served_seconds) == (0, 0)


def test_a_no_show_is_reported_at_the_visits_stage_sambang_included() -> None:
    assert no_show_stage("SAMBANG") == Stage.SAMBANG
    assert no_show_stage("INTERVIEW") == Stage.INTERVIEW
    assert no_show_stage("DONE") == Stage.VERIFICATION
