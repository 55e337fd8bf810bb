"""The queue's own per-app state: its settings, the office cache and the public look-up limiter.

The clock, the cipher and the runtime are not here: routes and handlers take them from their unit of
work (``uow.now()``, ``uow.cipher``).
"""

from __future__ import annotations

from sambang_runtime.ratelimit import RateLimiter
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.uow import UnitOfWork

from .settings import QueueSettings
from .stores.offices import OfficeCache

_DEFAULT_PUBLIC_BASE_URL: str = RuntimeSettings.model_fields["public_base_url"].default


class QueueContext:
    """State of one queue app (one per app, never a module global), given to its ServiceSpec."""

    def __init__(self, settings: QueueSettings | None = None, *, public_base_url: str | None = None) -> None:
        self.settings = settings or QueueSettings()
        #: Where applicants reach the front door (arrival links point there).
        self.public_base_url = (public_base_url or _DEFAULT_PUBLIC_BASE_URL).rstrip("/")
        self.offices = OfficeCache(self.settings.office_cache_seconds)
        self.limiter = RateLimiter(self.settings.lookup_burst, self.settings.lookup_per_minute / 60)


def context_of(uow: UnitOfWork) -> QueueContext:
    """The queue context of the app this unit of work belongs to."""
    ctx = uow.context
    if not isinstance(ctx, QueueContext):
        raise RuntimeError("this unit of work is not the queue service's")
    return ctx
