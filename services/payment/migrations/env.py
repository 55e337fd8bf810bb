"""Alembic environment of the payment service."""

from sambang_runtime.migrations import run_env

from sambang_payment.models import metadata

run_env(metadata)
