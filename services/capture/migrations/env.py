"""Alembic environment of the capture service."""

from sambang_capture.models import metadata
from sambang_runtime.migrations import run_env

run_env(metadata)
