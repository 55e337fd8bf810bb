"""What the queue's routes and handlers share: clock, cipher, office cache, rate limiter.

The runtime builds the cipher, and the handler table is part of the spec the runtime is built
from, so the context is created first and bound to the runtime once the app exists.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sambang_runtime.crypto import PiiCipher
from sambang_runtime.ratelimit import RateLimiter

from .domain import Clock, Mac, system_clock
from .offices import OfficeDirectory
from .settings import QueueSettings

if TYPE_CHECKING:
    from sambang_runtime.service import ServiceRuntime


class QueueContext:
    """Shared services of one queue app (one per process and app, never a module global)."""

    def __init__(self, settings: QueueSettings | None = None, clock: Clock = system_clock) -> None:
        self.settings = settings or QueueSettings()
        self.clock = clock
        self.offices = OfficeDirectory(self.settings.office_cache_seconds)
        self.limiter = RateLimiter(self.settings.lookup_burst, self.settings.lookup_per_minute / 60)
        self._runtime: ServiceRuntime | None = None

    def bind(self, runtime: ServiceRuntime) -> None:
        """Attach the runtime whose cipher and settings the routes and handlers use."""
        self._runtime = runtime

    @property
    def runtime(self) -> ServiceRuntime:
        """The bound runtime."""
        if self._runtime is None:
            raise RuntimeError("QueueContext is not bound to a runtime yet")
        return self._runtime

    @property
    def cipher(self) -> PiiCipher:
        """The personal-data cipher."""
        return self.runtime.cipher

    @property
    def public_base_url(self) -> str:
        """Where applicants reach the front door."""
        return self.runtime.settings.public_base_url.rstrip("/")

    def now(self) -> dt.datetime:
        """The current instant (UTC), from the injectable clock."""
        return self.clock().astimezone(dt.UTC)

    def mac(self, purpose: str) -> Mac:
        """A keyed hash for signing (the blind-index key, separated by purpose)."""
        cipher = self.cipher

        def mac(message: str) -> str:
            return cipher.blind_index(message, purpose=purpose)

        return mac

    def nik_hash(self, nik: str) -> str:
        """The blind index of a NIK (lookups and the one-active-application rule)."""
        return self.cipher.blind_index(nik, purpose="nik")

    def birth_hash(self, receipt_number: str, birth_date: dt.date) -> str:
        """A keyed hash of the birth date bound to the receipt, so equal birth dates are unlinkable."""
        return self.cipher.blind_index(f"{receipt_number}|{birth_date.isoformat()}", purpose="birth_date")
