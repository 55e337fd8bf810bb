"""Tables of the queue service (its own database)."""

from __future__ import annotations

from sambang_runtime.db import new_metadata
from sambang_runtime.outbox import define_bus_tables
from sqlalchemy.orm import registry
from sqlmodel import SQLModel

metadata = new_metadata()
bus_tables = define_bus_tables(metadata)


class Model(SQLModel, registry=registry(metadata=metadata)):
    """Base of this service's tables: they live in this service's metadata only."""
