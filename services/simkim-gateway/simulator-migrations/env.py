"""Alembic environment of the SIMKIM simulator."""

from sambang_runtime.migrations import run_env
from sambang_simkim_gateway.simulator.models import metadata

run_env(metadata)
