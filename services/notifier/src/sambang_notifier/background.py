"""The notifier's background loops: the dispatcher that sends due messages, the stream recorder and
the housekeeping.

Handlers only record messages (in the transaction of their event); sending is here, after commit:
the dispatcher takes due rows (SENDING, committed), sends each, then records the outcome and its
notifier.* event in one transaction. Time is the runtime's clock, so tests move a FakeClock to make a
retry due instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import httpx
from sambang_contracts import NotificationChannel, NotificationFailed, NotificationSent
from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime
from sambang_runtime.uow import UnitOfWork

from .channels.email import build_message, send_email
from .channels.sink import start_sink
from .channels.sms import send_sms
from .context import NotifierContext, context_from
from .domain.delivery import Decision, SendResult, Status, Verdict, decide
from .stores import deferred, notifications, streams

log = get_logger(__name__)


def _announce(uow: UnitOfWork, settled: notifications.Settled) -> None:
    """notifier.notification.sent, or .failed (permanent or, when it will be tried again, not)."""
    if settled.status == Status.SENT:
        uow.emit(
            NotificationSent(
                receipt_number=settled.receipt_number,
                notification_id=settled.id,
                channel=settled.channel,
                template=settled.template,
            ),
            office=settled.office,
        )
        return
    uow.emit(
        NotificationFailed(
            receipt_number=settled.receipt_number,
            notification_id=settled.id,
            channel=settled.channel,
            template=settled.template,
            reason=settled.reason or "failed",
            permanent=settled.permanent,
        ),
        office=settled.office,
    )


async def _send(
    ctx: NotifierContext, client: httpx.AsyncClient, message: notifications.Claimed, now: dt.datetime
) -> SendResult:
    s = ctx.settings
    if message.channel == NotificationChannel.EMAIL:
        server = ctx.smtp_server()
        if server is None:
            return SendResult(Verdict.TRANSIENT, "no SMTP server available yet")
        mail = build_message(
            sender=s.smtp_from, to=message.address, content=message.content, notification_id=message.id, now=now
        )
        return await send_email(server, mail)
    if s.sms_url is None:
        return SendResult(Verdict.PERMANENT, "no SMS provider configured")
    return await send_sms(
        client,
        url=s.sms_url,
        api_key=s.sms_api_key.get_secret_value() if s.sms_api_key else None,
        to=message.address,
        text=message.content["text"],
        reference=message.id,
    )


async def _deliver(
    runtime: ServiceRuntime, ctx: NotifierContext, client: httpx.AsyncClient, message: notifications.Claimed
) -> None:
    s = ctx.settings
    try:
        result = await _send(ctx, client, message, runtime.clock())
    except Exception as exc:  # a bug in a channel must not leave the row SENDING for ever
        result = SendResult(Verdict.TRANSIENT, f"{type(exc).__name__} while sending")
    now = runtime.clock()
    decision = decide(
        result,
        attempts=message.attempts,
        max_attempts=s.max_attempts,
        now=now,
        base_seconds=s.retry_base_seconds,
        max_seconds=s.retry_max_seconds,
    )
    await _record_outcome(runtime, message, decision, result.reason, now, patience=s.sending_lease_seconds / 2)
    fields = {
        "notification_id": message.id,
        "receipt_number": message.receipt_number,
        "channel": message.channel.value,
        "template": message.template,
        "attempt": message.attempts,
    }
    if decision.status == Status.SENT:
        log.info("notification.sent", **fields)
    elif decision.status == Status.PENDING:
        log.warning(
            "notification.retry_scheduled", reason=result.reason, next_attempt_at=decision.next_attempt_at, **fields
        )
    else:
        log.error("notification.failed", reason=result.reason, **fields)


async def _record_outcome(
    runtime: ServiceRuntime,
    message: notifications.Claimed,
    decision: Decision,
    reason: str,
    now: dt.datetime,
    *,
    patience: float,
) -> None:
    """Record what a try did; while the database is away (restarting), try again for up to ``patience`` s.

    The message has gone out (or was refused) and only this process knows: giving up at once left it
    SENDING, and the housekeeping then recorded a sent mail as failed ("interrupted") after the lease.
    """
    pause, deadline = 0.2, time.monotonic() + patience
    while True:
        try:
            async with runtime.uow() as uow:
                settled = await notifications.settle(uow, message, decision, reason=reason, now=now)
                if settled is not None:
                    _announce(uow, settled)
                await uow.commit()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if time.monotonic() + pause > deadline:
                raise
            log.warning("notification.outcome_retry", notification_id=message.id, error=type(exc).__name__)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)


async def dispatch_round(runtime: ServiceRuntime, ctx: NotifierContext, client: httpx.AsyncClient) -> bool:
    """Send what is due now; True when a full batch was taken (more may be waiting)."""
    s = ctx.settings
    # Claim no more than is sent at once: a claim is SENDING until its outcome is recorded, and a
    # replica killed mid-round leaves its claims to be failed after the lease (never sent again).
    # Claiming a whole batch but sending 8 at a time left up to a batch of mails claimed but untried.
    take = min(s.dispatch_batch, s.dispatch_concurrency)
    async with runtime.uow() as uow:
        claimed = await notifications.claim_due(uow, now=runtime.clock(), limit=take)
        await uow.commit()  # SENDING is committed before anything leaves: a second taker finds nothing
    if not claimed:
        return False
    await asyncio.gather(*(_deliver(runtime, ctx, client, m) for m in claimed))
    return len(claimed) == take


async def run_dispatcher(runtime: ServiceRuntime) -> None:
    """Send due messages for as long as the service runs; in development, serve the SMTP sink first."""
    ctx = context_from(runtime.spec.context)
    s = ctx.settings
    if not ctx.email_enabled:
        log.warning("email.disabled", why="no SAMBANG_NOTIFIER_SMTP_HOST and no development sink")
    if not ctx.sms_enabled:
        log.warning("sms.disabled", why="no SAMBANG_NOTIFIER_SMS_URL")
    sink: asyncio.Server | None = None
    if ctx.mailbox is not None:
        try:
            sink = await start_sink(ctx.mailbox, runtime.clock, host=s.smtp_sink_host, port=s.smtp_sink_port)
            log.info("smtp_sink.started", host=s.smtp_sink_host, port=ctx.mailbox.port)
        except OSError as exc:
            log.error("smtp_sink.failed_to_start", port=s.smtp_sink_port, error=type(exc).__name__)
    try:
        async with httpx.AsyncClient(timeout=s.sms_timeout_seconds) as client:
            while True:
                try:
                    more = await dispatch_round(runtime, ctx, client)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a database hiccup must not end the dispatcher
                    log.error("dispatch.round_failed", error=type(exc).__name__, detail=str(exc)[:200])
                    more = False
                if not more:
                    await ctx.dispatcher_nap(s.dispatch_poll_seconds)
    finally:
        if sink is not None:
            sink.close()


async def run_stream_recorder(runtime: ServiceRuntime) -> None:
    """Record the stream events the shared queue handed over (usually a replica's queue has already)."""
    ctx = context_from(runtime.spec.context)
    while True:
        pending = await ctx.stream_backlog.get()
        if ctx.hub.knows(pending.event_id):
            continue  # this replica's own queue had it recorded meanwhile
        try:
            async with runtime.uow() as uow:
                recorded = await streams.record(
                    uow,
                    pending.office,
                    pending.item,
                    event_id=pending.event_id,
                    receipt=pending.receipt,
                    now=runtime.clock(),
                )
                await uow.commit()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a backup path: the replicas' own queues normally recorded it already
            log.error("stream.record_failed", event_id=pending.event_id, error=type(exc).__name__)
            continue
        if recorded.new:
            log.info("stream.recorded_from_shared_queue", event_id=pending.event_id, office=pending.office)
        ctx.hub.committed(pending.office, pending.item.stream, recorded.row, pending.event_id)


async def housekeeping_round(runtime: ServiceRuntime, ctx: NotifierContext) -> None:
    """Record interrupted sends as failed, forget old stream events and held events never claimed."""
    s = ctx.settings
    now = runtime.clock()
    async with runtime.uow() as uow:
        for settled in await notifications.fail_interrupted(
            uow, now=now, lease=dt.timedelta(seconds=s.sending_lease_seconds)
        ):
            _announce(uow, settled)
            log.error("notification.interrupted", notification_id=settled.id, receipt_number=settled.receipt_number)
        pruned = await streams.forget_older_than(uow, now - dt.timedelta(hours=s.stream_retention_hours))
        dropped = await deferred.forget_older_than(uow, now - dt.timedelta(days=s.deferred_days))
        await uow.commit()
    if dropped:
        log.warning("notification.held_events_dropped_without_registration", count=dropped)
    if pruned:
        log.info("stream.events_pruned", count=pruned)


async def run_housekeeping(runtime: ServiceRuntime) -> None:
    """Housekeeping every ``housekeeping_seconds``; when the service stops, every open stream ends."""
    ctx = context_from(runtime.spec.context)
    ctx.hub.open()
    try:
        while True:
            try:
                await housekeeping_round(runtime, ctx)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("housekeeping.round_failed", error=type(exc).__name__, detail=str(exc)[:200])
            await asyncio.sleep(ctx.settings.housekeeping_seconds)
    finally:
        ctx.hub.close()
