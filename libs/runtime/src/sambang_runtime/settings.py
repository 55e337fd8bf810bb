"""Settings every service shares, read from the environment with the prefix ``SAMBANG_``."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .approvals import DEV_APPROVAL_SECRET
from .auth import DEV_HS256_SECRET
from .clientaddr import parse_networks
from .crypto import DEV_BLIND_INDEX_KEY, DEV_PII_KEYS
from .secrets import published_values, require_secret

# Every development key of the repository: production refuses each of them by value.
published_values(DEV_HS256_SECRET, DEV_APPROVAL_SECRET, DEV_BLIND_INDEX_KEY, DEV_PII_KEYS, *DEV_PII_KEYS.split(":", 1))


class RuntimeSettings(BaseSettings):
    """The knobs of one service process; every field can be set as ``SAMBANG_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="SAMBANG_", extra="ignore")

    #: Production unless said otherwise: `make run`, `make up` and the tests say development (or test)
    #: out loud; the demo bank, the mailbox, demo tokens and the SIMKIM simulator exist only in development.
    environment: Literal["development", "test", "production"] = "production"
    service_name: str = "sambang"
    #: ``{service}`` is replaced by the service name with dashes as underscores, so one
    #: variable gives every service its own database.
    database_url: str = "sqlite+aiosqlite:///./var/{service}.db"
    #: Connections per process: a fixed pool (no overflow); a request waits at most
    #: ``database_pool_timeout_seconds`` for one, then gets 503 service_busy with nothing changed.
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    #: ``memory://`` selects the in-process bus of the embedded mode.
    amqp_url: str = "memory://"
    exchange: str = "sambang.events"
    queue_prefix: str = "sambang"
    consumer_prefetch: int = Field(default=200, ge=1, le=5000)
    consumer_batch_max: int = Field(default=100, ge=1, le=1000)
    #: Handler failures are retried this many times (after the first try) before parking.
    max_retries: int = Field(default=5, ge=0, le=50)
    retry_delay_ms: int = Field(default=5000, ge=10)
    #: Broker-side cap on redeliveries of one message (a consumer that crashes on it).
    delivery_limit: int = Field(default=20, ge=1)
    relay_batch_max: int = Field(default=500, ge=1, le=5000)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    #: Publish rounds in flight at once (PostgreSQL; SQLite always runs one). More than one helps only
    #: when confirms are slow and the process has CPU to spare; measured worse on 2 cores.
    relay_concurrency: int = Field(default=1, ge=1, le=32)
    #: Run the outbox relay on its own thread and event loop (RabbitMQ only), so its latency does not
    #: depend on how busy the service's loop is with requests.
    relay_thread: bool = True
    #: How long a woken relay waits for more commits to share its round, per event of its last round
    #: (seconds), and at most: a trickle waits 3 ms, a rush 20 ms with far fewer rounds.
    relay_linger_seconds: float = Field(default=0.003, ge=0, le=1)
    relay_linger_max_seconds: float = Field(default=0.02, ge=0, le=1)
    #: Outside production an unset secret falls back to the published development one (see below).
    auth_hs256_secret: str | None = None
    auth_jwks_url: str | None = None
    pii_keys: str | None = None
    blind_index_key: str | None = None
    #: The HMAC key supervisors' approvals are signed with (sambang_runtime.approvals); every service that
    #: issues or checks approvals (queue, capture, payment) shares it. Never the bearer tokens' key.
    approval_secret: str | None = None
    log_level: str = "INFO"
    log_json: bool | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    #: The proxies in front of this service (front door, nginx, ingress) whose X-Forwarded-For entries
    #: are believed, as CIDRs separated by commas: ``SAMBANG_TRUSTED_PROXIES=127.0.0.1/32,::1/128``.
    #: Empty (the default) trusts nobody: the connection's peer is the client (clientaddr.py).
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_trusted_proxies(cls, value: Any) -> Any:
        # A comma-separated list is what operators write; a bad CIDR stops the service at start.
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list | tuple):
            return tuple(str(n) for n in parse_networks(str(i) for i in items))
        return value

    @model_validator(mode="after")
    def _fail_closed(self) -> RuntimeSettings:
        if self.environment != "production":
            # Development and tests run on the published keys unless told otherwise.
            if self.auth_hs256_secret is None and self.auth_jwks_url is None:
                self.auth_hs256_secret = DEV_HS256_SECRET
            if self.approval_secret is None:
                self.approval_secret = DEV_APPROVAL_SECRET
            return self
        # Production: each key present, long enough and not a published development value, else one
        # line naming the variable (StartRefused). Checked in the order an operator would fix them.
        if self.auth_jwks_url is None:
            require_secret(
                self.auth_hs256_secret,
                "SAMBANG_AUTH_HS256_SECRET",
                purpose="officer tokens are verified with it; or set SAMBANG_AUTH_JWKS_URL",
            )
        elif self.auth_hs256_secret is not None:
            raise ValueError("set SAMBANG_AUTH_JWKS_URL or SAMBANG_AUTH_HS256_SECRET, not both")
        for entry in (self.pii_keys or "").split(","):
            key = entry.partition(":")[2]
            require_secret(
                key or None, "SAMBANG_PII_KEYS", purpose="personal data is encrypted with them", min_bytes=32
            )
        require_secret(self.blind_index_key, "SAMBANG_BLIND_INDEX_KEY", purpose="NIK look-ups hash with it")
        require_secret(
            self.approval_secret, "SAMBANG_APPROVAL_SECRET", purpose="supervisors' approvals are signed with it"
        )
        return self

    @property
    def development(self) -> bool:
        """Development conveniences (demo bank, mailbox, demo tokens, simulator) exist only when True."""
        return self.environment == "development"

    @property
    def production(self) -> bool:
        """The default: every key checked at start, nothing for development."""
        return self.environment == "production"

    @property
    def service_db_url(self) -> str:
        """The database URL with ``{service}`` filled in."""
        return self.database_url.replace("{service}", self.service_name.replace("-", "_"))

    @property
    def queue_name(self) -> str:
        """This service's durable quorum queue, e.g. ``sambang.payment``."""
        return f"{self.queue_prefix}.{self.service_name}"


@lru_cache
def get_settings() -> RuntimeSettings:
    """The process's settings, read once; tests build their own instead of calling this."""
    return RuntimeSettings()
