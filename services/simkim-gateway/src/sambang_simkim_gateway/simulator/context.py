"""The simulator's own per-app state: its faults, its issuance delay, and what the faults turned away."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

from sambang_runtime.entropy import SYSTEM_RANDOM
from sambang_runtime.uow import UnitOfWork

from .domain import Faults, Verdict, fault_verdict
from .settings import SimulatorSettings


class SimulatorContext:
    """State of one simulator app; faults live in memory (a test knob, reset by a restart)."""

    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self.settings = settings or SimulatorSettings()
        self.faults = Faults(
            error_rate=self.settings.error_rate, latency_ms=self.settings.latency_ms, down=self.settings.down
        )
        self.issuance_delay_seconds = self.settings.issuance_delay_seconds
        #: Requests the faults turned away, by verdict (they never reached the database).
        self.refused: Counter[str] = Counter()

    def verdict(self) -> Verdict:
        """What the current faults do to the request at hand (counted)."""
        verdict = fault_verdict(self.faults, SYSTEM_RANDOM.random())
        if verdict is not Verdict.SERVE:
            self.refused[verdict.value] += 1
        return verdict

    def issue_after(self, now: dt.datetime) -> dt.datetime:
        """When an application accepted (or released) now is issued."""
        return now + dt.timedelta(seconds=self.issuance_delay_seconds)

    async def answer_late(self) -> None:
        """Hold the answer back by the configured latency (after the work is done, as a slow network would)."""
        if self.faults.latency_ms > 0:
            await asyncio.sleep(self.faults.latency_ms / 1000)


def context_of(uow: UnitOfWork) -> SimulatorContext:
    """The simulator context of the app this unit of work belongs to."""
    ctx = uow.context
    if not isinstance(ctx, SimulatorContext):
        raise RuntimeError("this unit of work does not belong to the SIMKIM simulator")
    return ctx
