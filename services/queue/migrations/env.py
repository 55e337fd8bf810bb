"""Alembic environment of the queue service."""

from sambang_queue.models import metadata
from sambang_runtime.migrations import run_env

run_env(metadata)
