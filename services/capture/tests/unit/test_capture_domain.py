"""The capture service's pure rules: checklist, completeness, interview, retention, quality verdicts."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sambang_capture.domain import documents
from sambang_capture.domain.capture import (
    CaptureState,
    capture_mode,
    check_interview_change,
    finger_position,
    gives_fingerprints,
    local_day,
    missing,
)
from sambang_capture.domain.documents import Holder, checklist, holder_note, unmet
from sambang_capture.domain.quality import (
    FingerprintMeasures,
    FingerprintRules,
    PhotoMeasures,
    PhotoRules,
    SignatureMeasures,
    SignatureRules,
    fingerprint_score,
    judge_fingerprint,
    judge_photo,
    judge_signature,
)
from sambang_capture.domain.retention import (
    earliest,
    office_day,
    purge_due_at,
    quality_threshold,
    retention_days,
)
from sambang_contracts import CaptureMode, DocumentStatus, InterviewDecision, Lane, ServiceType
from sambang_contracts import DocumentKind as ContractKind
from sambang_contracts.values import BIOMETRIC_RETENTION_MAX_DAYS, age_on
from sambang_runtime.errors import DomainError

OK, MISSING, MISMATCH = DocumentStatus.OK, DocumentStatus.MISSING, DocumentStatus.MISMATCH
K = ContractKind


def keys(service: ServiceType, age: int) -> list[str]:
    return [r.key for r in checklist(service, age)]


# -- documents -----------------------------------------------------------------------------------


def test_an_adult_new_passport_needs_ktp_kk_one_civil_record_the_form_and_the_statement_letter() -> None:
    assert keys(ServiceType.NEW, 30) == ["KTP", "KK", "CIVIL_RECORD", "PERDIM_11", "STATEMENT_LETTER"]


def test_renewal_and_damaged_replacement_need_the_old_passport_a_lost_one_a_police_report() -> None:
    assert "OLD_PASSPORT" in keys(ServiceType.RENEWAL, 30)
    assert "OLD_PASSPORT" in keys(ServiceType.REPLACEMENT_DAMAGED, 30)
    lost = keys(ServiceType.REPLACEMENT_LOST, 30)
    assert "POLICE_REPORT" in lost and "OLD_PASSPORT" not in lost
    assert "POLICE_REPORT" not in keys(ServiceType.NEW, 30)


def test_a_child_shows_the_parents_ktp_and_marriage_certificate_instead_of_a_ktp() -> None:
    child = checklist(ServiceType.NEW, 11)
    assert [r.key for r in child] == [
        "KK",
        "BIRTH_CERTIFICATE",
        "FATHER_KTP",
        "MOTHER_KTP",
        "PARENTS_MARRIAGE_CERTIFICATE",
        "PERDIM_11",
        "STATEMENT_LETTER",
    ]
    assert {r.holder for r in child if r.kinds == (K.KTP,)} == {Holder.FATHER, Holder.MOTHER}
    assert keys(ServiceType.NEW, 16)[0] == "KK" and keys(ServiceType.NEW, 17)[0] == "KTP"


def test_any_one_civil_record_meets_its_line_and_a_mismatch_counts_as_shown_but_missing_does_not() -> None:
    lines = checklist(ServiceType.NEW, 30)
    checked = {
        (K.KTP, Holder.APPLICANT): MISMATCH,
        (K.KK, Holder.APPLICANT): MISSING,
        (K.DIPLOMA, Holder.APPLICANT): OK,
        (K.PERDIM_11, Holder.APPLICANT): OK,
    }
    assert [r.key for r in unmet(lines, checked)] == ["KK", "STATEMENT_LETTER"]


def test_a_parents_document_does_not_meet_the_applicants_line() -> None:
    lines = checklist(ServiceType.NEW, 30)
    assert "KTP" in [r.key for r in unmet(lines, {(K.KTP, Holder.FATHER): OK})]


def test_the_kinds_are_the_contracts_and_holders_travel_as_a_note() -> None:
    assert documents.DocumentKind is ContractKind  # one enum: capture checks what the contract can say
    assert holder_note(Holder.APPLICANT) is None
    assert holder_note(Holder.MOTHER) == "holder=MOTHER"


# -- ages, fingers, completeness ---------------------------------------------------------------------


def test_age_counts_completed_years_and_the_office_day_decides_the_birthday() -> None:
    birth = dt.date(2021, 12, 2)
    assert age_on(birth, dt.date(2026, 12, 1)) == 4
    assert age_on(birth, dt.date(2026, 12, 2)) == 5
    # 18:00 UTC on 1 December is already 2 December in Blitar (UTC+7).
    assert local_day(dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC), "Asia/Jakarta") == dt.date(2026, 12, 2)
    assert not gives_fingerprints(4) and gives_fingerprints(5)


@pytest.mark.parametrize("position", [0, 11, -1, 100])
def test_finger_positions_outside_one_to_ten_are_refused(position: int) -> None:
    with pytest.raises(DomainError) as err:
        finger_position(position)
    assert err.value.code == "invalid_finger_position"


def test_finger_positions_one_to_ten_are_iso_19794_4() -> None:
    assert [finger_position(p) for p in range(1, 11)] == list(range(1, 11))


def _state(**overrides: object) -> CaptureState:
    values: dict[str, object] = {
        "unmet_documents": (),
        "has_photo": True,
        "fingerprints_required": True,
        "fingerprints": frozenset(range(1, 11)),
        "fingerprint_exceptions": frozenset(),
        "has_signature": True,
        "signature_exception": False,
    }
    values.update(overrides)
    return CaptureState(**values)  # type: ignore[arg-type]


def test_nothing_is_missing_when_everything_is_there() -> None:
    assert missing(_state()) == []


def test_missing_lists_exactly_the_documents_photo_fingers_and_signature_that_are_not_there() -> None:
    lines = checklist(ServiceType.NEW, 30)
    state = _state(
        unmet_documents=(lines[2],),
        has_photo=False,
        fingerprints=frozenset({1, 2, 3, 5, 6, 7, 8, 9}),
        fingerprint_exceptions=frozenset({10}),
        has_signature=False,
    )
    assert missing(state) == [
        {
            "item": "DOCUMENT",
            "requirement": "CIVIL_RECORD",
            "kinds": ["BIRTH_CERTIFICATE", "MARRIAGE_CERTIFICATE", "DIPLOMA"],
            "holder": "APPLICANT",
        },
        {"item": "PHOTO"},
        {"item": "FINGERPRINT", "position": 4, "finger": "right ring"},
        {"item": "SIGNATURE"},
    ]


def test_children_under_five_owe_no_fingers_and_cannot_sign_stands_for_the_signature() -> None:
    state = _state(fingerprints_required=False, fingerprints=frozenset(), has_signature=False, signature_exception=True)
    assert missing(state) == []


# -- interview, mode, retention ---------------------------------------------------------------------------


def test_a_final_interview_decision_is_not_changed_but_needs_documents_may_be() -> None:
    A, R, N = InterviewDecision.APPROVED, InterviewDecision.REJECTED, InterviewDecision.NEEDS_DOCUMENTS
    check_interview_change(None, A)
    check_interview_change(N, A)
    check_interview_change(A, A)
    for previous, new in ((A, R), (R, A), (A, N)):
        with pytest.raises(DomainError) as err:
            check_interview_change(previous, new)
        assert err.value.code == "interview_already_decided"


def test_the_mode_follows_the_lane_unless_said() -> None:
    assert capture_mode(None, Lane.PRIORITY, {"interviewer"}) is CaptureMode.SAMBANG
    assert capture_mode(None, Lane.REGULAR, {"sambang_officer"}) is CaptureMode.COUNTER
    assert capture_mode(None, None, {"sambang_officer"}) is CaptureMode.SAMBANG
    assert capture_mode(None, None, {"interviewer"}) is CaptureMode.COUNTER
    assert capture_mode(CaptureMode.COUNTER, Lane.PRIORITY, {"sambang_officer"}) is CaptureMode.COUNTER


def test_biometrics_are_due_for_deletion_the_retention_days_after_the_outcome() -> None:
    issued = dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC)
    assert purge_due_at(issued, 30) == dt.datetime(2026, 12, 31, 3, tzinfo=dt.UTC)
    assert purge_due_at(issued, 0) == issued


def test_retention_never_exceeds_the_national_maximum_nor_goes_below_zero() -> None:
    assert BIOMETRIC_RETENTION_MAX_DAYS == 90
    issued = dt.datetime(2026, 12, 1, 3, tzinfo=dt.UTC)
    assert purge_due_at(issued, 3650) == issued + dt.timedelta(days=90)
    assert retention_days(91) == 90 and retention_days(-5) == 0 and retention_days(45) == 45


def test_a_threshold_outside_0_100_is_brought_within() -> None:
    assert (quality_threshold(250), quality_threshold(-1), quality_threshold(55)) == (100, 0, 55)


def test_a_second_outcome_brings_the_deletion_forward_never_later() -> None:
    first = dt.datetime(2026, 12, 31, tzinfo=dt.UTC)
    assert earliest(None, first) == first
    assert earliest(first, first + dt.timedelta(days=1)) == first
    assert earliest(first, first - dt.timedelta(days=1)) == first - dt.timedelta(days=1)


def test_the_purge_reports_day_is_the_offices_calendar_day() -> None:
    start, end = office_day(dt.date(2026, 12, 1), "Asia/Jakarta")
    assert start == dt.datetime(2026, 11, 30, 17, tzinfo=dt.UTC) and end == dt.datetime(2026, 12, 1, 17, tzinfo=dt.UTC)


# -- quality verdicts -------------------------------------------------------------------------------------

GOOD_PHOTO = PhotoMeasures(
    width=390, height=500, face_count=1, face_ratio=0.5, brightness=150, contrast=54, sharpness=150
)


def _photo(**overrides: object) -> PhotoMeasures:
    return dataclasses.replace(GOOD_PHOTO, **overrides)  # type: ignore[arg-type]


def test_a_good_photo_passes_every_check_with_a_high_score() -> None:
    verdict = judge_photo(GOOD_PHOTO, PhotoRules())
    assert verdict.passed and verdict.reasons == []
    assert all(c.grade >= 0.5 for c in verdict.checks)
    assert [c.name for c in verdict.checks] == [
        "width",
        "height",
        "face_count",
        "face_size",
        "brightness",
        "contrast",
        "sharpness",
    ]
    assert verdict.score >= 90


def test_a_photo_just_at_every_limit_passes_with_a_score_of_fifty() -> None:
    rules = PhotoRules()
    edge = _photo(
        width=rules.min_width,
        height=rules.min_height,
        face_ratio=rules.face_min_ratio,
        brightness=rules.brightness_max,
        contrast=rules.contrast_min,
        sharpness=rules.sharpness_min,
    )
    verdict = judge_photo(edge, rules)
    assert verdict.passed and verdict.score == 50.0


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"width": 299}, "too_small"),
        ({"height": 399}, "too_small"),
        ({"face_count": 0, "face_ratio": None}, "no_face"),
        ({"face_count": 2}, "several_faces"),
        ({"face_ratio": 0.2}, "face_too_small"),
        ({"face_ratio": 0.9}, "face_too_large"),
        ({"brightness": 40}, "too_dark"),
        ({"brightness": 240}, "too_bright"),
        ({"contrast": 10}, "low_contrast"),
        ({"sharpness": 20}, "blurred"),
    ],
)
def test_each_photo_rule_refuses_with_its_reason(overrides: dict[str, object], reason: str) -> None:
    verdict = judge_photo(_photo(**overrides), PhotoRules())
    assert not verdict.passed
    assert verdict.reasons == [reason]
    assert verdict.score < 50


def test_every_failed_photo_check_is_named_at_once() -> None:
    verdict = judge_photo(_photo(face_count=2, brightness=30, contrast=10, sharpness=5), PhotoRules())
    assert verdict.reasons == ["several_faces", "too_dark", "low_contrast", "blurred"]
    assert verdict.score == 0.0  # a photo is as good as its weakest property


def test_the_fingerprint_score_is_coherence_over_enough_finger_area() -> None:
    assert fingerprint_score(0.95, 0.7) == 95.0
    assert fingerprint_score(0.95, 0.2) == 47.5
    assert fingerprint_score(0.0, 1.0) == 0.0


def test_a_fingerprint_passes_at_the_threshold_and_fails_below_it() -> None:
    m = FingerprintMeasures(width=320, height=400, grayscale=True, coherence=0.40, foreground=0.6)
    assert judge_fingerprint(m, FingerprintRules(threshold=40)).passed
    refused = judge_fingerprint(m, FingerprintRules(threshold=41))
    assert not refused.passed and refused.reasons == ["low_quality"] and refused.score == 40.0


def test_a_colour_or_small_fingerprint_is_refused_with_each_reason() -> None:
    m = FingerprintMeasures(width=200, height=400, grayscale=False, coherence=0.1, foreground=0.9)
    assert judge_fingerprint(m, FingerprintRules()).reasons == ["not_grayscale", "too_small", "low_quality"]


def test_a_blank_signature_is_refused() -> None:
    assert judge_signature(SignatureMeasures(400, 150, 0.03), SignatureRules()).passed
    assert judge_signature(SignatureMeasures(400, 150, 0.0), SignatureRules()).reasons == ["blank"]
    assert judge_signature(SignatureMeasures(60, 20, 0.03), SignatureRules()).reasons == ["too_small"]
