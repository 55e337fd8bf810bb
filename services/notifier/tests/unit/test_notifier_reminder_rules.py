"""The rules of the reminder the day before and of the estimated wait's words: pure functions, no I/O."""

from __future__ import annotations

import datetime as dt

import holidays
from sambang_contracts import Language, WaitEstimate
from sambang_contracts.values import indonesian_public_holidays
from sambang_notifier.domain.messages import Applicant, Office, format_wait
from sambang_notifier.domain.reminders import (
    ChecklistLine,
    Visit,
    document_line,
    format_day,
    last_visit_day_due,
    reminder_due_at,
    reminder_variables,
    working_day_before,
)

HOLIDAYS = indonesian_public_holidays()
WIB = dt.timezone(dt.timedelta(hours=7))
#: Monday 17 August 2026, Independence Day (Hari Kemerdekaan), a public holiday on a weekday.
INDEPENDENCE_DAY = dt.date(2026, 8, 17)


def test_the_holiday_the_tests_rely_on_is_a_weekday_public_holiday() -> None:
    assert INDEPENDENCE_DAY in holidays.country_holidays("ID", years=2026)
    assert INDEPENDENCE_DAY.isoweekday() == 1


def test_the_working_day_before_steps_back_over_holidays_and_weekends() -> None:
    # Tuesday after the Monday holiday: back over Monday, Sunday and Saturday to Friday.
    assert working_day_before(dt.date(2026, 8, 18), HOLIDAYS) == dt.date(2026, 8, 14)
    # A plain Wednesday: Tuesday.
    assert working_day_before(dt.date(2026, 8, 19), HOLIDAYS) == dt.date(2026, 8, 18)
    # A Monday: Friday.
    assert working_day_before(dt.date(2026, 8, 24), HOLIDAYS) == dt.date(2026, 8, 21)
    # Without the calendar, Tuesday's day before would be the holiday itself.
    assert working_day_before(dt.date(2026, 8, 18), lambda _: False) == INDEPENDENCE_DAY


def test_the_reminder_is_due_at_the_office_hour_in_the_offices_zone() -> None:
    due = reminder_due_at(dt.date(2026, 8, 18), hour=16, timezone="Asia/Jakarta", is_holiday=HOLIDAYS)
    assert due == dt.datetime(2026, 8, 14, 16, 0, tzinfo=WIB)
    makassar = reminder_due_at(dt.date(2026, 8, 18), hour=16, timezone="Asia/Makassar", is_holiday=HOLIDAYS)
    assert makassar == due - dt.timedelta(hours=1)


def test_the_visit_days_due_run_from_tomorrow_to_the_last_one_whose_hour_has_come() -> None:
    friday_1559 = dt.datetime(2026, 8, 14, 15, 59, tzinfo=WIB)
    friday_1600 = dt.datetime(2026, 8, 14, 16, 0, tzinfo=WIB)
    kwargs = {"hour": 16, "timezone": "Asia/Jakarta", "is_holiday": HOLIDAYS}
    # Before the hour on Friday only Friday's own visit's reminder (due Thursday) has come.
    assert last_visit_day_due(friday_1559, **kwargs) is None
    # At 16:00 the weekend, the holiday and Tuesday are all due.
    assert last_visit_day_due(friday_1600, **kwargs) == dt.date(2026, 8, 18)
    # On the holiday itself (the notifier was down on Friday) Tuesday's reminder is still due, before the visit.
    assert last_visit_day_due(dt.datetime(2026, 8, 17, 9, 0, tzinfo=WIB), **kwargs) == dt.date(2026, 8, 18)


def test_each_checklist_line_reads_in_the_applicants_language() -> None:
    civil = ChecklistLine("CIVIL_RECORD", ("BIRTH_CERTIFICATE", "MARRIAGE_CERTIFICATE", "DIPLOMA"), "APPLICANT")
    father = ChecklistLine("FATHER_KTP", ("KTP",), "FATHER")
    parents = ChecklistLine("PARENTS_MARRIAGE_CERTIFICATE", ("MARRIAGE_CERTIFICATE",), "PARENTS")
    newer = ChecklistLine("TAX_CARD", ("TAX_CARD",), "APPLICANT")
    assert document_line(civil, Language.ID) == "Salah satu: akta kelahiran, buku nikah/akta perkawinan atau ijazah"
    assert document_line(civil, Language.EN) == "One of: birth certificate, marriage certificate or diploma"
    assert document_line(father, Language.ID) == "KTP ayah"
    assert document_line(father, Language.EN) == "Father's identity card (KTP)"
    assert document_line(parents, Language.ID) == "Buku nikah/akta perkawinan orang tua"
    assert document_line(newer, Language.EN) == "Tax card", "a kind newer than the notifier still reads"
    assert format_day(dt.date(2026, 8, 18), Language.ID) == "Selasa, 18 Agustus 2026"
    assert format_day(dt.date(2026, 8, 18), Language.EN) == "Tuesday, 18 August 2026"


def _visit(*, url: str | None, confirmed: bool, expires: dt.datetime | None = None) -> Visit:
    return Visit(
        receipt_number="BLT2608130000012",
        office="BLT",
        slot_date=dt.date(2026, 8, 18),
        slot_start=dt.time(8, 0),
        slot_end=dt.time(12, 0),
        service_type="NEW",
        birth_date=dt.date(2009, 8, 19),
        arrival_url=url,
        arrival_expires_at=expires,
        arrival_confirmed=confirmed,
    )


def test_the_arrival_link_is_told_only_while_arrival_is_unconfirmed_and_the_link_works() -> None:
    applicant = Applicant("Siti", Language.ID, "s@example.id", None)
    office = Office("BLT", "Kantor Imigrasi Blitar", "Asia/Jakarta")
    now = dt.datetime(2026, 8, 14, 9, 0, tzinfo=dt.UTC)
    until = dt.datetime(2026, 8, 18, 17, 0, tzinfo=dt.UTC)
    url = "https://antrian.example.id/arrival?receipt=x&token=y"
    told = reminder_variables(_visit(url=url, confirmed=False, expires=until), applicant, office, [], now=now)
    assert told["arrival_url"] == url and told["arrival_expires"].startswith("19 Agustus 2026 pukul 00.00")
    for visit in (
        _visit(url=url, confirmed=True, expires=until),
        _visit(url=None, confirmed=False),
        _visit(url=url, confirmed=False, expires=now),
    ):
        assert reminder_variables(visit, applicant, office, [], now=now)["arrival_url"] == ""


def test_the_age_is_the_age_on_the_visit_day() -> None:
    # 17 the day after the visit: still a child's checklist on the visit day.
    assert _visit(url=None, confirmed=False).age == 16


def test_an_estimated_wait_is_worded_as_a_range_and_within_five_minutes_as_less_than_five() -> None:
    assert format_wait(WaitEstimate(low_minutes=20, high_minutes=30), Language.ID) == "sekitar 20\u201330 menit"
    assert format_wait(WaitEstimate(low_minutes=20, high_minutes=30), Language.EN) == "about 20\u201330 minutes"
    # The queue says 0-5 for a wait within five minutes.
    assert format_wait(WaitEstimate(low_minutes=0, high_minutes=5), Language.ID) == "kurang dari 5 menit"
    assert format_wait(WaitEstimate(low_minutes=0, high_minutes=5), Language.EN) == "less than 5 minutes"
    assert format_wait(WaitEstimate(low_minutes=1, high_minutes=4), Language.ID) == "kurang dari 5 menit"
    assert format_wait(WaitEstimate(low_minutes=0, high_minutes=10), Language.EN) == "less than 10 minutes"
    assert format_wait(WaitEstimate(low_minutes=5, high_minutes=10), Language.EN) == "about 5\u201310 minutes"
    assert format_wait(WaitEstimate(low_minutes=10, high_minutes=10), Language.ID) == "sekitar 10 menit"
    assert format_wait(None, Language.ID) == "" and format_wait(None, Language.EN) == ""
