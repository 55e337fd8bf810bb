"""Settings of the SIMKIM gateway that are not office rules (env prefix ``SAMBANG_SIMKIM_GATEWAY_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sambang_runtime.secrets import StartRefused, require_secret

#: Ports of API.md, used when no URL is set (``make run`` and ``make up`` on one machine).
SIMULATOR_PORT = 8099
CAPTURE_PORT = 8002


class GatewaySettings(BaseSettings):
    """Where SIMKIM and capture are, and how hard and how often the gateway tries."""

    model_config = SettingsConfigDict(env_prefix="SAMBANG_SIMKIM_GATEWAY_", extra="ignore")

    #: The launcher's port offset (``--port-offset``), so a second local instance finds its own neighbours.
    port_offset: int = Field(default=0, validation_alias=AliasChoices("SAMBANG_PORT_OFFSET", "port_offset"))
    #: SIMKIM's base URL; the simulator on this machine when unset (development and tests only: production
    #: refuses to start without it, so a production gateway never talks to a simulator by default).
    simkim_url: str = ""
    #: The capture service's base URL (the internal bundle endpoint); this machine when unset.
    capture_url: str = ""
    #: Bearer token for capture's bundle endpoint in production (role ``service``). In development and
    #: test the gateway signs a short-lived one with the dev HS256 secret instead.
    capture_token: SecretStr | None = None
    #: mTLS towards SIMKIM (government network): client certificate and key, and the CA that signs
    #: SIMKIM's certificate. All three or none.
    simkim_client_cert: Path | None = None
    simkim_client_key: Path | None = None
    simkim_ca_file: Path | None = None
    connect_timeout_seconds: float = Field(default=3.0, gt=0)
    #: Read/write timeout of one SIMKIM or capture call.
    request_timeout_seconds: float = Field(default=15.0, gt=0)
    #: Submission attempts before the gateway gives up and a supervisor must retry (``simkim.submission.failed``).
    #: Attempts are only spent while SIMKIM answers others: a SIMKIM outage (open breaker) spends none.
    max_attempts: int = Field(default=8, ge=1, le=100)
    #: Exponential backoff: the n-th retry waits about base * 2^(n-1) seconds (half fixed, half random), at most cap.
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_cap_seconds: float = Field(default=300.0, gt=0)
    #: Consecutive SIMKIM failures that open the circuit breaker.
    breaker_failure_threshold: int = Field(default=5, ge=1)
    #: How long the breaker stays open before one probe may go; doubled after each failed probe, up to the cap.
    breaker_open_seconds: float = Field(default=30.0, gt=0)
    breaker_open_cap_seconds: float = Field(default=300.0, gt=0)
    #: How often an accepted application is asked about issuance.
    issuance_poll_seconds: float = Field(default=15.0, gt=0)
    #: How long a replica keeps a claimed piece of work before another may take it over (a crashed replica).
    #: Must outlast one capture call plus one SIMKIM call.
    lease_seconds: float = Field(default=120.0, gt=0)
    #: SIMKIM calls in flight per replica.
    concurrency: int = Field(default=16, ge=1, le=256)
    #: How often the worker looks for due work when nothing woke it (another replica's work, backoff ends).
    idle_poll_seconds: float = Field(default=1.0, gt=0)
    #: Office rules before ``queue.office.updated`` was seen.
    default_timezone: str = "Asia/Jakarta"
    default_pickup_working_days: int = Field(default=5, ge=0, le=60)

    @model_validator(mode="after")
    def _mtls_all_or_nothing(self) -> GatewaySettings:
        given = [p is not None for p in (self.simkim_client_cert, self.simkim_client_key)]
        if any(given) and not all(given):
            raise ValueError("mTLS needs both SIMKIM_CLIENT_CERT and SIMKIM_CLIENT_KEY")
        return self

    @property
    def simkim_base_url(self) -> str:
        """SIMKIM's base URL, without a trailing slash."""
        return (self.simkim_url or f"http://127.0.0.1:{SIMULATOR_PORT + self.port_offset}").rstrip("/")

    @property
    def capture_base_url(self) -> str:
        """Capture's base URL, without a trailing slash."""
        return (self.capture_url or f"http://127.0.0.1:{CAPTURE_PORT + self.port_offset}").rstrip("/")

    def check_production(self) -> None:
        """Refuse a production start, in one line naming the variable, without SIMKIM's address (unset means
        the development simulator) or without a fit service token for capture (missing, short or published)."""
        if not self.simkim_url.strip():
            raise StartRefused(
                "SAMBANG_SIMKIM_GATEWAY_SIMKIM_URL is missing: production needs SIMKIM's address "
                "(the SIMKIM simulator exists only in development)"
            )
        token = self.capture_token.get_secret_value() if self.capture_token is not None else None
        require_secret(
            token,
            "SAMBANG_SIMKIM_GATEWAY_CAPTURE_TOKEN",
            purpose="the gateway's service token for capture's bundle endpoint",
        )
