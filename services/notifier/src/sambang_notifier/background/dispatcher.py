"""The dispatcher: it sends due messages after their commit, and records each outcome with its event.

Handlers only record messages (in the transaction of their event); sending is here, after commit:
the dispatcher takes due rows (SENDING, committed), sends each, then records the outcome and its
notifier.* event in one transaction. Time is the runtime's clock, so tests move a FakeClock to make a
retry due instead of waiting for it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Protocol

from sambang_runtime.logs import get_logger
from sambang_runtime.service import ServiceRuntime

from ..adapters.channels import Channels
from ..adapters.sink import start_sink
from ..context import NotifierContext, context_from
from ..domain.delivery import Decision, SendResult, Status, Verdict, decide
from ..stores import notifications
from ..stores.notifications import Claimed
from ..usecases.delivery import settle_message

log = get_logger(__name__)


class Sender(Protocol):
    """What the dispatcher sends through (``adapters.channels.Channels``; a test's fake)."""

    async def send(self, message: Claimed, now: dt.datetime) -> SendResult:
        """Hand one message to its channel."""
        ...


async def _deliver(runtime: ServiceRuntime, ctx: NotifierContext, channels: Sender, message: Claimed) -> None:
    s = ctx.settings
    try:
        result = await channels.send(message, runtime.clock())
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
    message: Claimed,
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
                await settle_message(uow, message, decision, reason=reason, now=now)
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


async def dispatch_round(runtime: ServiceRuntime, ctx: NotifierContext, channels: Sender) -> bool:
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
    await asyncio.gather(*(_deliver(runtime, ctx, channels, m) for m in claimed))
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
        async with Channels(s, ctx.smtp_server) as channels:
            while True:
                try:
                    more = await dispatch_round(runtime, ctx, channels)
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
