"""Catalogue v1.1: the new event types, and the additive changes that keep v1.0 messages valid."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sambang_contracts
from pydantic import ValidationError
from sambang_contracts import (
    PERSONAL_DATA_FIELDS,
    REGISTRY,
    ApplicationRegistered,
    BillVoided,
    InvalidEvent,
    SambangClaimed,
    SambangReleased,
    Stage,
    TicketNearTurn,
    TicketNoShow,
    TicketTransferred,
    VoidReason,
    dump_event,
    new_event,
    parse_event,
)
from sambang_contracts.examples import example_data
from sambang_contracts.schemas import event_json_schema

NEW_TYPES = {
    "payment.bill.voided": BillVoided,
    "queue.sambang.released": SambangReleased,
    "queue.ticket.transferred": TicketTransferred,
    "queue.ticket.near_turn": TicketNearTurn,
}


def _document(event_type: str) -> dict[str, Any]:
    """The example event of a type as a consumer receives it: a JSON object."""
    source = "sambang/payment" if event_type.startswith("payment.") else "sambang/queue"
    document: dict[str, Any] = json.loads(dump_event(new_event(example_data(event_type), source=source)))
    return document


@pytest.mark.parametrize("event_type", sorted(NEW_TYPES))
def test_new_event_types_are_registered_exported_and_round_trip(event_type: str) -> None:
    model = NEW_TYPES[event_type]
    assert REGISTRY[event_type] is model
    assert model.__name__ in sambang_contracts.__all__
    document = _document(event_type)
    assert model.model_validate(document["data"]) == example_data(event_type)
    parsed = parse_event(document)
    assert parsed.data == example_data(event_type)
    assert json.loads(dump_event(parsed)) == document


def test_registered_message_of_a_v1_0_producer_still_validates() -> None:
    document = _document("queue.application.registered")
    del document["data"]["validity_years"], document["data"]["express"]
    data = parse_event(document).data
    assert isinstance(data, ApplicationRegistered)
    assert data.validity_years is None  # the producer did not say: consumers apply the age rule
    assert data.express is False


@pytest.mark.parametrize("years", [5, 10])
def test_registered_carries_the_chosen_validity_and_express(years: int) -> None:
    document = _document("queue.application.registered")
    document["data"].update(validity_years=years, express=True)
    data = parse_event(document).data
    assert isinstance(data, ApplicationRegistered)
    assert (data.validity_years, data.express) == (years, True)


@pytest.mark.parametrize("years", [0, 1, 4, 6, 7, 15, 20, "10", True, 10.5])
def test_validity_other_than_5_or_10_is_refused(years: object) -> None:
    document = _document("queue.application.registered")
    document["data"]["validity_years"] = years
    with pytest.raises(InvalidEvent) as caught:
        parse_event(document)
    assert "data.validity_years" in str(caught.value)


def test_claim_without_a_seat_validates() -> None:
    document = _document("queue.sambang.claimed")
    del document["data"]["seat"]
    data = parse_event(document).data
    assert isinstance(data, SambangClaimed)
    assert data.seat is None
    document["data"]["seat"] = None
    assert parse_event(document).data == data
    assert example_data("queue.sambang.claimed").model_dump()["seat"] == "P3"


def test_no_show_may_name_the_sambang_stage() -> None:
    assert Stage("SAMBANG") is Stage.SAMBANG
    document = _document("queue.ticket.no_show")
    document["data"]["stage"] = "SAMBANG"
    data = parse_event(document).data
    assert isinstance(data, TicketNoShow)
    assert data.stage is Stage.SAMBANG


def test_void_reasons_are_those_of_events_md() -> None:
    assert [reason.value for reason in VoidReason] == ["APPLICATION_CANCELLED", "REPLACED"]
    document = _document("payment.bill.voided")
    document["data"]["reason"] = "EXPIRED"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(document)
    assert "data.reason" in str(caught.value)


@pytest.mark.parametrize("position", [0, -1])
def test_near_turn_position_is_one_based(position: int) -> None:
    data = example_data("queue.ticket.near_turn").model_dump()
    with pytest.raises(ValidationError):
        TicketNearTurn.model_validate({**data, "position": position})


def test_transfer_needs_both_stages() -> None:
    data = example_data("queue.ticket.transferred").model_dump()
    del data["from_stage"]
    with pytest.raises(ValidationError):
        TicketTransferred.model_validate(data)


def test_new_fields_are_optional_in_the_exported_schemas() -> None:
    registered = event_json_schema("queue.application.registered")["$defs"]["ApplicationRegistered"]
    assert not {"validity_years", "express"} & set(registered["required"])
    validity = registered["properties"]["validity_years"]
    assert validity["default"] is None
    assert {"enum": [5, 10], "type": "integer"} in validity["anyOf"]
    assert registered["properties"]["express"]["default"] is False
    claimed = event_json_schema("queue.sambang.claimed")["$defs"]["SambangClaimed"]
    assert "seat" not in claimed["required"]
    stage = event_json_schema("queue.ticket.no_show")["$defs"]["Stage"]
    assert "SAMBANG" in stage["enum"]


def test_no_new_field_is_personal_data() -> None:
    assert {"full_name", "nik", "birth_date", "email", "phone", "passport_number"} == PERSONAL_DATA_FIELDS
