"""An office's rules as stored: rows saved before the rules had bounds (#16) are read within them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from annotated_types import Ge, Le, MaxLen
from sambang_contracts import OfficeSettings


def _bounds(name: str) -> tuple[int | None, int | None]:
    low = high = None
    for m in OfficeSettings.model_fields[name].metadata:
        if isinstance(m, Ge):
            low = int(m.ge)  # type: ignore[call-overload]
        elif isinstance(m, Le):
            high = int(m.le)  # type: ignore[call-overload]
    return low, high


def stored_rules(raw: Mapping[str, Any]) -> OfficeSettings:
    """The rules of a stored row; a number outside its rule's bounds (stored before there were any, e.g.
    biometrics kept 365 days) reads as the nearest bound, so the office keeps working, within the law."""
    values = dict(raw)
    for name, value in raw.items():
        if name not in OfficeSettings.model_fields or isinstance(value, bool) or not isinstance(value, int):
            continue
        low, high = _bounds(name)
        if low is not None and value < low:
            values[name] = low
        elif high is not None and value > high:
            values[name] = high
    seats = values.get("priority_seats")
    most = [m.max_length for m in OfficeSettings.model_fields["priority_seats"].metadata if isinstance(m, MaxLen)]
    if isinstance(seats, list) and most:
        values["priority_seats"] = seats[: most[0]]
    return OfficeSettings.model_validate(values)
