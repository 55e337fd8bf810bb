"""The worker: every call to SIMKIM, from a background loop of each replica (``ServiceSpec.background``).

All of its state is in the database: what is due (``next_attempt_at``), who is on it (a lease), how many
attempts were made, and the circuit breaker. A replica claims due rows, makes the calls without holding a
transaction open, and records each outcome with a conditional update on its lease, so a stopped or crashed
replica's work is resumed by whoever runs next, and only the replica that still holds the lease may emit
the outcome's event. SIMKIM's idempotency key (the receipt number) makes a repeated submission harmless.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Coroutine
from typing import Any

from sambang_contracts.enums import HoldDecision, HoldKind
from sambang_contracts.events import (
    HoldRaised,
    PassportIssued,
    SubmissionAccepted,
    SubmissionFailed,
)
from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from .adapters.capture import BundleUnavailable, CaptureUnavailable
from .adapters.simkim import SimkimClient, SimkimRejected, SimkimUnavailable
from .context import GatewayContext, context_of_runtime
from .domain import (
    Breaker,
    BreakerState,
    BundlePiece,
    Permit,
    SubmissionState,
    Work,
    backoff_seconds,
    breaker_after_failure,
    breaker_after_success,
    breaker_permit,
    breaker_probe_returned,
    breaker_probing,
    bundle_mismatches,
    gives_up,
    local_day,
    pickup_from,
)
from .handlers import biodata_context, violation_context
from .protocol import (
    ApplicationRecord,
    ApplicationStatus,
    ApplicationSubmission,
    Biodata,
    Biometric,
    BiometricException,
    DecisionRequest,
    Interview,
    ViolationReport,
)
from .stores import breaker as breaker_store
from .stores import offices, submissions, violations
from .stores.submissions import Submission
from .stores.violations import Violation

log = get_logger(__name__)


async def run_worker(runtime: ServiceRuntime) -> None:
    """Claim due work and run it, ``concurrency`` calls at a time, for as long as the service runs."""
    ctx = context_of_runtime(runtime)
    ctx.open_clients()
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
                try:
                    due_submissions, due_violations, seen = await _claim(runtime, ctx, free)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a database hiccup must not end the worker
                    log.error("worker.claim_failed", error=type(exc).__name__, detail=str(exc)[:200])
                    due_submissions, due_violations, seen = [], [], Breaker()
                for sub in due_submissions:
                    start(_guarded(_run_submission(runtime, ctx, sub, seen), sub.receipt_number))
                for v in due_violations:
                    start(_guarded(_forward_violation(runtime, ctx, v, seen), v.id))
                if len(due_submissions) + len(due_violations) == free:
                    continue  # a full batch: more may be due right away
            await ctx.sleep_until_woken(ctx.settings.idle_poll_seconds)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await _release(runtime, ctx)
        await ctx.close_clients()


async def _claim(
    runtime: ServiceRuntime, ctx: GatewayContext, free: int
) -> tuple[list[Submission], list[Violation], Breaker]:
    """Lease due work, and read the breaker once for the whole round (its calls go out right after)."""
    async with runtime.uow() as uow:
        subs = await submissions.claim_due(uow, owner=ctx.owner, lease_seconds=ctx.settings.lease_seconds, limit=free)
        vios: list[Violation] = []
        if len(subs) < free:
            vios = await violations.claim_due(
                uow, owner=ctx.owner, lease_seconds=ctx.settings.lease_seconds, limit=free - len(subs)
            )
        seen = await breaker_store.read(uow) if subs or vios else Breaker()
        await uow.commit()
    return subs, vios, seen


async def _release(runtime: ServiceRuntime, ctx: GatewayContext) -> None:
    """Give back this replica's leases as it stops, so the next one resumes at once."""
    try:
        async with runtime.uow() as uow:
            released = await submissions.release_leases(uow, ctx.owner)
            released += await violations.release_leases(uow, ctx.owner)
            await uow.commit()
        if released:
            log.info("worker.leases_released", count=released)
    except Exception as exc:  # the leases run out by themselves
        log.warning("worker.release_failed", error=type(exc).__name__)


async def _guarded(work: Coroutine[Any, Any, None], key: str) -> None:
    """Run one piece of work; an unexpected error is logged and the lease left to run out (then retried)."""
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("worker.unexpected_error", key=key, error=type(exc).__name__, detail=str(exc)[:200])


# --- the circuit breaker ------------------------------------------------------------------------------


async def _gate(
    runtime: ServiceRuntime, ctx: GatewayContext, seen: Breaker
) -> tuple[Permit, Breaker, dt.datetime | None]:
    """Ask the breaker whether a call may go: CALL, the one PROBE, or WAIT (with until when). ``seen`` is the
    breaker as read when the work was claimed: closed, the call goes without another read."""
    if seen.state is BreakerState.CLOSED:
        return Permit.CALL, seen, None
    async with runtime.uow() as uow:
        b = await breaker_store.read(uow)
        now = uow.now()
        permit, until = breaker_permit(b, now)
        if permit is not Permit.PROBE:
            return permit, b, until
        probing = breaker_probing(b, now, ctx.breaker_policy)
        won = await breaker_store.take_probe(uow, probing)
        await uow.commit()
    if won:
        log.info("simkim.breaker_probing")
        return Permit.PROBE, probing, None
    # Another replica is probing: look again after one open period, or at once when its probe succeeds.
    return Permit.WAIT, b, now + dt.timedelta(seconds=ctx.settings.breaker_open_seconds)


async def _answered(runtime: ServiceRuntime, seen: Breaker) -> None:
    """SIMKIM answered: close the breaker if it was not, and wake everything it put off."""
    if breaker_after_success(seen) is seen:
        return  # closed with no failures when asked: nothing to write (the common case)
    async with runtime.uow() as uow:
        b = await breaker_store.lock(uow)
        closed = breaker_after_success(b)
        woken = 0
        if closed != b:
            await breaker_store.write(uow, closed)
            if b.state is not BreakerState.CLOSED:
                woken = await submissions.wake_deferred(uow) + await violations.wake_deferred(uow)
        await uow.commit()
    if woken or b.state is not BreakerState.CLOSED:
        log.info("simkim.breaker_closed", woken=woken)
        context_of_runtime(runtime).wake()


async def _failed(runtime: ServiceRuntime, ctx: GatewayContext, *, probe: bool) -> bool:
    """SIMKIM failed: count it; returns whether SIMKIM is now considered down (the breaker is open)."""
    async with runtime.uow() as uow:
        b = await breaker_store.lock(uow)
        after = breaker_after_failure(b, uow.now(), ctx.breaker_policy, probe=probe)
        if after != b:
            await breaker_store.write(uow, after)
        await uow.commit()
    if after.state is BreakerState.OPEN and b.state is not BreakerState.OPEN:
        log.warning("simkim.breaker_opened", failures=after.failures, open_seconds=after.open_seconds)
    return after.state is not BreakerState.CLOSED


async def _return_probe(runtime: ServiceRuntime) -> None:
    """The probe never reached SIMKIM (capture failed first): let the next caller probe at once."""
    async with runtime.uow() as uow:
        b = await breaker_store.lock(uow)
        after = breaker_probe_returned(b, uow.now())
        if after != b:
            await breaker_store.write(uow, after)
        await uow.commit()


def _simkim(ctx: GatewayContext) -> SimkimClient:
    if ctx.simkim is None:
        raise RuntimeError("the worker's HTTP clients are not open")
    return ctx.simkim


# --- submissions ----------------------------------------------------------------------------------------


async def _run_submission(runtime: ServiceRuntime, ctx: GatewayContext, sub: Submission, seen: Breaker) -> None:
    if sub.work is Work.SUBMIT:
        await _submit(runtime, ctx, sub, seen)
    elif sub.work is Work.DECIDE:
        await _decide(runtime, ctx, sub, seen)
    elif sub.work is Work.POLL:
        await _poll(runtime, ctx, sub, seen)
    else:
        async with runtime.uow() as uow:
            await submissions.finish(uow, sub.receipt_number, owner=ctx.owner, doing=sub.work, next_attempt_at=None)
            await uow.commit()


async def _defer(runtime: ServiceRuntime, ctx: GatewayContext, sub: Submission, until: dt.datetime | None) -> None:
    """The breaker is open: put the work off without spending an attempt; its closing wakes it."""
    async with runtime.uow() as uow:
        await submissions.finish(
            uow, sub.receipt_number, owner=ctx.owner, doing=sub.work, next_attempt_at=until or uow.now(), deferred=True
        )
        await uow.commit()


async def _submit(runtime: ServiceRuntime, ctx: GatewayContext, sub: Submission, seen: Breaker) -> None:
    """One attempt: the bundle from capture, checked against the manifest, then SIMKIM."""
    permit, seen, until = await _gate(runtime, ctx, seen)
    if permit is Permit.WAIT:
        await _defer(runtime, ctx, sub, until)
        return
    probe = permit is Permit.PROBE
    attempts = sub.attempts + 1
    assert ctx.capture is not None
    try:
        bundle = await ctx.capture.bundle(sub.receipt_number, ctx.capture_token(sub.office))
    except CaptureUnavailable as exc:
        if probe:
            await _return_probe(runtime)
        await _submit_failed(runtime, ctx, sub, attempts, str(exc), outage=False)
        return
    except BundleUnavailable as exc:
        if probe:
            await _return_probe(runtime)
        await _submit_failed(runtime, ctx, sub, attempts, str(exc), permanent=True)
        return
    pieces = [BundlePiece(i.kind.value, i.position, i.sha256, i.data) for i in bundle.items]
    mismatches = bundle_mismatches(sub.manifest, pieces)
    if mismatches:
        if probe:
            await _return_probe(runtime)
        log.error("submission.bundle_mismatch", receipt_number=sub.receipt_number, problems=mismatches[:12])
        await _submit_failed(runtime, ctx, sub, attempts, "bundle_mismatch: " + "; ".join(mismatches), permanent=True)
        return
    application = _application(runtime, sub, bundle.items)
    try:
        record = await _simkim(ctx).submit(application)
    except SimkimUnavailable as exc:
        outage = await _failed(runtime, ctx, probe=probe)
        await _submit_failed(runtime, ctx, sub, attempts, f"simkim_unavailable: {exc}", outage=outage)
        return
    except SimkimRejected as exc:
        await _answered(runtime, seen)
        await _submit_failed(runtime, ctx, sub, attempts, f"simkim_refused: {exc}", permanent=True)
        return
    await _answered(runtime, seen)
    await _submit_succeeded(runtime, ctx, sub, attempts, record)


def _application(runtime: ServiceRuntime, sub: Submission, items: Any) -> ApplicationSubmission:
    """What SIMKIM gets: biodata (decrypted only here), the interview, biometrics and their exceptions."""
    if sub.biodata_enc is None or sub.interview_officer_id is None or sub.interview_completed_at is None:
        raise RuntimeError("a ready submission lacks its biodata or interview")
    biodata = json.loads(runtime.cipher.decrypt(sub.biodata_enc, context=biodata_context(sub.receipt_number)))
    return ApplicationSubmission.model_validate(
        {
            "receipt_number": sub.receipt_number,
            "office": sub.office,
            "service_type": sub.service_type,
            "passport_type": sub.passport_type,
            "priority_category": sub.priority_category,
            "validity_years": sub.validity_years,
            "applicant": Biodata.model_validate(biodata),
            "interview": Interview(officer_id=sub.interview_officer_id, completed_at=sub.interview_completed_at),
            "biometrics": [
                Biometric(kind=i.kind, position=i.position, sha256=i.sha256, content_type=i.content_type, data=i.data)
                for i in items
            ],
            "exceptions": [BiometricException.model_validate(e) for e in sub.capture_exceptions],
        }
    )


async def _submit_failed(
    runtime: ServiceRuntime,
    ctx: GatewayContext,
    sub: Submission,
    attempts: int,
    reason: str,
    *,
    outage: bool = False,
    permanent: bool = False,
) -> None:
    """Record a failed attempt: retry after a backoff, or give up (``simkim.submission.failed``)."""
    reason = reason[:500]
    async with runtime.uow() as uow:
        now = uow.now()
        if permanent or gives_up(attempts, ctx.settings.max_attempts, outage=outage):
            kept = await submissions.finish(
                uow,
                sub.receipt_number,
                owner=ctx.owner,
                doing=Work.SUBMIT,
                state=SubmissionState.FAILED,
                work=Work.NONE,
                next_attempt_at=None,
                attempts=attempts,
                last_error=reason,
            )
            if kept:
                uow.emit(
                    SubmissionFailed(
                        receipt_number=sub.receipt_number, reason=reason, attempts=attempts, permanent=True
                    )
                )
                log.warning("submission.failed", receipt_number=sub.receipt_number, attempts=attempts, reason=reason)
        else:
            delay = backoff_seconds(
                attempts,
                base=ctx.settings.backoff_base_seconds,
                cap=ctx.settings.backoff_cap_seconds,
                spread=ctx.spread(),
            )
            kept = await submissions.finish(
                uow,
                sub.receipt_number,
                owner=ctx.owner,
                doing=Work.SUBMIT,
                attempts=attempts,
                last_error=reason,
                next_attempt_at=now + dt.timedelta(seconds=delay),
                deferred=outage,
            )
            log.info(
                "submission.retry_scheduled",
                receipt_number=sub.receipt_number,
                attempts=attempts,
                in_seconds=round(delay, 3),
                reason=reason,
            )
        await uow.commit()


async def _submit_succeeded(
    runtime: ServiceRuntime, ctx: GatewayContext, sub: Submission, attempts: int, record: ApplicationRecord
) -> None:
    """SIMKIM has the application: ACCEPTED (then wait for issuance) or HELD (then the head of office decides)."""
    async with runtime.uow() as uow:
        now = uow.now()
        common: dict[str, object] = {
            "attempts": attempts,
            "last_error": None,
            "deferred": False,
            "simkim_reference": record.reference,
            "accepted_at": now,
        }
        if record.status is ApplicationStatus.HELD and record.hold is not None:
            kept = await submissions.finish(
                uow,
                sub.receipt_number,
                owner=ctx.owner,
                doing=Work.SUBMIT,
                state=SubmissionState.HELD,
                work=Work.NONE,
                next_attempt_at=None,
                hold_kind=record.hold.kind.value,
                hold_reference=record.hold.reference,
                held_at=now,
                **common,
            )
        else:
            kept = await submissions.finish(
                uow,
                sub.receipt_number,
                owner=ctx.owner,
                doing=Work.SUBMIT,
                state=SubmissionState.ACCEPTED,
                work=Work.POLL,
                next_attempt_at=now + dt.timedelta(seconds=ctx.settings.issuance_poll_seconds),
                **common,
            )
        if not kept:
            log.warning("submission.lease_lost", receipt_number=sub.receipt_number)
            return
        uow.emit(
            SubmissionAccepted(
                receipt_number=sub.receipt_number,
                simkim_reference=record.reference,
                submitted_at=now,
                attempts=attempts,
            )
        )
        if record.status is ApplicationStatus.HELD and record.hold is not None:
            # For supervisors only: the queue shows the applicant IN_PROCESS, the notifier has no template for it.
            uow.emit(
                HoldRaised(
                    receipt_number=sub.receipt_number, kind=HoldKind(record.hold.kind), reference=record.hold.reference
                )
            )
        await uow.commit()
    log.info(
        "submission.accepted",
        receipt_number=sub.receipt_number,
        attempts=attempts,
        held=record.status is ApplicationStatus.HELD,
    )


# --- decisions on holds ---------------------------------------------------------------------------------


async def _decide(runtime: ServiceRuntime, ctx: GatewayContext, sub: Submission, seen: Breaker) -> None:
    """Tell SIMKIM the head of office's decision; retried until SIMKIM has it (never given up)."""
    permit, seen, until = await _gate(runtime, ctx, seen)
    if permit is Permit.WAIT:
        await _defer(runtime, ctx, sub, until)
        return
    if sub.simkim_reference is None or sub.decision is None or sub.decided_by is None:
        raise RuntimeError("a decision without its reference or decider")
    request = DecisionRequest(
        decision=HoldDecision(sub.decision), reason=sub.decision_reason or "-", decided_by=sub.decided_by
    )
    release = request.decision is HoldDecision.RELEASE
    try:
        await _simkim(ctx).decide(sub.simkim_reference, request)
    except SimkimUnavailable as exc:
        outage = await _failed(runtime, ctx, probe=permit is Permit.PROBE)
        await _work_failed(runtime, ctx, sub, f"simkim_unavailable: {exc}", outage=outage)
        return
    except SimkimRejected as exc:
        # SIMKIM will not take it (it no longer holds the application): say so, and look at what it does say.
        await _answered(runtime, seen)
        log.error("hold.decision_refused", receipt_number=sub.receipt_number, error=str(exc))
        await _decided(runtime, ctx, sub, release=release, error=f"simkim_refused_decision: {exc}")
        return
    await _answered(runtime, seen)
    await _decided(runtime, ctx, sub, release=release, error=None)


async def _decided(
    runtime: ServiceRuntime, ctx: GatewayContext, sub: Submission, *, release: bool, error: str | None
) -> None:
    async with runtime.uow() as uow:
        now = uow.now()
        if release:
            await submissions.finish(
                uow,
                sub.receipt_number,
                owner=ctx.owner,
                doing=Work.DECIDE,
                work=Work.POLL,
                next_attempt_at=now + dt.timedelta(seconds=ctx.settings.issuance_poll_seconds),
                work_failures=0,
                last_error=error,
                deferred=False,
            )
        else:
            await submissions.finish(
                uow,
                sub.receipt_number,
                owner=ctx.owner,
                doing=Work.DECIDE,
                work=Work.NONE,
                next_attempt_at=None,
                work_failures=0,
                last_error=error,
                deferred=False,
                biodata_enc=None,
            )
        await uow.commit()


async def _work_failed(
    runtime: ServiceRuntime, ctx: GatewayContext, sub: Submission, reason: str, *, outage: bool, floor: float = 0.0
) -> None:
    """A decision or a poll failed: try again after a backoff (at least ``floor`` seconds)."""
    failures = sub.work_failures + 1
    delay = max(
        floor,
        backoff_seconds(
            failures, base=ctx.settings.backoff_base_seconds, cap=ctx.settings.backoff_cap_seconds, spread=ctx.spread()
        ),
    )
    async with runtime.uow() as uow:
        await submissions.finish(
            uow,
            sub.receipt_number,
            owner=ctx.owner,
            doing=sub.work,
            work_failures=failures,
            last_error=reason[:500],
            next_attempt_at=uow.now() + dt.timedelta(seconds=delay),
            deferred=outage,
        )
        await uow.commit()


# --- issuance -------------------------------------------------------------------------------------------------


async def _poll(runtime: ServiceRuntime, ctx: GatewayContext, sub: Submission, seen: Breaker) -> None:
    """Ask SIMKIM whether the passport was issued; when it was, emit ``simkim.passport.issued`` with the pickup date."""
    permit, seen, until = await _gate(runtime, ctx, seen)
    if permit is Permit.WAIT:
        await _defer(runtime, ctx, sub, until)
        return
    if sub.simkim_reference is None:
        raise RuntimeError("polling a submission without a SIMKIM reference")
    poll = ctx.settings.issuance_poll_seconds
    try:
        record = await _simkim(ctx).application(sub.simkim_reference)
    except SimkimUnavailable as exc:
        outage = await _failed(runtime, ctx, probe=permit is Permit.PROBE)
        await _work_failed(runtime, ctx, sub, f"simkim_unavailable: {exc}", outage=outage, floor=poll)
        return
    except SimkimRejected as exc:
        await _answered(runtime, seen)
        log.error("submission.poll_refused", receipt_number=sub.receipt_number, error=str(exc))
        await _work_failed(runtime, ctx, sub, f"simkim_refused: {exc}", outage=False, floor=poll)
        return
    await _answered(runtime, seen)
    async with runtime.uow() as uow:
        now = uow.now()
        if record.status is ApplicationStatus.ISSUED and record.passport is not None:
            await _issued(uow, ctx, sub, record)
        elif record.status is ApplicationStatus.DENIED:
            await submissions.finish(
                uow,
                sub.receipt_number,
                owner=ctx.owner,
                doing=Work.POLL,
                state=SubmissionState.DENIED,
                work=Work.NONE,
                next_attempt_at=None,
                biodata_enc=None,
            )
        else:
            await submissions.finish(
                uow,
                sub.receipt_number,
                owner=ctx.owner,
                doing=Work.POLL,
                next_attempt_at=now + dt.timedelta(seconds=poll),
                work_failures=0,
                last_error=None,
                deferred=False,
            )
        await uow.commit()


async def _issued(uow: Any, ctx: GatewayContext, sub: Submission, record: ApplicationRecord) -> None:
    """Record the issuance and emit it with the first pickup day."""
    assert record.passport is not None
    rule = await offices.rule(
        uow,
        sub.office,
        default_timezone=ctx.settings.default_timezone,
        default_working_days=ctx.settings.default_pickup_working_days,
    )
    interviewed = sub.interview_completed_at or record.passport.issued_at
    first_day = pickup_from(
        local_day(interviewed, rule.timezone),
        rule.pickup_working_days,
        local_day(record.passport.issued_at, rule.timezone),
        ctx.is_holiday,
    )
    kept = await submissions.finish(
        uow,
        sub.receipt_number,
        owner=ctx.owner,
        doing=Work.POLL,
        state=SubmissionState.ISSUED,
        work=Work.NONE,
        next_attempt_at=None,
        issued_at=record.passport.issued_at,
        expires_at=record.passport.expires_at,
        pickup_from=first_day,
        biodata_enc=None,
        last_error=None,
    )
    if not kept:
        return
    uow.emit(
        PassportIssued(
            receipt_number=sub.receipt_number,
            passport_number=record.passport.number,
            issued_at=record.passport.issued_at,
            expires_at=record.passport.expires_at,
            pickup_from=first_day,
        )
    )
    log.info("passport.issued", receipt_number=sub.receipt_number, pickup_from=first_day.isoformat())


# --- violations ---------------------------------------------------------------------------------------------


async def _forward_violation(runtime: ServiceRuntime, ctx: GatewayContext, v: Violation, seen: Breaker) -> None:
    """Send one violation report to SIMKIM; retried with backoff until SIMKIM has it."""
    permit, seen, until = await _gate(runtime, ctx, seen)
    if permit is Permit.WAIT:
        async with runtime.uow() as uow:
            await violations.finish(uow, v.id, owner=ctx.owner, next_attempt_at=until or uow.now(), deferred=True)
            await uow.commit()
        return
    report = ViolationReport(
        violation_id=v.id,
        receipt_number=v.receipt_number,
        office=v.office,
        category=v.category,
        detail=runtime.cipher.decrypt(v.detail_enc, context=violation_context(v.id)),
        officer_id=v.officer_id,
        flagged_at=v.flagged_at,
    )
    attempts = v.attempts + 1
    try:
        await _simkim(ctx).report_violation(report)
    except SimkimUnavailable as exc:
        outage = await _failed(runtime, ctx, probe=permit is Permit.PROBE)
        delay = backoff_seconds(
            attempts, base=ctx.settings.backoff_base_seconds, cap=ctx.settings.backoff_cap_seconds, spread=ctx.spread()
        )
        async with runtime.uow() as uow:
            await violations.finish(
                uow,
                v.id,
                owner=ctx.owner,
                attempts=attempts,
                last_error=f"simkim_unavailable: {exc}"[:500],
                next_attempt_at=uow.now() + dt.timedelta(seconds=delay),
                deferred=outage,
            )
            await uow.commit()
        return
    except SimkimRejected as exc:
        await _answered(runtime, seen)
        log.error("violation.refused", receipt_number=v.receipt_number, error=str(exc))
        async with runtime.uow() as uow:
            await violations.finish(
                uow,
                v.id,
                owner=ctx.owner,
                attempts=attempts,
                last_error=f"simkim_refused: {exc}"[:500],
                next_attempt_at=None,
            )
            await uow.commit()
        return
    await _answered(runtime, seen)
    async with runtime.uow() as uow:
        await violations.finish(
            uow,
            v.id,
            owner=ctx.owner,
            attempts=attempts,
            last_error=None,
            next_attempt_at=None,
            forwarded_at=uow.now(),
            deferred=False,
        )
        await uow.commit()
    log.info("violation.forwarded", receipt_number=v.receipt_number, attempts=attempts)
