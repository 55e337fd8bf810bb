"""The error catalogue: every code the service raises is catalogued, and every catalogued code is raised."""

from __future__ import annotations

import re
from pathlib import Path

from sambang_payment.domain.notifications import SignatureError
from sambang_payment.errors import ERRORS, signature_refused

SOURCE = Path(__file__).resolve().parents[2] / "src" / "sambang_payment"
RAISED = re.compile(r'(?:(?:DomainError|SignatureError|SettlementFileError)\(\s*|ERRORS\[)"([a-z][a-z0-9_]*)"')


def raised_codes() -> set[str]:
    return {code for path in SOURCE.rglob("*.py") for code in RAISED.findall(path.read_text("utf-8"))}


def test_every_raised_code_is_catalogued_and_every_catalogued_code_is_raised() -> None:
    raised = raised_codes()
    assert len(raised) > 15, "the scan found too few codes: has the way errors are raised changed?"
    assert raised - set(ERRORS) == set()
    assert set(ERRORS) - raised == set()


def test_catalogue_keeps_the_codes_and_statuses_of_the_api() -> None:
    statuses = {code: entry.status for code, entry in ERRORS.items()}
    assert statuses == {
        "no_fee_schedule": 404,
        "effective_date_in_past": 422,
        "schedule_exists": 409,
        "invalid_validity": 422,
        "ten_years_not_allowed": 422,
        "birth_date_in_url": 400,
        "receipt_locked": 429,
        "missing_signature": 401,
        "invalid_signature": 401,
        "stale_signature": 401,
        "unsupported_media_type": 415,
        "empty_settlement_file": 422,
        "settlement_not_utf8": 422,
        "wrong_settlement_header": 422,
        "settlement_control_characters": 422,
        "too_many_rows": 422,
        "invalid_range": 422,
        "partner_exists": 409,
        "unknown_partner": 404,
        "unknown_key": 404,
    }


def test_a_refused_signature_is_a_401_challenge_with_its_members() -> None:
    problem = signature_refused(SignatureError("stale_signature", window_seconds=300))
    assert (problem.status, problem.code) == (401, "stale_signature")
    assert problem.headers == {"WWW-Authenticate": 'HMAC realm="sambang-payment"'}
    assert problem.extra == {"window_seconds": 300}
    assert (problem.detail_en, problem.detail_id) == (ERRORS["stale_signature"].en, ERRORS["stale_signature"].id)
