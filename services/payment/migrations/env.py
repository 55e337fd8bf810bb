"""Alembic environment of the payment service."""

from sambang_payment.models import metadata
from sambang_runtime.migrations import run_env

run_env(metadata)
