"""The biometric bundle of capture's internal endpoint: bytes as standard base64 in JSON, raw in Python."""

from __future__ import annotations

import base64
import hashlib

import pytest
from pydantic import ValidationError
from sambang_contracts.bundles import BundleItem, CaptureBundle

RAW = bytes(range(256)) * 3


def _item(**overrides: object) -> BundleItem:
    values: dict[str, object] = {
        "kind": "FINGERPRINT",
        "position": 3,
        "sha256": hashlib.sha256(RAW).hexdigest(),
        "content_type": "image/png",
        "data": RAW,
    }
    values.update(overrides)
    return BundleItem.model_validate(values)


def test_bytes_travel_as_standard_base64_and_come_back_the_same() -> None:
    bundle = CaptureBundle(receipt_number="BLT2612010421733", items=[_item()])
    text = bundle.model_dump_json()
    assert base64.b64encode(RAW).decode() in text  # standard alphabet, padded, no line breaks
    assert "\\n" not in text
    assert CaptureBundle.model_validate_json(text).items[0].data == RAW


def test_text_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ValidationError):
        _item(data="not base64!")
    with pytest.raises(ValidationError):
        _item(data=base64.urlsafe_b64encode(b"\xfb\xff" * 8).decode())  # the URL-safe alphabet is not standard


def test_the_schema_says_base64_and_marks_the_bytes_as_personal_data() -> None:
    schema = BundleItem.model_json_schema()["properties"]["data"]
    assert schema["contentEncoding"] == "base64"
    assert schema["x-personal-data"] is True
