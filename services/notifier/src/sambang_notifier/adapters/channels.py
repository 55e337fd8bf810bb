"""One claimed message out on its channel: e-mail to the SMTP server of the moment, SMS to the provider."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from types import TracebackType

import httpx
from sambang_contracts import NotificationChannel

from ..domain.delivery import SendResult, Verdict
from ..settings import NotifierSettings
from ..stores.notifications import Claimed
from .email import SmtpServer, build_message, send_email
from .sms import send_sms


class Channels:
    """The dispatcher's way out, for as long as it runs (``async with``): one HTTP client for the SMS
    provider; SMTP connections per message, to the server ``smtp_server`` names at that moment."""

    def __init__(self, settings: NotifierSettings, smtp_server: Callable[[], SmtpServer | None]) -> None:
        self.settings = settings
        self.smtp_server = smtp_server
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Channels:
        self._client = httpx.AsyncClient(timeout=self.settings.sms_timeout_seconds)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, message: Claimed, now: dt.datetime) -> SendResult:
        """Hand one message to its channel and say what the answer means (sent, try again, give up)."""
        s = self.settings
        if message.channel == NotificationChannel.EMAIL:
            server = self.smtp_server()
            if server is None:
                return SendResult(Verdict.TRANSIENT, "no SMTP server available yet")
            mail = build_message(
                sender=s.smtp_from, to=message.address, content=message.content, notification_id=message.id, now=now
            )
            return await send_email(server, mail)
        if s.sms_url is None:
            return SendResult(Verdict.PERMANENT, "no SMS provider configured")
        assert self._client is not None, "Channels is used inside `async with`"
        return await send_sms(
            self._client,
            url=s.sms_url,
            api_key=s.sms_api_key.get_secret_value() if s.sms_api_key else None,
            to=message.address,
            text=message.content["text"],
            reference=message.id,
        )
