"""Errors raised when an event cannot be read: they say where and why, never what the value was."""

from __future__ import annotations

__all__ = ["InvalidEvent", "UnknownEventType"]


class InvalidEvent(ValueError):
    """An event is malformed: not JSON, a missing or bad envelope attribute, or data not matching.

    `errors` lists `(location, reason)` pairs; neither the message nor `errors` echoes input values.
    """

    def __init__(self, message: str, errors: tuple[tuple[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.errors = errors


class UnknownEventType(InvalidEvent):
    """The event's `type` is not in the catalogue (see `sambang_contracts.events.REGISTRY`)."""

    def __init__(self, event_type: str) -> None:
        shown = event_type if len(event_type) <= 80 else event_type[:80] + "…"
        super().__init__(f"unknown event type {shown!r}", (("type", "unknown event type"),))
        self.event_type = event_type
