"""The worker: every call to SIMKIM, from a background loop of each replica (``ServiceSpec.background``).

All of its state is in the database: what is due (``next_attempt_at``), who is on it (a lease), how many
attempts were made, and the circuit breaker. A replica claims due rows, makes the calls without holding a
transaction open, and records each outcome with a conditional update on its lease, so a stopped or crashed
replica's work is resumed by whoever runs next, and only the replica that still holds the lease may emit
the outcome's event. SIMKIM's idempotency key (the receipt number) makes a repeated submission harmless.

This module is only the loop; what it does to each piece of work is in ``usecases/``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..context import context_of_runtime
from ..domain import Breaker, Work
from ..stores.submissions import Submission
from ..usecases.decisions import send_decision
from ..usecases.issuance import poll_issuance
from ..usecases.submissions import submit_one
from ..usecases.violations import forward_violation
from ..usecases.work import Claimed, claim_due_work, drop_idle_work, release_leases

log = get_logger(__name__)


async def run_worker(runtime: ServiceRuntime) -> None:
    """Claim due work and run it, ``concurrency`` calls at a time, for as long as the service runs."""
    ctx = context_of_runtime(runtime)
    ctx.open_clients(runtime)
    tasks: set[asyncio.Task[None]] = set()

    def start(coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            tasks.discard(t)
            ctx.wake()  # a slot is free: more may be due

        task.add_done_callback(done)

    try:
        while True:
            free = ctx.settings.concurrency - len(tasks)
            # While calls are in flight, claim in batches of a quarter of the slots: one claim per finished call
            # would cost a transaction per submission.
            if free > 0 and (not tasks or free >= max(1, ctx.settings.concurrency // 4)):
                claimed = await _claim(runtime, free)
                for sub in claimed.submissions:
                    start(_guarded(_work_on(runtime, sub, claimed.breaker), sub.receipt_number))
                for v in claimed.violations:
                    start(_guarded(forward_violation(runtime, v, claimed.breaker), v.id))
                ctx.round_completed()
                if len(claimed) == free:
                    continue  # a full batch: more may be due right away
            await ctx.sleep_until_woken(ctx.settings.idle_poll_seconds)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await _release(runtime)
        await ctx.close_clients()


async def _claim(runtime: ServiceRuntime, free: int) -> Claimed:
    """Lease due work; a database hiccup claims nothing this round and must not end the worker."""
    try:
        async with runtime.uow() as uow:
            claimed = await claim_due_work(uow, free)
            await uow.commit()
        return claimed
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("worker.claim_failed", error=type(exc).__name__, detail=str(exc)[:200])
        return Claimed()


async def _work_on(runtime: ServiceRuntime, sub: Submission, seen: Breaker) -> None:
    """The call a leased submission waits for."""
    if sub.work is Work.SUBMIT:
        await submit_one(runtime, sub, seen)
    elif sub.work is Work.DECIDE:
        await send_decision(runtime, sub, seen)
    elif sub.work is Work.POLL:
        await poll_issuance(runtime, sub, seen)
    else:
        async with runtime.uow() as uow:
            await drop_idle_work(uow, sub)
            await uow.commit()


async def _release(runtime: ServiceRuntime) -> None:
    """Give back this replica's leases as it stops, so the next one resumes at once."""
    try:
        async with runtime.uow() as uow:
            released = await release_leases(uow)
            await uow.commit()
        if released:
            log.info("worker.leases_released", count=released)
    except Exception as exc:  # the leases run out by themselves
        log.warning("worker.release_failed", error=type(exc).__name__)


async def _guarded(work: Coroutine[Any, Any, object], key: str) -> None:
    """Run one piece of work; an unexpected error is logged and the lease left to run out (then retried)."""
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("worker.unexpected_error", key=key, error=type(exc).__name__, detail=str(exc)[:200])
