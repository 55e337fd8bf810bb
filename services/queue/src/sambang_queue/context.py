"""The queue's own per-app state: its settings, the office cache and the limiters of public look-ups.

The clock, the cipher and the runtime are not here: routes and handlers take them from their unit of
work (``uow.now()``, ``uow.cipher``). The limiters measure elapsed seconds on the process's monotonic
clock (not domain time) and live per process: each replica limits what it sees.
"""

from __future__ import annotations

import time

from sambang_runtime.ratelimit import RateLimiter, ReceiptGuard
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.uow import UnitOfWork

from .settings import QueueSettings
from .stores.offices import OfficeCache

_DEFAULT_PUBLIC_BASE_URL: str = RuntimeSettings.model_fields["public_base_url"].default


class QueueContext:
    """State of one queue app (one per app, never a module global), given to its ServiceSpec."""

    def __init__(self, settings: QueueSettings | None = None, *, public_base_url: str | None = None) -> None:
        self.settings = settings or QueueSettings()
        s = self.settings
        #: Where applicants reach the front door (arrival links point there).
        self.public_base_url = (public_base_url or _DEFAULT_PUBLIC_BASE_URL).rstrip("/")
        self.offices = OfficeCache(s.office_cache_seconds)
        #: Public look-ups per client address.
        self.limiter = RateLimiter(s.lookup_burst, s.lookup_per_minute / 60)
        #: Requests per kiosk or display (the token's office and subject).
        self.devices = RateLimiter(s.device_burst, s.device_per_minute / 60)
        #: Wrong birth dates per receipt.
        self.receipts = ReceiptGuard(s.receipt_guess_limit, s.receipt_guess_window_seconds, s.receipt_lock_seconds)

    def device_wait(self, device: str) -> float:
        """Take one request of a device's allowance: 0 if it may go ahead, else the seconds to wait."""
        return self.devices.take(device, time.monotonic())


def context_of(uow: UnitOfWork) -> QueueContext:
    """The queue context of the app this unit of work belongs to."""
    ctx = uow.context
    if not isinstance(ctx, QueueContext):
        raise RuntimeError("this unit of work is not the queue service's")
    return ctx
