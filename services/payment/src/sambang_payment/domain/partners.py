"""Payment partners (banks) and the life of their signing keys."""

from __future__ import annotations

import datetime as dt
import enum
import re

PARTNER_ID = re.compile(r"^[A-Z0-9_]{3,32}$")


class KeyState(enum.StrEnum):
    """Whether a partner key signs today."""

    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REVOKED = "REVOKED"


def key_state(*, revoked_at: dt.datetime | None, valid_until: dt.datetime | None, now: dt.datetime) -> KeyState:
    """A revoked key never signs again; a rotated key signs until its grace period ends."""
    if revoked_at is not None:
        return KeyState.REVOKED
    if valid_until is not None and valid_until <= now:
        return KeyState.EXPIRED
    return KeyState.ACTIVE


def grace_until(now: dt.datetime, grace_seconds: int) -> dt.datetime:
    """When the keys open at a rotation stop working (0 seconds: now)."""
    return now + dt.timedelta(seconds=grace_seconds)
