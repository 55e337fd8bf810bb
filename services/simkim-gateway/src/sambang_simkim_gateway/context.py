"""The gateway's own per-app state: its settings, its replica id, the HTTP clients, the worker's wake-up."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from sambang_contracts.values import IsHoliday, indonesian_public_holidays
from sambang_runtime.auth import ServiceToken
from sambang_runtime.entropy import SYSTEM_RANDOM, uuid4
from sambang_runtime.uow import UnitOfWork

from .adapters.capture import CaptureClient, capture_http_client
from .adapters.simkim import GuardedSimkim, SimkimClient, StoredBreaker, simkim_http_client
from .domain import BreakerPolicy
from .settings import GatewaySettings

if TYPE_CHECKING:
    from sambang_runtime.service import ServiceRuntime

#: Dev service tokens live this long and are renewed when less than half of it is left.


class GatewayContext:
    """State of one gateway app (one per process and app, never a module global)."""

    def __init__(
        self,
        settings: GatewaySettings | None = None,
        *,
        capture_token: ServiceToken | None = None,
    ) -> None:
        self.settings = settings or GatewaySettings()
        #: This replica's name on the leases it takes.
        self.owner = str(uuid4())
        self.breaker_policy = BreakerPolicy(
            threshold=self.settings.breaker_failure_threshold,
            open_seconds=self.settings.breaker_open_seconds,
            open_cap_seconds=self.settings.breaker_open_cap_seconds,
            probe_lease_seconds=self.settings.lease_seconds,
        )
        self.is_holiday: IsHoliday = indonesian_public_holidays()
        #: The bearer token for capture's bundle endpoint, per office.
        self.capture_token = capture_token or ServiceToken(
            None, dev_secret=None, sub="simkim-gateway", variable="SAMBANG_SIMKIM_GATEWAY_CAPTURE_TOKEN"
        )
        self._wake = asyncio.Event()
        #: Rounds the worker completed (claimed what was due and started it), and a signal at each: tests
        #: prove that something was *not* done by waiting for a round that would have done it.
        self.worker_rounds = 0
        self._round = asyncio.Event()
        self._simkim: GuardedSimkim | None = None
        self._capture: CaptureClient | None = None

    def spread(self) -> float:
        """A uniform random number in [0, 1) for backoff jitter."""
        return SYSTEM_RANDOM.random()

    # -- the worker's wake-up ------------------------------------------------------------------------

    def wake(self) -> None:
        """Tell this replica's worker that work may be due now."""
        self._wake.set()

    def wake_after_commit(self, uow: UnitOfWork) -> None:
        """Wake the worker once this unit of work has committed: before that it would not see the row."""
        uow.after_commit(self._wake.set)

    async def sleep_until_woken(self, seconds: float) -> None:
        """Wait for a wake-up, at most ``seconds``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    def round_completed(self) -> None:
        """The worker finished a round (called by the worker)."""
        self.worker_rounds += 1
        self._round.set()
        self._round = asyncio.Event()

    async def rounds(self, count: int = 1) -> None:
        """Wait until the worker has completed ``count`` more rounds (the second one began after this call)."""
        for _ in range(count):
            await self._round.wait()

    # -- HTTP clients -----------------------------------------------------------------------------------

    def open_clients(self, runtime: ServiceRuntime) -> None:
        """Build the HTTP clients and the breaker they go through (inside the running loop, by the worker)."""
        breaker = StoredBreaker(runtime.uow, self.breaker_policy, on_closed=self.wake)
        self._simkim = GuardedSimkim(SimkimClient(simkim_http_client(self.settings)), breaker)
        self._capture = CaptureClient(capture_http_client(self.settings))

    async def close_clients(self) -> None:
        """Close the HTTP clients."""
        if self._simkim is not None:
            await self._simkim.aclose()
        if self._capture is not None:
            await self._capture.http.aclose()
        self._simkim = None
        self._capture = None

    @property
    def simkim(self) -> GuardedSimkim:
        """SIMKIM behind the breaker (while the worker runs)."""
        if self._simkim is None:
            raise RuntimeError("the worker's HTTP clients are not open")
        return self._simkim

    @property
    def capture(self) -> CaptureClient:
        """Capture's bundle endpoint (while the worker runs)."""
        if self._capture is None:
            raise RuntimeError("the worker's HTTP clients are not open")
        return self._capture


def context_of(uow: UnitOfWork) -> GatewayContext:
    """The gateway context of the app this unit of work belongs to."""
    ctx = uow.context
    if not isinstance(ctx, GatewayContext):
        raise RuntimeError("this unit of work does not belong to a SIMKIM gateway app")
    return ctx


def context_of_runtime(runtime: ServiceRuntime) -> GatewayContext:
    """The gateway context of a runtime (for the background worker)."""
    ctx = runtime.spec.context
    if not isinstance(ctx, GatewayContext):
        raise RuntimeError("this runtime does not run the SIMKIM gateway")
    return ctx
