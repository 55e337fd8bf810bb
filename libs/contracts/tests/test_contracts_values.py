"""Value types: receipt numbers, NIK, billing codes, NTPN, tickets, office codes."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from pydantic import BaseModel, ValidationError
from sambang_contracts import (
    BillingCode,
    InvalidValue,
    Lane,
    Nik,
    Ntpn,
    OfficeCode,
    ReceiptNumber,
    Ticket,
    format_ticket,
    generate_billing_code,
    generate_receipt_number,
    luhn_check_digit,
    luhn_valid,
    parse_receipt_number,
    ticket_letter,
    validate_billing_code,
    validate_nik,
    validate_ntpn,
    validate_office_code,
    validate_ticket,
)

VALID_RECEIPT = "BLT2612010421733"


class Holder(BaseModel):
    receipt_number: ReceiptNumber | None = None
    nik: Nik | None = None
    billing_code: BillingCode | None = None
    ntpn: Ntpn | None = None
    ticket: Ticket | None = None
    office: OfficeCode | None = None


def _with_check_digit(office: str, payload: str) -> str:
    return office + payload + luhn_check_digit(payload)


def _refusal(value: str, **kwargs: object) -> InvalidValue:
    with pytest.raises(InvalidValue) as caught:
        parse_receipt_number(value, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_luhn_matches_the_textbook_example() -> None:
    assert luhn_check_digit("7992739871") == "3"
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("7")
    assert not luhn_valid("12a4")


def test_generated_receipt_numbers_round_trip_over_many_seeds() -> None:
    offices = ["BLT", "JKT", "SBY", "MLG", "ZZZ"]
    for seed in range(2000):
        rng = random.Random(seed)
        office = rng.choice(offices)
        on = dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(36500))
        number = generate_receipt_number(office, on, rng)
        assert len(number) == 16
        parts = parse_receipt_number(number, known_offices=offices)
        assert parts.office == office
        assert parts.registered_on == on
        assert number == f"{office}{on:%y%m%d}{parts.serial}{number[-1]}"
        assert Holder(receipt_number=number).receipt_number == number


def test_generated_receipt_numbers_without_rng_are_valid() -> None:
    for _ in range(100):
        number = generate_receipt_number("BLT", dt.date(2026, 12, 1))
        assert parse_receipt_number(number).office == "BLT"


def test_every_single_digit_typo_in_a_receipt_number_is_caught() -> None:
    rng = random.Random(7)
    for _ in range(300):
        number = generate_receipt_number("BLT", dt.date(2026, 12, 1), rng)
        position = rng.randrange(9, 16)  # serial and check digit: any change keeps a real date
        wrong = str((int(number[position]) + rng.randrange(1, 10)) % 10)
        typo = number[:position] + wrong + number[position + 1 :]
        assert _refusal(typo).reason == "check_digit"


def test_receipt_number_with_wrong_check_digit_is_refused() -> None:
    error = _refusal(VALID_RECEIPT[:-1] + "4")
    assert error.code == "invalid_receipt_number"
    assert error.reason == "check_digit"
    assert error.message_en == "Invalid receipt number: wrong check digit"
    assert error.message_id == "Nomor tanda terima tidak valid: digit pemeriksa salah"


def test_the_catalogue_example_receipt_number_fails_its_check_digit() -> None:
    # EVENTS.md shows BLT2612010421738; standard Luhn over 261201042173 gives 3, not 8.
    assert _refusal("BLT2612010421738").reason == "check_digit"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "length"),
        (VALID_RECEIPT[:-1], "length"),
        (VALID_RECEIPT + "0", "length"),
        ("blt2612010421733", "lowercase"),
        ("Blt2612010421733", "lowercase"),
        ("B1T2612010421733", "office_format"),
        ("BLT26120104217X3", "non_digit"),
        ("BLT 612010421733", "non_digit"),
        ("BLT261201042173٣", "non_digit"),
        (_with_check_digit("BLT", "261301042173"), "date"),
        (_with_check_digit("BLT", "260230042173"), "date"),
        (_with_check_digit("BLT", "261200042173"), "date"),
    ],
)
def test_malformed_receipt_numbers_are_refused_with_a_reason(value: str, reason: str) -> None:
    error = _refusal(value)
    assert error.code == "invalid_receipt_number"
    assert error.reason == reason
    assert error.message_en.startswith("Invalid receipt number: ")
    assert error.message_id.startswith("Nomor tanda terima tidak valid: ")
    with pytest.raises(ValidationError) as caught:
        Holder(receipt_number=value)
    assert caught.value.errors()[0]["type"] == "invalid_receipt_number"


def test_leap_day_receipt_number_is_accepted() -> None:
    number = _with_check_digit("BLT", "280229000001")
    assert parse_receipt_number(number).registered_on == dt.date(2028, 2, 29)


def test_receipt_number_of_a_foreign_office_is_refused_only_with_known_offices() -> None:
    number = generate_receipt_number("JKT", dt.date(2026, 12, 1), random.Random(1))
    error = _refusal(number, known_offices={"BLT", "MLG"})
    assert error.code == "invalid_receipt_number"
    assert error.reason == "foreign_office"
    assert "foreign office code" in error.message_en
    assert parse_receipt_number(number).office == "JKT"
    assert Holder(receipt_number=number).receipt_number == number


def test_error_messages_never_echo_the_value() -> None:
    for value in ("BLT2612010421734", "blt2612010421733", "BLT26120104"):
        error = _refusal(value)
        assert value not in str(error)
        assert value not in error.message_id
    with pytest.raises(InvalidValue) as caught:
        validate_nik("35050101015000012")
    assert "35050101015000012" not in str(caught.value)


@pytest.mark.parametrize("value", ["350501010150000", "35050101015000012", "350501010150000A", "", "3505 10101500001"])
def test_nik_must_be_exactly_16_digits(value: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        validate_nik(value)
    assert caught.value.code == "invalid_nik"
    with pytest.raises(ValidationError) as refused:
        Holder(nik=value)
    assert refused.value.errors()[0]["type"] == "invalid_nik"
    assert value not in refused.value.errors(include_input=False)[0]["msg"] or not value


def test_nik_of_16_digits_is_accepted() -> None:
    assert validate_nik("3505010101500001") == "3505010101500001"
    assert Holder(nik="3505010101500001").nik == "3505010101500001"


def test_generated_billing_codes_are_15_digits_with_a_check_digit() -> None:
    for seed in range(1000):
        code = generate_billing_code(random.Random(seed))
        assert len(code) == 15 and code.isdigit()
        assert validate_billing_code(code) == code
        assert Holder(billing_code=code).billing_code == code
    assert validate_billing_code(generate_billing_code())


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("82026120100001", "format"),
        ("8202612010000111", "format"),
        ("82026120100001A", "format"),
        ("820261201000012", "check_digit"),
    ],
)
def test_malformed_billing_codes_are_refused(value: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        validate_billing_code(value)
    assert (caught.value.code, caught.value.reason) == ("invalid_billing_code", reason)
    with pytest.raises(ValidationError):
        Holder(billing_code=value)


def test_ntpn_is_16_uppercase_alphanumerics() -> None:
    assert validate_ntpn("0F1E2D3C4B5A6978") == "0F1E2D3C4B5A6978"
    assert Holder(ntpn="ABCDEFGHIJKLMNOP").ntpn == "ABCDEFGHIJKLMNOP"
    for bad in ("0f1e2d3c4b5a6978", "0F1E2D3C4B5A697", "0F1E2D3C4B5A69789", "0F1E2D3C4B5A697-"):
        with pytest.raises(InvalidValue) as caught:
            validate_ntpn(bad)
        assert caught.value.code == "invalid_ntpn"
        with pytest.raises(ValidationError):
            Holder(ntpn=bad)


def test_ticket_is_a_lane_letter_and_three_digits() -> None:
    assert format_ticket("A", 1) == "A001"
    assert format_ticket("P", 42) == "P042"
    assert format_ticket(ticket_letter(Lane.PICKUP), 999) == "C999"
    assert [ticket_letter(lane) for lane in Lane] == ["A", "P", "C"]
    assert validate_ticket("P007") == "P007"
    for bad in ("B001", "A01", "A0001", "a001", "P00x"):
        with pytest.raises(InvalidValue) as caught:
            validate_ticket(bad)
        assert caught.value.code == "invalid_ticket"
        with pytest.raises(ValidationError):
            Holder(ticket=bad)
    for letter, number in (("A", 0), ("A", 1000), ("X", 1)):
        with pytest.raises(InvalidValue):
            format_ticket(letter, number)


def test_office_code_is_three_capital_letters() -> None:
    assert validate_office_code("BLT") == "BLT"
    for bad in ("blt", "BL", "BLTX", "B1T", "ÄBC"):
        with pytest.raises(InvalidValue) as caught:
            validate_office_code(bad)
        assert caught.value.code == "invalid_office_code"
        with pytest.raises(ValidationError):
            Holder(office=bad)
    with pytest.raises(InvalidValue):
        generate_receipt_number("blt", dt.date(2026, 12, 1))


def test_value_types_do_not_coerce_numbers() -> None:
    with pytest.raises(ValidationError):
        Holder.model_validate({"nik": 3505010101500001})


# --- age, validity and working days: the one copy every service uses -----------------------------------


def test_age_counts_completed_years_and_a_leap_birthday_on_the_first_of_march() -> None:
    from sambang_contracts.values import age_on

    assert age_on(dt.date(2000, 2, 29), dt.date(2017, 2, 28)) == 16
    assert age_on(dt.date(2000, 2, 29), dt.date(2017, 3, 1)) == 17
    assert age_on(dt.date(1990, 5, 17), dt.date(2026, 5, 16)) == 35


def test_validity_is_ten_years_from_seventeen_or_married_else_five_and_a_choice_is_kept() -> None:
    from sambang_contracts.values import ten_years_allowed, validity_years

    minor, on = dt.date(2012, 1, 1), dt.date(2026, 12, 1)
    assert validity_years(None, minor, on) == 5
    assert validity_years(None, minor, on, married=True) == 10  # the marriage clause
    assert validity_years(None, dt.date(2009, 12, 1), on) == 10  # 17 on the day
    assert validity_years(5, dt.date(1980, 1, 1), on) == 5
    assert not ten_years_allowed(minor, on, married=False)
    assert ten_years_allowed(minor, on, married=True)
    assert ten_years_allowed(minor, on, married=None)  # the producer checked it


def test_working_days_skip_weekends_and_indonesian_holidays() -> None:
    from sambang_contracts.values import add_working_days, indonesian_public_holidays, working_days_between

    is_holiday = indonesian_public_holidays()
    assert is_holiday(dt.date(2026, 8, 17))  # Hari Kemerdekaan
    # Friday 14 August 2026 + 1 working day: Monday 17 August is Independence Day, so Tuesday.
    assert add_working_days(dt.date(2026, 8, 14), 1, is_holiday) == dt.date(2026, 8, 18)
    assert add_working_days(dt.date(2026, 8, 14), 0, is_holiday) == dt.date(2026, 8, 14)
    assert working_days_between(dt.date(2026, 8, 14), dt.date(2026, 8, 18), is_holiday) == 1
    assert working_days_between(dt.date(2026, 8, 18), dt.date(2026, 8, 14), is_holiday) == 0
    with pytest.raises(ValueError):
        add_working_days(dt.date(2026, 8, 14), -1, is_holiday)
