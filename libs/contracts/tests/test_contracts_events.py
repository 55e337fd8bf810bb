"""Envelope and events: every type round-trips, and malformed events are refused without leaking data."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pydantic import ValidationError
from sambang_contracts import (
    PERSONAL_DATA_FIELDS,
    REGISTRY,
    ArrivalConfirmed,
    BillIssued,
    BillItem,
    CloudEvent,
    DiscrepancyDetected,
    DiscrepancyKind,
    InvalidEvent,
    OfficeSettings,
    PaymentConfirmed,
    UnknownEventType,
    dump_event,
    event_model,
    new_event,
    parse_event,
    routing_keys,
)
from sambang_contracts.examples import EXAMPLES, example_data

RECEIPT = "BLT2612010421733"
EVENT_ID = "0b8f7c3e-5d2a-4c1e-9f3b-2a6d8e4f1c07"
WIB = dt.timezone(dt.timedelta(hours=7))


def _source(event_type: str) -> str:
    service = event_type.split(".", 1)[0]
    return "sambang/simkim-gateway" if service == "simkim" else f"sambang/{service}"


def _valid_document(**changes: Any) -> dict[str, Any]:
    event = new_event(example_data("payment.confirmed"), source="sambang/payment", event_id=EVENT_ID)
    document: dict[str, Any] = json.loads(dump_event(event))
    for key, value in changes.items():
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    return document


def test_catalogue_has_the_31_event_types_of_events_md() -> None:
    assert len(REGISTRY) == 31
    assert routing_keys() == sorted(REGISTRY)
    for event_type, model in REGISTRY.items():
        assert model.event_type == event_type
        assert event_model(event_type) is model
        assert event_type.split(".", 1)[0] in {"queue", "payment", "capture", "simkim", "notifier"}


def test_every_event_type_has_an_example() -> None:
    assert set(EXAMPLES) == set(REGISTRY)
    with pytest.raises(UnknownEventType):
        example_data("queue.nothing.happened")


@pytest.mark.parametrize("event_type", sorted(REGISTRY))
def test_every_event_type_round_trips_through_dump_and_parse(event_type: str) -> None:
    data = example_data(event_type)
    event = new_event(data, source=_source(event_type), correlationid="req-1")
    raw = dump_event(event)
    parsed = parse_event(raw)
    assert parsed == event
    assert type(parsed.data) is REGISTRY[event_type]
    assert parsed.data == data
    assert parsed.type == event_type
    assert parsed.dataschema == f"sambang:{event_type}:1"
    assert parse_event(raw.decode()) == event
    assert parse_event(json.loads(raw)) == event
    assert dump_event(parsed) == raw


def test_new_event_fills_subject_and_office_from_the_data() -> None:
    event = new_event(example_data("payment.confirmed"), source="sambang/payment")
    assert event.subject == RECEIPT
    assert event.office == "BLT"
    assert event.specversion == "1.0"
    assert event.datacontenttype == "application/json"
    office_event = new_event(example_data("queue.office.updated"), source="sambang/queue")
    assert office_event.subject is None
    assert office_event.office == "BLT"
    orphan = DiscrepancyDetected(billing_code="999", kind=DiscrepancyKind.UNKNOWN_BILL, detail="no such bill")
    orphan_event = new_event(orphan, source="sambang/payment", office="MLG")
    assert (orphan_event.subject, orphan_event.office) == (None, "MLG")
    assert b'"subject"' not in dump_event(orphan_event)
    assert b'"correlationid"' not in dump_event(orphan_event)


def test_times_are_serialised_in_utc_with_z() -> None:
    data = ArrivalConfirmed(receipt_number=RECEIPT, confirmed_at=dt.datetime(2026, 12, 1, 10, 4, 5, tzinfo=WIB))
    event = new_event(data, source="sambang/queue", time=dt.datetime(2026, 12, 1, 10, 4, 5, tzinfo=WIB))
    document = json.loads(dump_event(event))
    assert document["time"] == "2026-12-01T03:04:05Z"
    assert document["data"]["confirmed_at"] == "2026-12-01T03:04:05Z"
    assert event.time.utcoffset() == dt.timedelta(0)


def test_envelope_is_compact_json() -> None:
    raw = dump_event(new_event(example_data("queue.arrival.confirmed"), source="sambang/queue"))
    assert b" " not in raw and b"\n" not in raw


def test_unknown_event_type_is_refused() -> None:
    document = _valid_document(type="payment.refunded", dataschema="sambang:payment.refunded:1")
    with pytest.raises(UnknownEventType) as caught:
        parse_event(document)
    assert isinstance(caught.value, InvalidEvent)
    assert caught.value.event_type == "payment.refunded"
    with pytest.raises(UnknownEventType):
        event_model("payment.refunded")


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"not json", "malformed JSON"),
        (b'{"specversion": "1.0"', "malformed JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps(_valid_document(type=None)), "type"),
        (json.dumps(_valid_document(type=7)), "type"),
        (json.dumps(_valid_document(id=None)), "id"),
        (json.dumps(_valid_document(id="not-a-uuid")), "id"),
        (json.dumps(_valid_document(specversion="0.3")), "specversion"),
        (json.dumps(_valid_document(specversion=None)), "specversion"),
        (json.dumps(_valid_document(source="payment")), "source"),
        (json.dumps(_valid_document(time="2026-12-01T03:04:05")), "time"),
        (json.dumps(_valid_document(time=None)), "time"),
        (json.dumps(_valid_document(dataschema="sambang:queue.arrival.confirmed:1")), "dataschema"),
        (json.dumps(_valid_document(datacontenttype="text/plain")), "datacontenttype"),
        (json.dumps(_valid_document(data=None)), "data"),
        (json.dumps(_valid_document(data={"receipt_number": RECEIPT})), "data.billing_code"),
        (json.dumps(_valid_document(office="blt")), "office"),
        (json.dumps(_valid_document(**{"Bad-Extension": "x"})), "extension"),
    ],
)
def test_malformed_events_are_refused_saying_where(raw: str | bytes, where: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(raw)
    assert not isinstance(caught.value, UnknownEventType)
    assert where in str(caught.value)


def test_data_not_matching_its_model_is_refused_without_echoing_values() -> None:
    document = _valid_document()
    document["data"]["amount"] = -5
    document["data"]["ntpn"] = "secret-ntpn-value"
    document["data"]["receipt_number"] = "BLT2612010421734"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(document)
    message = str(caught.value)
    assert "data.amount" in message and "data.ntpn" in message and "data.receipt_number" in message
    assert "secret-ntpn-value" not in message
    assert "BLT2612010421734" not in message
    assert caught.value.__cause__ is None
    assert ("data.receipt_number", "Invalid receipt number: wrong check digit") in caught.value.errors


def test_personal_data_is_not_echoed_when_an_application_is_malformed() -> None:
    event = new_event(example_data("queue.application.registered"), source="sambang/queue")
    document = json.loads(dump_event(event))
    document["data"]["applicant"]["nik"] = "35050101015000"
    document["data"]["applicant"]["birth_date"] = "Siti-secret"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(document)
    assert "35050101015000" not in str(caught.value)
    assert "Siti-secret" not in str(caught.value)
    assert "data.applicant.nik" in str(caught.value)


def test_new_event_refuses_a_naive_time() -> None:
    with pytest.raises(InvalidEvent) as caught:
        new_event(example_data("payment.confirmed"), source="sambang/payment", time=dt.datetime(2026, 12, 1))
    assert "time" in str(caught.value)


def test_extension_attributes_are_kept() -> None:
    document = _valid_document(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    event = parse_event(document)
    assert event.model_extra == {"traceparent": document["traceparent"]}
    assert json.loads(dump_event(event))["traceparent"] == document["traceparent"]


def test_newer_data_fields_are_ignored_for_forward_compatibility() -> None:
    document = _valid_document()
    document["data"]["added_in_v1_5"] = "whatever"
    assert isinstance(parse_event(document).data, PaymentConfirmed)


def test_payment_amounts_must_be_positive_and_bills_must_add_up() -> None:
    with pytest.raises(ValidationError):
        PaymentConfirmed.model_validate({**example_data("payment.confirmed").model_dump(), "amount": 0})
    bill = example_data("payment.bill.issued")
    assert isinstance(bill, BillIssued)
    with pytest.raises(ValidationError):
        BillIssued.model_validate(
            {**bill.model_dump(), "items": [BillItem(code="X", description="x", amount=1).model_dump()]}
        )


def test_office_settings_defaults_match_api_md() -> None:
    settings = OfficeSettings()
    assert settings.model_dump() == {
        "booking_window_days": 30,
        "first_bookable_offset_days": 1,
        "checkin_early_minutes": 30,
        "checkin_late_minutes": 60,
        "priority_seats": [f"P{n}" for n in range(1, 13)],
        "no_show_after_calls": 3,
        "near_turn_position": 3,
        "bill_validity_seconds": 7200,
        "priority_bill_validity_seconds": 604800,
        "pickup_working_days": 5,
        "fingerprint_quality_threshold": 40,
        "biometric_retention_days": 30,
        "reminder_enabled": True,
        "reminder_hour": 16,
        "estimate_window": 20,
        "estimate_min_served": 5,
    }


def test_a_wait_estimate_is_an_ordered_range_and_near_turn_may_carry_one() -> None:
    from pydantic import ValidationError
    from sambang_contracts import TicketNearTurn, WaitEstimate

    assert WaitEstimate(low_minutes=20, high_minutes=30).high_minutes == 30
    with pytest.raises(ValidationError):
        WaitEstimate(low_minutes=30, high_minutes=20)
    older = TicketNearTurn.model_validate(
        {"receipt_number": RECEIPT, "ticket": "A001", "stage": "INTERVIEW", "position": 2}
    )
    assert older.estimated_wait is None  # a v1.1 message still validates


def test_personal_data_fields_are_listed_for_the_redactor() -> None:
    assert {"full_name", "nik", "birth_date", "email", "phone", "passport_number"} == PERSONAL_DATA_FIELDS


def test_typed_envelope_keeps_its_data_type() -> None:
    event: CloudEvent[PaymentConfirmed] = new_event(example_data_typed(), source="sambang/payment")
    assert event.data.amount == 650000


def example_data_typed() -> PaymentConfirmed:
    data = example_data("payment.confirmed")
    assert isinstance(data, PaymentConfirmed)
    return data
