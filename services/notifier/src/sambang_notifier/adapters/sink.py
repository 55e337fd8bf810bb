"""The development SMTP sink (aiosmtpd) that catches every e-mail in embedded mode, read at /v1/dev/mailbox."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sambang_runtime.clock import Clock


@dataclass(frozen=True, slots=True)
class CaughtMail:
    """One message the sink received."""

    mail_from: str
    to: tuple[str, ...]
    subject: str
    text: str
    html: str
    notification_id: str | None
    received_at: dt.datetime


class Mailbox:
    """The sink's messages, newest last, at most ``size`` of them (this process only)."""

    def __init__(self, size: int) -> None:
        self._mail: deque[CaughtMail] = deque(maxlen=size)
        #: Where the sink listens, once started.
        self.port: int | None = None

    def add(self, mail: CaughtMail) -> None:
        """Keep a message (the oldest goes when full)."""
        self._mail.append(mail)

    def to(self, address: str | None) -> list[CaughtMail]:
        """Messages to an address (case-insensitive), or all of them."""
        if not address:
            return list(self._mail)
        wanted = address.strip().lower()
        return [m for m in self._mail if wanted in (t.lower() for t in m.to)]


def _body(msg: EmailMessage, subtype: str) -> str:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    content: Any = part.get_content()
    return str(content).strip()


class SinkHandler:
    """aiosmtpd handler: accept everything, keep it in the mailbox."""

    def __init__(self, mailbox: Mailbox, clock: Clock) -> None:
        self.mailbox = mailbox
        self.clock = clock

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Parse and keep the message."""
        raw = envelope.original_content or envelope.content or b""
        parsed = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mailbox.add(
            CaughtMail(
                mail_from=envelope.mail_from or "",
                to=tuple(envelope.rcpt_tos),
                subject=str(parsed.get("Subject", "")),
                text=_body(parsed, "plain"),
                html=_body(parsed, "html"),
                notification_id=parsed.get("X-Sambang-Notification"),
                received_at=self.clock(),
            )
        )
        return "250 Message accepted for delivery"


async def start_sink(mailbox: Mailbox, clock: Clock, *, host: str, port: int) -> asyncio.Server:
    """Serve SMTP on the service's own loop (port 0: any free port); ``mailbox.port`` says where."""
    handler = SinkHandler(mailbox, clock)
    loop = asyncio.get_running_loop()
    # hostname given: aiosmtpd would otherwise look up this machine's FQDN (a DNS query per connection).
    server = await loop.create_server(lambda: SMTP(handler, hostname="sambang-sink", loop=loop), host=host, port=port)
    mailbox.port = int(server.sockets[0].getsockname()[1])
    return server
