"""Settings of the notifier service (env prefix ``SAMBANG_NOTIFIER_``): channels, retries, streams."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sambang_runtime.secrets import require_secret

#: Capture's port in API.md, used when no URL is set (``make run`` and ``make up`` on one machine).
CAPTURE_PORT = 8002


class NotifierSettings(BaseSettings):
    """Knobs of the notifier; every field can be set as ``SAMBANG_NOTIFIER_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="SAMBANG_NOTIFIER_", extra="ignore")

    # -- e-mail over SMTP ------------------------------------------------------------------------
    #: The SMTP server; unset means the built-in sink in development, and no e-mail elsewhere.
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    #: "starttls" upgrades a plain connection (port 587), "tls" is TLS from the start (465), "none" is plain.
    smtp_tls: Literal["none", "starttls", "tls"] = "starttls"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "Kantor Imigrasi <no-reply@sambang.example.id>"
    smtp_timeout_seconds: float = Field(default=20.0, gt=0)

    # -- SMS through an HTTP provider ----------------------------------------------------------------
    #: The provider's send URL; unset means no SMS is sent (none is recorded either).
    sms_url: str | None = None
    sms_api_key: SecretStr | None = None
    sms_timeout_seconds: float = Field(default=10.0, gt=0)

    # -- the development SMTP sink (embedded mode) -------------------------------------------------
    #: The built-in SMTP sink and /v1/dev/mailbox run only when SAMBANG_ENVIRONMENT is development (None or
    #: True); False turns them off there too. Outside development they never run, whatever this says.
    smtp_sink: bool | None = None
    smtp_sink_host: str = "127.0.0.1"
    #: 0 takes any free port: the notifier is the sink's only client, and a fixed port would collide with
    #: another embedded instance on the same machine. Set one to point a mail client at it.
    smtp_sink_port: int = Field(default=0, ge=0, le=65535)
    #: Messages the sink keeps (the oldest go first).
    mailbox_size: int = Field(default=1000, ge=1)

    # -- delivery ------------------------------------------------------------------------------------
    #: How often the dispatcher looks for due messages when nothing woke it.
    dispatch_poll_seconds: float = Field(default=1.0, gt=0)
    dispatch_batch: int = Field(default=50, ge=1, le=1000)
    #: Messages sent at once by one replica.
    dispatch_concurrency: int = Field(default=8, ge=1, le=100)
    #: Transient failures are retried after base * 2^(attempt-1) seconds, at most retry_max_seconds.
    retry_base_seconds: float = Field(default=30.0, gt=0)
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    #: Attempts in all (the first included) before a transient failure is recorded as permanent.
    max_attempts: int = Field(default=6, ge=1, le=50)
    #: A message still "sending" this long after it was claimed was interrupted (a crash): it is recorded
    #: as failed, not sent again, because it may have gone out (at most once).
    sending_lease_seconds: float = Field(default=600.0, gt=0)
    #: Events about an applicant the notifier does not know yet are held this long for the registration.
    deferred_days: int = Field(default=7, ge=1)
    #: How often interrupted sends are recorded and old stream and held events forgotten.
    housekeeping_seconds: float = Field(default=60.0, gt=0)

    # -- live streams ------------------------------------------------------------------------------
    #: Each open stream also looks at the database this often, for events this replica was not woken for.
    stream_poll_seconds: float = Field(default=5.0, gt=0)
    stream_ping_seconds: float = Field(default=15.0, gt=0)
    #: Events kept for reconnecting clients, and the most one reconnect replays.
    stream_retention_hours: float = Field(default=24.0, gt=0)
    stream_replay_max: int = Field(default=500, ge=1, le=10_000)
    #: How long a stream ticket may open (or reopen) a connection.
    stream_ticket_seconds: int = Field(default=60, ge=5, le=3600)

    # -- the reminder the day before ------------------------------------------------------------------
    #: How often the reminder loop looks for reminders due (each office's hour comes from queue.office.updated).
    reminder_poll_seconds: float = Field(default=60.0, gt=0)
    #: Reminders claimed and recorded in one round at most (the next round takes the rest).
    reminder_batch: int = Field(default=200, ge=1, le=10_000)
    #: Capture's base URL (its checklist endpoint); this machine when unset.
    capture_url: str = ""
    #: Bearer token for capture's checklist in production (role ``service``). In development and test the
    #: notifier signs a short-lived one with the dev HS256 secret instead.
    capture_token: SecretStr | None = None
    capture_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    capture_timeout_seconds: float = Field(default=10.0, gt=0)
    #: The launcher's port offset (``--port-offset``), so a second local instance finds its own capture.
    port_offset: int = Field(default=0, validation_alias=AliasChoices("SAMBANG_PORT_OFFSET", "port_offset"))
    #: Visits are forgotten this many days after their day (the reminder has nothing more to do).
    appointment_retention_days: int = Field(default=7, ge=1)

    #: Office time zone until queue.office.updated has told the notifier.
    default_timezone: str = "Asia/Jakarta"

    @property
    def capture_base_url(self) -> str:
        """Capture's base URL, without a trailing slash."""
        return (self.capture_url or f"http://127.0.0.1:{CAPTURE_PORT + self.port_offset}").rstrip("/")

    def check_production(self) -> None:
        """Refuse a production start, in one line naming the variable, without a fit service token for
        capture's checklist (missing, short or published). SMTP and SMS stay optional: without them no
        e-mail or SMS goes out, and a configured server's password is taken as given."""
        token = self.capture_token.get_secret_value() if self.capture_token is not None else None
        require_secret(
            token,
            "SAMBANG_NOTIFIER_CAPTURE_TOKEN",
            purpose="the notifier's service token for capture's checklist (the reminder the day before)",
        )
