"""The biometric bundle: capture's answer to ``GET /internal/v1/captures/{receipt}/bundle`` (API.md).

Not an event: the one payload that leaves capture over HTTP, to the SIMKIM gateway with a ``service`` token.
Each item carries the sha256 capture.completed announced, so the gateway can check it before submitting.
"""

from __future__ import annotations

from pydantic import Base64Bytes, Field

from sambang_contracts.enums import CaptureItemKind
from sambang_contracts.events import PERSONAL_DATA_MARK, ContractModel, Sha256
from sambang_contracts.values import ReceiptNumber

__all__ = ["BundleItem", "CaptureBundle"]


class BundleItem(ContractModel):
    """One biometric item with its bytes (standard base64 in JSON)."""

    kind: CaptureItemKind
    position: int | None = Field(default=None, ge=1, le=10, description="Finger position 1-10 (ISO/IEC 19794-4)")
    sha256: Sha256 = Field(description="Lowercase hex SHA-256 of the decoded bytes, as in capture.completed")
    content_type: str = Field(min_length=1, max_length=100, description="e.g. image/jpeg, image/png")
    data: Base64Bytes = Field(description="The item's bytes, base64", json_schema_extra={PERSONAL_DATA_MARK: True})


class CaptureBundle(ContractModel):
    """Every captured item of one application."""

    receipt_number: ReceiptNumber
    items: list[BundleItem]
