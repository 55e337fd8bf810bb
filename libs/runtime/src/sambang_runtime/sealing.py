"""Personal data sealed in outbox rows and on the bus, opened by the consumer.

The contracts mark personal fields (``x-personal-data``). Each top-level ``data`` field of an event that
is, or holds, personal data (``applicant`` of ``queue.application.registered``, ``passport_number``)
travels as one AES-GCM token of the PII keys, bound to the event's id, type and field: an outbox row, a
backup of it, a message on the broker or in a parking queue reads nothing personal without the key. The
consumer opens the fields before it validates the event, so handlers see the plain contract models.

The seam is here, not in the services: ``outbox_row`` seals, the consumers and the test probe open.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pydantic_core
from pydantic import BaseModel
from sambang_contracts.events import PERSONAL_DATA_MARK, REGISTRY

from .crypto import DecryptionError, PiiCipher

__all__ = ["SealingError", "open_body", "seal_body", "sealed_fields"]


class SealingError(ValueError):
    """A sealed field that does not open: another key, altered, or moved to another event."""


def _holds_personal(annotation: Any, seen: set[type[BaseModel]]) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return False
        seen.add(annotation)
        for info in annotation.model_fields.values():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get(PERSONAL_DATA_MARK) is True:
                return True
            if _holds_personal(info.annotation, seen):
                return True
        return False
    return any(_holds_personal(a, seen) for a in getattr(annotation, "__args__", ()))


@cache
def sealed_fields(event_type: str) -> frozenset[str]:
    """The top-level ``data`` fields of ``event_type`` sealed on the wire (empty for most types)."""
    model = REGISTRY.get(event_type)
    if model is None:
        return frozenset()
    names = set()
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if (isinstance(extra, dict) and extra.get(PERSONAL_DATA_MARK) is True) or _holds_personal(
            info.annotation, set()
        ):
            names.add(name)
    return frozenset(names)


def _context(event_id: str, event_type: str, field: str) -> str:
    return f"event:{event_type}:{event_id}:{field}"


def seal_body(body: bytes, event_id: str, event_type: str, cipher: PiiCipher) -> bytes:
    """``body`` (a serialised event) with its personal fields sealed; unchanged for other types."""
    fields = sealed_fields(event_type)
    if not fields:
        return body
    document = pydantic_core.from_json(body)
    data = document.get("data")
    if not isinstance(data, dict):
        return body
    for name in fields:
        if name in data and data[name] is not None:
            plain = pydantic_core.to_json(data[name]).decode("utf-8")
            data[name] = cipher.encrypt(plain, context=_context(event_id, event_type, name))
    return pydantic_core.to_json(document)


def open_body(body: bytes, cipher: PiiCipher) -> bytes:
    """``body`` with its sealed fields opened (a body without any comes back as it is).

    Raises ``SealingError`` for a sealed field this cipher cannot open; the consumer parks that message.
    """
    try:
        document = pydantic_core.from_json(body)
    except ValueError:
        return body  # the parser reports malformed JSON in its own words
    if not isinstance(document, dict):
        return body
    event_type, event_id, data = document.get("type"), document.get("id"), document.get("data")
    if not isinstance(event_type, str) or not isinstance(event_id, str) or not isinstance(data, dict):
        return body
    fields = sealed_fields(event_type)
    opened = False
    for name in fields:
        value = data.get(name)
        # A producer older than sealing sent the plain value; only a token is opened.
        if isinstance(value, str) and value.startswith("v1.") and value.count(".") == 2:
            try:
                plain = cipher.decrypt(value, context=_context(event_id, event_type, name))
            except DecryptionError as exc:
                raise SealingError(f"sealed field {name!r} does not open: {exc}") from None
            data[name] = pydantic_core.from_json(plain)
            opened = True
    return pydantic_core.to_json(document) if opened else body
