"""Alembic environment of the notifier service."""

from sambang_notifier.models import metadata
from sambang_runtime.migrations import run_env

run_env(metadata)
