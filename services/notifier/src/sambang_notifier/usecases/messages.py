"""What an applicant is told: an event rendered in their language, one message per channel, sent later."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sambang_contracts import CloudEvent, NotificationChannel
from sambang_runtime.entropy import uuid4
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork

from ..context import context_of
from ..domain import messages, templating
from ..domain.defaults import DEFAULTS
from ..domain.messages import Applicant
from ..stores import deferred, notifications, offices, recipients, templates

log = get_logger(__name__)


async def tell_applicant(uow: UnitOfWork, event: CloudEvent[Any], *, now: dt.datetime) -> None:
    """Render the event's template in the applicant's language and record one message per channel; an event
    that comes before its receipt's registration is held until it arrives."""
    template_name = messages.template_for(event.data)
    receipt = event.subject or getattr(event.data, "receipt_number", None)
    if template_name is None or receipt is None:
        return
    ctx = context_of(uow)
    applicant = await recipients.applicant(uow, receipt)
    if applicant is None:
        # Events may come before the registration (order-tolerant): held until it arrives.
        await deferred.hold(uow, event, now=now)
        log.info("notification.held_for_registration", event_type=event.type, template=template_name)
        return
    office = await offices.get(uow, event.office or receipt[:3], default_timezone=ctx.settings.default_timezone)
    variables = messages.variables_for(event.data, applicant, office)
    await record_messages(
        uow,
        applicant,
        template_name,
        variables,
        event_id=event.id,
        event_type=event.type,
        receipt=receipt,
        office=office.code,
        now=now,
    )


async def record_messages(
    uow: UnitOfWork,
    applicant: Applicant,
    template_name: str,
    variables: Mapping[str, Any],
    *,
    event_id: str,
    event_type: str,
    receipt: str,
    office: str,
    now: dt.datetime,
) -> list[str]:
    """Render a template in the applicant's language and record one message per channel (the admin's version,
    else the shipped one); the dispatcher sends them after the commit. A message whose (event, channel,
    recipient) is already recorded is not recorded again. Returns the new messages' ids."""
    ctx = context_of(uow)
    stored = await templates.get(uow, template_name, applicant.language)
    default = DEFAULTS[(template_name, applicant.language)]
    try:
        rendered = templating.render(stored.fields() if stored is not None else default, variables)
    except Exception as exc:  # an edited template that fails on real data: the shipped one still tells the news
        log.error("template.render_failed_using_default", template=template_name, error=type(exc).__name__)
        rendered = templating.render(default, variables)
    targets: list[tuple[NotificationChannel, str, dict[str, str]]] = []
    if applicant.email and ctx.email_enabled:
        email_content = {"subject": rendered.subject, "html": rendered.html, "text": rendered.text}
        targets.append((NotificationChannel.EMAIL, applicant.email, email_content))
    if applicant.phone and ctx.sms_enabled:
        targets.append((NotificationChannel.SMS, applicant.phone, {"text": rendered.sms}))
    created = await notifications.record(
        uow,
        [
            notifications.NewMessage(
                id=str(uuid4()),
                event_id=event_id,
                event_type=event_type,
                receipt_number=receipt,
                office=office,
                template=template_name,
                language=applicant.language.value,
                channel=channel,
                address=address,
                content=content,
            )
            for channel, address, content in targets
        ],
        now=now,
    )
    if created:
        uow.after_commit(ctx.wake_dispatcher)
    log.info("notification.recorded", template=template_name, messages=len(created), of=len(targets))
    return created
