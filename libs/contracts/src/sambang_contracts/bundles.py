"""The biometric bundle: capture's answer to ``GET /internal/v1/captures/{receipt}/bundle`` (API.md).

Not an event: the one payload that leaves capture over HTTP, to the SIMKIM gateway with a ``service`` token.
Each item carries the sha256 capture.completed announced, so the gateway can check it before submitting.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from pydantic import Field, PlainSerializer, PlainValidator, WithJsonSchema

from sambang_contracts.enums import CaptureItemKind
from sambang_contracts.events import PERSONAL_DATA_MARK, ContractModel, Sha256
from sambang_contracts.values import ReceiptNumber

__all__ = ["Base64Data", "BundleItem", "CaptureBundle"]


def _from_base64(value: object) -> bytes:
    # Text is standard base64 (as in JSON); bytes given in Python are the data itself.
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not standard base64") from None
    raise ValueError("base64 text or bytes expected")


def _to_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


#: Bytes that travel in JSON as standard base64 (RFC 4648 §4, with padding, no line breaks).
Base64Data = Annotated[
    bytes,
    PlainValidator(_from_base64),
    PlainSerializer(_to_base64, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]


class BundleItem(ContractModel):
    """One biometric item with its bytes (standard base64 in JSON)."""

    kind: CaptureItemKind
    position: int | None = Field(default=None, ge=1, le=10, description="Finger position 1-10 (ISO/IEC 19794-4)")
    sha256: Sha256 = Field(description="Lowercase hex SHA-256 of the decoded bytes, as in capture.completed")
    content_type: str = Field(min_length=1, max_length=100, description="e.g. image/jpeg, image/png")
    data: Base64Data = Field(description="The item's bytes, base64", json_schema_extra={PERSONAL_DATA_MARK: True})


class CaptureBundle(ContractModel):
    """Every captured item of one application."""

    receipt_number: ReceiptNumber
    items: list[BundleItem]
