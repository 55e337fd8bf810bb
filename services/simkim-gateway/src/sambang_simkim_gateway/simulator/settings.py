"""Settings of the SIMKIM simulator (env prefix ``SAMBANG_SIMKIM_SIMULATOR_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SimulatorSettings(BaseSettings):
    """How the simulator starts; faults and issuance delay change at run time through ``/simkim/_admin``."""

    model_config = SettingsConfigDict(env_prefix="SAMBANG_SIMKIM_SIMULATOR_", extra="ignore")

    #: Seconds from acceptance (or release of a hold) to issuance.
    issuance_delay_seconds: float = Field(default=10.0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    down: bool = False
