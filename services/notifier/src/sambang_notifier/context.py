"""The notifier's own per-app state: its settings, this replica's open streams, the dev mailbox."""

from __future__ import annotations

import asyncio
import contextlib

from sambang_contracts.values import IsHoliday, indonesian_public_holidays
from sambang_runtime.auth import ServiceToken
from sambang_runtime.uow import UnitOfWork

from .adapters.email import SmtpServer
from .adapters.sink import Mailbox
from .hub import StreamHub, StreamRecord
from .settings import NotifierSettings

#: Dev service tokens live this long and are renewed when less than half of it is left.


class NotifierContext:
    """One per app (two replicas in one test process have two): never a module global."""

    def __init__(
        self,
        settings: NotifierSettings,
        *,
        environment: str = "production",
        capture_token: ServiceToken | None = None,
    ) -> None:
        self.settings = settings
        #: The SMTP sink and /v1/dev/mailbox (every applicant's mail, arrival links included) exist only in
        #: development; there ``smtp_sink=False`` turns them off. Outside it nothing turns them on.
        self.sink_enabled = environment == "development" and settings.smtp_sink is not False
        self.mailbox: Mailbox | None = Mailbox(settings.mailbox_size) if self.sink_enabled else None
        self.hub = StreamHub()
        self._dispatch_wanted = asyncio.Event()
        #: Stream events from the shared queue, for this replica's stream recorder.
        self.stream_backlog: asyncio.Queue[StreamRecord] = asyncio.Queue()
        #: The calendar the reminder the day before steps back over (weekends and public holidays).
        self.is_holiday: IsHoliday = indonesian_public_holidays()
        #: The bearer token for capture's checklist, per office.
        self.capture_token = capture_token or ServiceToken(
            None, dev_secret=None, sub="notifier", variable="SAMBANG_NOTIFIER_CAPTURE_TOKEN"
        )
        #: Rounds the reminder loop completed, and a signal at each: a test proves that a reminder was *not*
        #: recorded by waiting for a round that began after the change and would have recorded it.
        self.reminder_rounds = 0
        self._reminder_round = asyncio.Event()

    @property
    def email_enabled(self) -> bool:
        """Whether e-mail can go anywhere: a configured server, or the sink."""
        return self.settings.smtp_host is not None or self.sink_enabled

    @property
    def sms_enabled(self) -> bool:
        """Whether an SMS provider is configured."""
        return self.settings.sms_url is not None

    def smtp_server(self) -> SmtpServer | None:
        """Where e-mail goes now: the configured server, else the running sink, else nowhere yet."""
        s = self.settings
        if s.smtp_host is not None:
            return SmtpServer(
                host=s.smtp_host,
                port=s.smtp_port,
                tls=s.smtp_tls,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                timeout=s.smtp_timeout_seconds,
            )
        if self.mailbox is not None and self.mailbox.port is not None:
            return SmtpServer(s.smtp_sink_host, self.mailbox.port, "none", None, None, s.smtp_timeout_seconds)
        return None

    def reminder_round_done(self) -> None:
        """The reminder loop finished a round (called by the loop)."""
        self.reminder_rounds += 1
        self._reminder_round.set()
        self._reminder_round = asyncio.Event()

    async def reminder_rounds_done(self, count: int = 1) -> None:
        """Until the reminder loop has finished ``count`` more rounds (the second began after this call)."""
        for _ in range(count):
            await self._reminder_round.wait()

    def record_stream_later(self, record: StreamRecord) -> None:
        """Hand a stream event to this replica's stream recorder (after the shared queue's commit)."""
        self.stream_backlog.put_nowait(record)

    def wake_dispatcher(self) -> None:
        """New messages were committed: the dispatcher of this replica looks now rather than at its next poll."""
        self._dispatch_wanted.set()

    async def dispatcher_nap(self, seconds: float) -> None:
        """Until woken or ``seconds`` passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._dispatch_wanted.wait(), seconds)
        self._dispatch_wanted.clear()


def context_from(state: object) -> NotifierContext:
    """Narrow a spec's context object (``uow.context``, ``runtime.spec.context``) to the notifier's."""
    if not isinstance(state, NotifierContext):
        raise RuntimeError("the notifier's unit of work carries no NotifierContext")
    return state


def context_of(uow: UnitOfWork) -> NotifierContext:
    """The notifier's state, from a unit of work (handlers)."""
    return context_from(uow.context)
