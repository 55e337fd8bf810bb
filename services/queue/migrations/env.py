"""Alembic environment of the queue service."""

from sambang_runtime.migrations import run_env

from sambang_queue.models import metadata

run_env(metadata)
