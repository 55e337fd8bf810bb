"""The CloudEvents 1.0 envelope (structured JSON mode) and fast, cached dump and parse."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any, Generic, Literal, Self, TypeVar

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sambang_contracts.errors import InvalidEvent
from sambang_contracts.events import EventData, event_model
from sambang_contracts.values import OfficeCode, UtcDateTime

__all__ = [
    "CONTENT_TYPE",
    "EXCHANGE",
    "CloudEvent",
    "dataschema_for",
    "dump_event",
    "event_class",
    "new_event",
    "parse_event",
]

EXCHANGE = "sambang.events"
"""The durable topic exchange every event is published on, with its type as routing key."""
CONTENT_TYPE = "application/cloudevents+json"
"""AMQP content type of a structured-mode CloudEvent."""

DataT = TypeVar("DataT")
D = TypeVar("D", bound=EventData)

_UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_EXTENSION_NAME = re.compile(r"[a-z0-9]{1,20}", re.ASCII)
_OPTIONAL_ATTRIBUTES = ("subject", "office", "correlationid")


def dataschema_for(event_type: str) -> str:
    """Return the `dataschema` attribute of an event type: `sambang:<type>:1`."""
    return f"sambang:{event_type}:1"


class CloudEvent(BaseModel, Generic[DataT]):
    """A CloudEvents 1.0 event in structured mode with Sambang's `office` and `correlationid`.

    Other extension attributes are kept (CloudEvents allows them); known attributes are checked.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"]
    id: str = Field(pattern=_UUID_PATTERN, description="UUID, unique per event")
    source: str = Field(pattern="^sambang/[a-z][a-z-]*$", description="sambang/<service>")
    type: str = Field(min_length=1, max_length=200, description="Event type = routing key")
    subject: str | None = Field(default=None, description="The receipt number")
    time: UtcDateTime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str = Field(pattern=r"^sambang:[a-z0-9._-]+:[0-9]+$")
    office: OfficeCode | None = None
    correlationid: str | None = Field(default=None, max_length=200)
    data: DataT

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.dataschema.rsplit(":", 1)[0] != f"sambang:{self.type}":
            raise ValueError("dataschema does not name the event type")
        if self.model_extra:
            for name in self.model_extra:
                if not _EXTENSION_NAME.fullmatch(name):
                    raise ValueError("extension attribute names must be 1-20 lowercase letters or digits")
        return self


_CLASSES: dict[str, type[CloudEvent[Any]]] = {}


def event_class(type: str) -> type[CloudEvent[Any]]:
    """Return `CloudEvent[<data model of type>]`, built once and cached; unknown → UnknownEventType."""
    cls = _CLASSES.get(type)
    if cls is None:
        parametrised: Any = CloudEvent[event_model(type)]  # type: ignore[misc]
        cls = _CLASSES[type] = parametrised
    return cls


def new_event(
    data: D,
    *,
    source: str,
    subject: str | None = None,
    office: str | None = None,
    correlationid: str | None = None,
    event_id: str | None = None,
    time: dt.datetime | None = None,
) -> CloudEvent[D]:
    """Wrap event data in an envelope: type and dataschema from the model, id and time fresh.

    `subject` defaults to the data's receipt number, `office` to the data's office or else the
    receipt number's office code.
    """
    receipt_number = getattr(data, "receipt_number", None)
    if subject is None:
        subject = receipt_number
    if office is None:
        office = getattr(data, "office", None)
        if office is None and isinstance(receipt_number, str):
            office = receipt_number[:3]
    cls = event_class(data.event_type)
    try:
        event = cls(
            specversion="1.0",
            id=event_id if event_id is not None else str(uuid.uuid4()),
            source=source,
            type=data.event_type,
            subject=subject,
            time=time if time is not None else dt.datetime.now(dt.UTC),
            dataschema=dataschema_for(data.event_type),
            office=office,
            correlationid=correlationid,
            data=data,
        )
    except ValidationError as exc:
        raise _invalid(data.event_type, exc) from None
    return event


#: The service that owns each event family (the first part of the type): only it may publish them.
_OWNERS = {
    "queue": "sambang/queue",
    "capture": "sambang/capture",
    "payment": "sambang/payment",
    "simkim": "sambang/simkim-gateway",
    "notifier": "sambang/notifier",
}


def owner_of(event_type: str) -> str | None:
    """The ``source`` every event of ``event_type`` must carry (its owner, e.g. ``payment.confirmed`` →
    ``sambang/payment``), or None for a family nobody owns. Consumers refuse any other source; the
    broker's topic permissions refuse the publish itself (deploy/rabbitmq/definitions.json)."""
    return _OWNERS.get(event_type.split(".", 1)[0])


def dump_event(event: CloudEvent[Any]) -> bytes:
    """Serialise an event as compact structured-mode JSON (UTF-8, times in UTC with `Z`)."""
    absent = {name for name in _OPTIONAL_ATTRIBUTES if getattr(event, name) is None}
    return event.__pydantic_serializer__.to_json(event, exclude=absent or None)


def parse_event(raw: bytes | str | Mapping[str, Any]) -> CloudEvent[Any]:
    """Read and validate an event, its `data` against the model registered for its `type`.

    Raises `UnknownEventType` for a type not in the catalogue and `InvalidEvent` for anything
    else that is wrong; messages name locations and reasons, never values.
    """
    if isinstance(raw, (bytes, bytearray, str)):
        try:
            document: Any = pydantic_core.from_json(raw)
        except ValueError as exc:
            raise InvalidEvent(f"malformed JSON: {exc}", (("", "malformed JSON"),)) from None
    else:
        document = raw
    if not isinstance(document, Mapping):
        raise InvalidEvent("an event must be a JSON object", (("", "not an object"),))
    event_type = document.get("type")
    if not isinstance(event_type, str):
        reason = "missing" if event_type is None else "must be a string"
        raise InvalidEvent(f"type: {reason}", (("type", reason),))
    cls = event_class(event_type)
    try:
        return cls.model_validate(document)
    except ValidationError as exc:
        raise _invalid(event_type, exc) from None


def _invalid(event_type: str, exc: ValidationError) -> InvalidEvent:
    """Describe a validation failure by location and reason only — inputs may be personal data."""
    errors = tuple(
        (".".join(str(part) for part in error["loc"]), error["msg"])
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    )
    shown = "; ".join(f"{loc or '(event)'}: {msg}" for loc, msg in errors[:10])
    more = f" (+{len(errors) - 10} more)" if len(errors) > 10 else ""
    return InvalidEvent(f"invalid {event_type} event: {shown}{more}", errors)
