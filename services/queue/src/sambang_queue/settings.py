"""Settings of the queue service itself (the runtime's are in RuntimeSettings)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class QueueSettings(BaseSettings):
    """Knobs of the queue service, each settable as ``SAMBANG_QUEUE_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="SAMBANG_QUEUE_", extra="ignore")

    #: Public look-ups (status, cancel, arrival confirmation) per client: a burst, then this rate.
    #: The client is read through the proxies of SAMBANG_TRUSTED_PROXIES (sambang_runtime.clientaddr).
    lookup_burst: int = Field(default=10, ge=1)
    lookup_per_minute: float = Field(default=30.0, gt=0)
    #: Birth-date guesses per receipt (#16): after this many wrong birth dates for one receipt within
    #: ``receipt_guess_window_seconds`` (look-up, cancel, kiosk check-in or pickup, from any address),
    #: proving that receipt by birth date answers 429 ``receipt_locked`` for ``receipt_lock_seconds``.
    #: Customer care checking the applicant in at the counter needs no birth date and is never locked.
    receipt_guess_limit: int = Field(default=5, ge=1)
    receipt_guess_window_seconds: float = Field(default=900.0, gt=0)
    receipt_lock_seconds: float = Field(default=900.0, gt=0)
    #: Requests per device (the kiosk's or display's token subject): a burst, then this rate.
    device_burst: int = Field(default=30, ge=1)
    device_per_minute: float = Field(default=60.0, gt=0)
    #: How long an office's settings are cached in this process (other replicas may change them).
    office_cache_seconds: float = Field(default=2.0, ge=0)
    #: A counter that called, served or finished a ticket within these minutes counts as open for the
    #: estimated wait (the queue knows no sign-ins: a counter is open while it serves).
    open_counter_minutes: float = Field(default=30.0, gt=0)
    #: Days of slots the development seed creates.
    seed_days: int = Field(default=30, ge=0)
