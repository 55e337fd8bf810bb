"""Pure payment rules: fees, validity, signatures, payment outcomes, settlement files, rate limit."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from typing import Any

import pytest
from pydantic import ValidationError
from sambang_contracts import DiscrepancyKind, PassportType, PriorityCategory, ServiceType
from sambang_payment.domain.bills import BillStatus, bill_validity_seconds, draft_bill, is_priority
from sambang_payment.domain.fees import BillRequest, FeeScheduleDocument, bill_lines, billed_validity_years, schedule_on
from sambang_payment.domain.notifications import (
    SignatureError,
    parse_notification,
    sign,
    signature_header,
    verify_signature,
)
from sambang_payment.domain.offices import OfficeRules
from sambang_payment.domain.partners import KeyState, grace_until, key_state
from sambang_payment.domain.payments import BillState, KnownPayment, Outcome
from sambang_payment.domain.settlement import SettlementFile, SettlementFileError, parse_settlement, settlement_days
from sambang_payment.errors import ERRORS
from sambang_payment.stores.schedules import shipped_schedule
from sambang_runtime.errors import DomainError

PP45 = shipped_schedule()
#: A fixed "now" for signatures: pure rules take the time as an argument.
NOW = 1_800_000_000
REG = dt.date(2026, 12, 1)
ADULT = dt.date(1990, 1, 1)
CHILD = dt.date(2015, 1, 1)


def amount(**kw: Any) -> int:
    req = BillRequest(
        **{
            "passport_type": PassportType.REGULAR,
            "service_type": ServiceType.NEW,
            "birth_date": ADULT,
            "registered_on": REG,
            **kw,
        }
    )
    return sum(line.amount for line in bill_lines(PP45, req))


# --- fee schedule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("passport_type", "years", "expected"),
    [
        (PassportType.REGULAR, 5, 350_000),
        (PassportType.REGULAR, 10, 650_000),
        (PassportType.ELECTRONIC, 5, 650_000),
        (PassportType.ELECTRONIC, 10, 950_000),
        (PassportType.ELECTRONIC_POLYCARBONATE, 5, 650_000),
        (PassportType.ELECTRONIC_POLYCARBONATE, 10, 950_000),
    ],
)
def test_pp45_base_fees_by_passport_type_and_validity(passport_type: PassportType, years: int, expected: int) -> None:
    assert amount(passport_type=passport_type, validity_years=years) == expected


def test_express_and_replacement_surcharges_are_added_on_top() -> None:
    assert amount(validity_years=10, express=True) == 650_000 + 1_000_000
    assert amount(validity_years=10, service_type=ServiceType.REPLACEMENT_LOST) == 650_000 + 1_000_000
    assert amount(validity_years=10, service_type=ServiceType.REPLACEMENT_DAMAGED) == 650_000 + 500_000
    assert amount(validity_years=10, service_type=ServiceType.REPLACEMENT_LOST, express=True) == 650_000 + 2_000_000


def test_damaged_passport_with_force_majeure_letter_has_no_surcharge_line() -> None:
    req = BillRequest(
        PassportType.ELECTRONIC, ServiceType.REPLACEMENT_DAMAGED, ADULT, REG, 10, force_majeure_letter=True
    )
    lines = bill_lines(PP45, req)
    assert [line.amount for line in lines] == [950_000]  # a Rp0 line would break BillItem (amount > 0)


def test_force_majeure_letter_does_not_waive_the_lost_passport_surcharge() -> None:
    req = BillRequest(PassportType.REGULAR, ServiceType.REPLACEMENT_LOST, ADULT, REG, 5, force_majeure_letter=True)
    assert sum(line.amount for line in bill_lines(PP45, req)) == 1_350_000


def test_items_are_itemised_with_codes_and_bilingual_descriptions() -> None:
    req = BillRequest(PassportType.ELECTRONIC, ServiceType.REPLACEMENT_LOST, ADULT, REG, 10, express=True)
    lines = bill_lines(PP45, req)
    assert [line.code for line in lines] == ["PASPOR_ELEKTRONIK_10TH", "PERCEPATAN_HARI_SAMA", "PENGGANTIAN_HILANG"]
    assert all(" / " in line.description for line in lines)


def test_ten_years_refused_for_an_unmarried_minor_and_allowed_when_married() -> None:
    with pytest.raises(DomainError, match="ten_years_not_allowed"):
        amount(birth_date=CHILD, validity_years=10)
    assert amount(birth_date=CHILD, validity_years=10, married=True) == 650_000
    assert amount(birth_date=CHILD, validity_years=5) == 350_000


def test_ten_years_for_a_minor_is_trusted_when_the_producer_checked_marital_status() -> None:
    # married=None: queue applied the rule with the marital status the form holds; the event lacks it
    assert amount(birth_date=CHILD, validity_years=10, married=None) == 650_000
    assert amount(birth_date=CHILD, married=None) == 350_000  # no choice said: the default by age


def billed_years(birth_date: dt.date, registered_on: dt.date = REG, **kw: Any) -> int:
    req = BillRequest(PassportType.REGULAR, ServiceType.NEW, birth_date, registered_on, **kw)
    return billed_validity_years(PP45, req)


def test_default_validity_is_ten_years_from_the_seventeenth_birthday_on_the_registration_date() -> None:
    assert billed_years(dt.date(2009, 12, 1)) == 10  # 17 today
    assert billed_years(dt.date(2009, 12, 2)) == 5  # 17 tomorrow
    assert amount(birth_date=dt.date(2009, 12, 2)) == 350_000
    assert amount(birth_date=dt.date(2009, 12, 1)) == 650_000


def test_default_validity_follows_the_schedule_minimum_age() -> None:
    at_sixteen = PP45.model_copy(update={"ten_year_min_age": 16})
    req = BillRequest(PassportType.REGULAR, ServiceType.NEW, dt.date(2010, 12, 1), REG)
    assert billed_validity_years(PP45, req) == 5
    assert billed_validity_years(at_sixteen, req) == 10


def test_a_married_minor_without_a_chosen_validity_is_billed_five_years() -> None:
    # The default goes by age alone (a v1.0 registration says neither validity nor marital status).
    assert billed_years(CHILD, married=True) == 5
    assert billed_years(CHILD, married=None) == 5


def test_age_of_a_leap_day_birthday_counts_on_the_first_of_march() -> None:
    assert billed_years(dt.date(2008, 2, 29), dt.date(2025, 2, 28)) == 5  # 16
    assert billed_years(dt.date(2008, 2, 29), dt.date(2025, 3, 1)) == 10  # 17


def test_shipped_schedule_is_pp45_2024_in_force_from_december_2024() -> None:
    assert PP45.name == "PP 45/2024"
    assert PP45.effective_from == dt.date(2024, 12, 17)
    assert PP45.ten_year_min_age == 17


def test_schedule_in_force_is_the_latest_whose_date_has_come() -> None:
    later = PP45.model_copy(update={"name": "next", "effective_from": dt.date(2027, 1, 1)})
    assert schedule_on([PP45, later], dt.date(2026, 12, 31)) is PP45
    assert schedule_on([PP45, later], dt.date(2027, 1, 1)) is later
    assert schedule_on([PP45, later], dt.date(2024, 1, 1)) is None


def doc(**changes: object) -> dict[str, object]:
    data = PP45.model_dump(mode="json")
    data.update(changes)
    return data


def test_a_schedule_missing_a_passport_line_or_surcharge_is_refused() -> None:
    with pytest.raises(ValidationError):
        FeeScheduleDocument.model_validate(doc(passports=PP45.model_dump(mode="json")["passports"][:3]))
    with pytest.raises(ValidationError):
        FeeScheduleDocument.model_validate(doc(surcharges=PP45.model_dump(mode="json")["surcharges"][:2]))


@pytest.mark.parametrize("bad", [350000.5, "350000", 0, -1, True])
def test_a_schedule_amount_must_be_a_positive_integer(bad: object) -> None:
    data = doc()
    data["passports"][0]["amount"] = bad  # type: ignore[index]
    with pytest.raises(ValidationError):
        FeeScheduleDocument.model_validate(data)


# --- validity ------------------------------------------------------------------------------------


def test_priority_and_walk_in_applicants_get_the_long_validity() -> None:
    assert not is_priority(PriorityCategory.NONE, False)
    assert is_priority(PriorityCategory.ELDERLY, False)
    assert is_priority(PriorityCategory.NONE, True)
    assert bill_validity_seconds(priority=False, ordinary_seconds=7200, priority_seconds=604800) == 7200
    assert bill_validity_seconds(priority=True, ordinary_seconds=7200, priority_seconds=604800) == 604800


def test_a_draft_bill_is_payable_for_the_office_validity_from_the_time_given() -> None:
    rules = OfficeRules(dt.UTC, bill_validity_seconds=600, priority_bill_validity_seconds=3600)
    now = dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC)
    child = BillRequest(PassportType.REGULAR, ServiceType.REPLACEMENT_LOST, CHILD, REG)
    draft = draft_bill(PP45, child, rules, priority=False, now=now)
    assert (draft.validity_years, draft.amount, draft.schedule_name) == (5, 350_000 + 1_000_000, "PP 45/2024")
    assert (draft.issued_at, draft.expires_at) == (now, now + dt.timedelta(seconds=600))
    adult = BillRequest(PassportType.ELECTRONIC, ServiceType.NEW, ADULT, REG)
    priority = draft_bill(PP45, adult, rules, priority=True, now=now)
    assert (priority.validity_years, priority.amount, priority.priority) == (10, 950_000, True)
    assert priority.expires_at == now + dt.timedelta(seconds=3600)


# --- partner keys --------------------------------------------------------------------------------


def test_a_key_signs_until_its_grace_ends_and_never_after_revocation() -> None:
    now = dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC)
    assert key_state(revoked_at=None, valid_until=None, now=now) is KeyState.ACTIVE
    assert key_state(revoked_at=None, valid_until=grace_until(now, 60), now=now) is KeyState.ACTIVE
    assert key_state(revoked_at=None, valid_until=grace_until(now, 0), now=now) is KeyState.EXPIRED
    assert key_state(revoked_at=now, valid_until=grace_until(now, 60), now=now) is KeyState.REVOKED


# --- signatures ----------------------------------------------------------------------------------

SECRET = "s3cret-of-the-bank"
BODY = b'{"billing_code":"123"}'


def test_signature_is_hmac_sha256_over_timestamp_dot_raw_body() -> None:
    import hashlib
    import hmac

    assert (
        sign(SECRET, 1700000000, BODY) == hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    )


def test_a_fresh_signature_verifies() -> None:
    now = NOW + 0.25
    assert verify_signature([SECRET], signature_header(SECRET, int(now), BODY), BODY, now=now) == int(now)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_signature"),
        ("", "missing_signature"),
        ("garbage", "invalid_signature"),
        ("t=abc,v1=" + "0" * 64, "invalid_signature"),
        ("t=1700000000", "invalid_signature"),
        ("v1=" + "0" * 64, "invalid_signature"),
        ("t=1700000000,t=1700000001,v1=" + "0" * 64, "invalid_signature"),
    ],
)
def test_malformed_or_missing_signature_headers_are_refused(header: str | None, code: str) -> None:
    with pytest.raises(SignatureError) as info:
        verify_signature([SECRET], header, BODY, now=1700000000)
    assert info.value.code == code


def test_forged_signature_wrong_secret_and_changed_body_are_refused() -> None:
    now = NOW
    with pytest.raises(SignatureError, match="invalid_signature"):
        verify_signature([SECRET], f"t={now},v1={'ab' * 32}", BODY, now=now)
    with pytest.raises(SignatureError, match="invalid_signature"):
        verify_signature([SECRET], signature_header("other", now, BODY), BODY, now=now)
    with pytest.raises(SignatureError, match="invalid_signature"):
        verify_signature([SECRET], signature_header(SECRET, now, BODY), BODY + b" ", now=now)
    # The timestamp is signed too: moving it breaks the signature.
    good = sign(SECRET, now, BODY)
    with pytest.raises(SignatureError, match="invalid_signature"):
        verify_signature([SECRET], f"t={now + 1},v1={good}", BODY, now=now)


def test_timestamps_older_than_300_seconds_or_in_the_future_are_stale() -> None:
    now = 1_800_000_000
    assert verify_signature([SECRET], signature_header(SECRET, now - 300, BODY), BODY, now=now)
    with pytest.raises(SignatureError, match="stale_signature") as info:
        verify_signature([SECRET], signature_header(SECRET, now - 301, BODY), BODY, now=now)
    assert info.value.extra == {"window_seconds": 300}
    assert verify_signature([SECRET], signature_header(SECRET, now + 5, BODY), BODY, now=now)
    with pytest.raises(SignatureError, match="stale_signature"):
        verify_signature([SECRET], signature_header(SECRET, now + 31, BODY), BODY, now=now)


def test_one_of_several_v1_signatures_may_match() -> None:
    now = NOW
    header = f"t={now},v1={'00' * 32},v1={sign(SECRET, now, BODY)}"
    assert verify_signature([SECRET], header, BODY, now=now) == now


# --- payment outcomes ----------------------------------------------------------------------------

EXPIRES = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
BEFORE = EXPIRES - dt.timedelta(minutes=5)
AFTER = EXPIRES + dt.timedelta(minutes=5)
CODE = "820261201000011"


def state(status: BillStatus = BillStatus.UNPAID, amount_: int = 950_000) -> BillState:
    return BillState(CODE, status, amount_, EXPIRES)


def judge(**kw: object) -> tuple[Outcome, DiscrepancyKind | None]:
    from sambang_payment.domain.payments import judge_payment

    args: dict[str, object] = {
        "billing_code": CODE,
        "amount": 950_000,
        "paid_at": BEFORE,
        "bill": state(),
        "known": None,
    }
    args.update(kw)
    v = judge_payment(**args)  # type: ignore[arg-type]
    return v.outcome, v.kind


def test_payment_outcomes() -> None:
    assert judge() == (Outcome.APPLIED, None)
    assert judge(known=KnownPayment(CODE, 950_000)) == (Outcome.DUPLICATE, None)
    assert judge(known=KnownPayment("999999999999999", 950_000)) == (
        Outcome.DISCREPANCY,
        DiscrepancyKind.DOUBLE_PAYMENT,
    )
    assert judge(known=KnownPayment(CODE, 1)) == (Outcome.DISCREPANCY, DiscrepancyKind.AMOUNT_MISMATCH)
    assert judge(bill=None) == (Outcome.DISCREPANCY, DiscrepancyKind.UNKNOWN_BILL)
    assert judge(bill=state(BillStatus.PAID)) == (Outcome.DISCREPANCY, DiscrepancyKind.DOUBLE_PAYMENT)
    assert judge(amount=900_000) == (Outcome.DISCREPANCY, DiscrepancyKind.AMOUNT_MISMATCH)
    assert judge(paid_at=AFTER) == (Outcome.DISCREPANCY, DiscrepancyKind.LATE_PAYMENT)
    assert judge(bill=state(BillStatus.EXPIRED), paid_at=AFTER) == (Outcome.DISCREPANCY, DiscrepancyKind.LATE_PAYMENT)
    assert judge(bill=state(BillStatus.VOID)) == (Outcome.DISCREPANCY, DiscrepancyKind.LATE_PAYMENT)


def test_payment_made_in_time_is_applied_even_after_the_sweep_expired_the_bill() -> None:
    assert judge(bill=state(BillStatus.EXPIRED), paid_at=BEFORE) == (Outcome.APPLIED, None)


# --- notification body ---------------------------------------------------------------------------

GOOD = {
    "billing_code": CODE,
    "amount": 950000,
    "ntpn": "0F1E2D3C4B5A6978",
    "bank_reference": "R1",
    "channel": "ATM",
    "paid_at": "2026-12-01T10:00:00+07:00",
}


def test_a_well_formed_notification_parses_with_its_time_zone() -> None:
    n = parse_notification(json.dumps({**GOOD, "extra": "ignored"}).encode())
    assert n.amount == 950000 and n.paid_at.utcoffset() == dt.timedelta(hours=7)


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 350000.5},
        {"amount": 350000.0},
        {"amount": "350000"},
        {"amount": 0},
        {"amount": -350000},
        {"amount": True},
        {"ntpn": "0f1e2d3c4b5a6978"},
        {"ntpn": "0F1E2D3C4B5A697"},
        {"billing_code": "12345"},
        {"channel": "CASH"},
        {"paid_at": "2026-12-01T10:00:00"},
        {"bank_reference": ""},
    ],
)
def test_malformed_notification_fields_are_refused(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        parse_notification(json.dumps({**GOOD, **change}).encode())


def test_non_json_notification_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_notification(b"billing_code=1&amount=2")


# --- settlement files ----------------------------------------------------------------------------

HEADER = "billing_code,ntpn,amount,paid_at,channel,bank_reference"
ROW = f"{CODE},0F1E2D3C4B5A6978,950000,2026-12-01T10:00:00+07:00,TELLER,T-1"


def test_settlement_file_with_bom_and_crlf_parses() -> None:
    parsed = parse_settlement(("\ufeff" + HEADER + "\r\n" + ROW + "\r\n").encode())
    assert parsed.errors == []
    assert len(parsed.rows) == 1
    assert parsed.rows[0].paid_at == dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC)


def test_a_file_covers_the_day_named_or_the_office_days_of_its_rows() -> None:
    parsed = parse_settlement(
        "\n".join(
            [
                HEADER,
                f"{CODE},0F1E2D3C4B5A6978,950000,2026-12-01T23:30:00+07:00,TELLER,T-1",
                f"{CODE},1F1E2D3C4B5A6978,950000,2026-12-01T17:30:00+00:00,TELLER,T-2",  # 2 Dec in Jakarta
            ]
        ).encode()
    )
    jakarta = zoneinfo.ZoneInfo("Asia/Jakarta")
    assert settlement_days(parsed, None, jakarta) == [dt.date(2026, 12, 1), dt.date(2026, 12, 2)]
    assert settlement_days(parsed, dt.date(2026, 11, 30), jakarta) == [dt.date(2026, 11, 30)]
    assert settlement_days(SettlementFile(), None, jakarta) == []


def test_malformed_rows_are_reported_by_line_and_the_rest_kept() -> None:
    text = "\n".join(
        [
            HEADER,
            ROW,
            f"{CODE},BADNTPN,950000,2026-12-01T10:00:00+07:00,TELLER,T-2",
            f"{CODE},1111222233334444,950000.50,2026-12-01T10:00:00+07:00,TELLER,T-3",
            f"{CODE},5555666677778888,950000",
            f"{CODE},0F1E2D3C4B5A6978,950000,2026-12-01T10:00:00+07:00,TELLER,T-dup",
            f"{CODE},9999888877776666,950000,2026-12-01T10:00:00,TELLER,T-naive",
        ]
    )
    parsed = parse_settlement(text.encode())
    assert [r.line for r in parsed.rows] == [2]
    assert [e.line for e in parsed.errors] == [3, 4, 5, 6, 7]
    assert "ntpn" in parsed.errors[0].errors[0]
    assert "amount" in parsed.errors[1].errors[0]
    assert "repeats line 2" in parsed.errors[3].errors[0]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"", "empty_settlement_file"),
        (b"  \r\n", "empty_settlement_file"),
        (b"billing_code;ntpn;amount;paid_at;channel;bank_reference\n", "wrong_settlement_header"),
        (b"ntpn,billing_code,amount,paid_at,channel,bank_reference\n", "wrong_settlement_header"),
        (ROW.encode() + b"\n", "wrong_settlement_header"),
        (b"\xff\xfe" + HEADER.encode(), "settlement_not_utf8"),
    ],
)
def test_empty_file_wrong_header_and_non_utf8_are_refused_whole(raw: bytes, code: str) -> None:
    with pytest.raises(SettlementFileError) as info:
        parse_settlement(raw)
    assert info.value.code == code
    # The words live in the catalogue, in both languages, with the 422 the route answers.
    entry = ERRORS[info.value.code]
    assert entry.status == 422 and entry.id and entry.en
