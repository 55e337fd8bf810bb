"""The payment service's own per-app state: its settings and the limiters of public look-ups.

Built by ``create_app`` and given to the runtime as ``ServiceSpec(context=...)``; routes reach it
through ``api.deps.ContextDep``, handlers and background loops through ``context_of(uow)``. No
cipher, clock or runtime in here: those are on the unit of work. The limiters measure elapsed
seconds on the process's monotonic clock (not domain time) and live per process.
"""

from __future__ import annotations

from sambang_runtime.ratelimit import RateLimiter, ReceiptGuard
from sambang_runtime.uow import UnitOfWork

from .settings import PaymentSettings


class PaymentContext:
    """State of one payment app (never a module global: two apps in one process keep their own)."""

    def __init__(self, settings: PaymentSettings | None = None) -> None:
        self.settings = settings or PaymentSettings()
        s = self.settings
        #: Public bill look-ups per client: a burst, then ``lookup_per_minute``.
        self.lookup_limiter = RateLimiter(s.lookup_burst, s.lookup_per_minute / 60)
        #: Wrong birth dates per receipt.
        self.receipts = ReceiptGuard(s.receipt_guess_limit, s.receipt_guess_window_seconds, s.receipt_lock_seconds)

    @property
    def default_timezone(self) -> str:
        """Office time zone for an office not heard of yet (no ``queue.office.updated`` seen)."""
        return self.settings.default_timezone


def lookup_limiter_of(context: object) -> RateLimiter:
    """The public look-up limiter of a payment context (for ``sambang_runtime.http.client_rate_limit``)."""
    if not isinstance(context, PaymentContext):
        raise RuntimeError("not a payment context (ServiceSpec.context)")
    return context.lookup_limiter


def context_of(uow: UnitOfWork) -> PaymentContext:
    """The payment context of the app this unit of work belongs to."""
    context = uow.context
    if not isinstance(context, PaymentContext):
        raise RuntimeError("this unit of work was not built by a payment app (ServiceSpec.context)")
    return context
