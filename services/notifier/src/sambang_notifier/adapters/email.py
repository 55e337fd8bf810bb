"""E-mail over SMTP (aiosmtplib): build the message, send it, and say what the server's answer means."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from ..domain.delivery import SendResult, Verdict, scrub, smtp_verdict


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where and how to hand mail over."""

    host: str
    port: int
    tls: str  # "none", "starttls" or "tls"
    username: str | None
    password: str | None
    timeout: float


def build_message(
    *, sender: str, to: str, content: dict[str, str], notification_id: str, now: dt.datetime
) -> EmailMessage:
    """A multipart/alternative message: plain text first, then the HTML body."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = content["subject"]
    msg["Date"] = format_datetime(now)
    # The notification id in the Message-ID and a header of its own: a receiving system (and a test)
    # can match a message to the delivery log without any personal data.
    msg["Message-ID"] = make_msgid(idstring=notification_id, domain="sambang.notifier")
    msg["X-Sambang-Notification"] = notification_id
    msg.set_content(content["text"])
    msg.add_alternative(content["html"], subtype="html")
    return msg


async def send_email(server: SmtpServer, message: EmailMessage) -> SendResult:
    """Hand one message to the SMTP server; 4xx answers and lost connections are transient, 5xx permanent."""
    try:
        await aiosmtplib.send(
            message,
            hostname=server.host,
            port=server.port,
            username=server.username,
            password=server.password,
            use_tls=server.tls == "tls",
            start_tls=server.tls == "starttls",
            timeout=server.timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        first = exc.recipients[0] if exc.recipients else None
        if first is None:
            return SendResult(Verdict.PERMANENT, "SMTP recipient refused")
        return SendResult(smtp_verdict(first.code), f"SMTP {first.code} {scrub(first.message)}")
    except aiosmtplib.SMTPResponseException as exc:
        return SendResult(smtp_verdict(exc.code), f"SMTP {exc.code} {scrub(exc.message)}")
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # Unreachable, disconnected, timed out: the server may be back later.
        return SendResult(Verdict.TRANSIENT, f"SMTP {type(exc).__name__}")
    return SendResult(Verdict.SENT)
