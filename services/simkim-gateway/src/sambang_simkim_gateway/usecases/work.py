"""The worker's leases and what every kind of leased work shares: claim, call SIMKIM and record the
outcome, defer, back off, release.

Each use case but ``call_and_record`` changes one unit of work and does not commit: the worker commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sambang_runtime.service import ServiceRuntime
from sambang_runtime.uow import UnitOfWork

from ..adapters.simkim import Outcome, SimkimClient
from ..context import context_of, context_of_runtime
from ..domain import Breaker, backoff_seconds
from ..stores import breaker as breaker_store
from ..stores import submissions, violations
from ..stores.submissions import Submission, SubmissionChange
from ..stores.violations import Violation

T = TypeVar("T")
W = TypeVar("W", Submission, Violation)


@dataclass(frozen=True, slots=True)
class Claimed:
    """What one round of the worker leased, and the breaker as it stood (its calls go out right after)."""

    submissions: list[Submission] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    breaker: Breaker = field(default_factory=Breaker)

    def __len__(self) -> int:
        return len(self.submissions) + len(self.violations)


async def claim_due_work(uow: UnitOfWork, free: int) -> Claimed:
    """Lease up to ``free`` pieces of due work, submissions first, and read the breaker once for all of them."""
    ctx = context_of(uow)
    lease = ctx.settings.lease_seconds
    subs = await submissions.claim_due(uow, owner=ctx.owner, lease_seconds=lease, limit=free)
    vios: list[Violation] = []
    if len(subs) < free:
        vios = await violations.claim_due(uow, owner=ctx.owner, lease_seconds=lease, limit=free - len(subs))
    seen = await breaker_store.read(uow) if subs or vios else Breaker()
    return Claimed(subs, vios, seen)


async def release_leases(uow: UnitOfWork) -> int:
    """Give back this replica's leases as it stops, so the next one resumes at once."""
    owner = context_of(uow).owner
    return await submissions.release_leases(uow, owner) + await violations.release_leases(uow, owner)


async def call_and_record(
    runtime: ServiceRuntime,
    seen: Breaker,
    work: W,
    request: Callable[[SimkimClient], Awaitable[T]],
    record: Callable[[UnitOfWork, W, Outcome[T], dt.datetime], Awaitable[bool]],
) -> bool:
    """One piece of leased ``work``: the guarded SIMKIM call (no transaction open meanwhile), then its outcome
    recorded and committed in a unit of work of its own. False when the lease was lost meanwhile."""
    outcome = await context_of_runtime(runtime).simkim.call(seen, request)
    async with runtime.uow() as uow:
        kept = await record(uow, work, outcome, uow.now())
        await uow.commit()
    return kept


def backoff(uow: UnitOfWork, failures: int, *, floor: float = 0.0) -> dt.timedelta:
    """How long to wait after the ``failures``-th failure (at least ``floor`` seconds), with jitter."""
    ctx = context_of(uow)
    seconds = backoff_seconds(
        failures, base=ctx.settings.backoff_base_seconds, cap=ctx.settings.backoff_cap_seconds, spread=ctx.spread()
    )
    return dt.timedelta(seconds=max(floor, seconds))


async def defer_work(uow: UnitOfWork, sub: Submission, until: dt.datetime | None, now: dt.datetime) -> bool:
    """The breaker is open: put the work off without spending an attempt; its closing wakes it."""
    return await submissions.finish(
        uow,
        sub.receipt_number,
        SubmissionChange(next_attempt_at=until or now, deferred=True),
        owner=context_of(uow).owner,
        doing=sub.work,
    )


async def drop_idle_work(uow: UnitOfWork, sub: Submission) -> bool:
    """A leased submission with nothing left to do (its work ended meanwhile): end the lease."""
    return await submissions.finish(
        uow, sub.receipt_number, SubmissionChange(next_attempt_at=None), owner=context_of(uow).owner, doing=sub.work
    )


async def record_work_failure(
    uow: UnitOfWork, sub: Submission, reason: str, now: dt.datetime, *, outage: bool, floor: float = 0.0
) -> bool:
    """A decision or a poll failed: try again after a backoff (at least ``floor`` seconds); never given up."""
    failures = sub.work_failures + 1
    return await submissions.finish(
        uow,
        sub.receipt_number,
        SubmissionChange(
            work_failures=failures,
            last_error=reason[:500],
            next_attempt_at=now + backoff(uow, failures, floor=floor),
            deferred=outage,
        ),
        owner=context_of(uow).owner,
        doing=sub.work,
    )
