"""Alembic environment of the SIMKIM gateway."""

from sambang_runtime.migrations import run_env
from sambang_simkim_gateway.models import metadata

run_env(metadata)
