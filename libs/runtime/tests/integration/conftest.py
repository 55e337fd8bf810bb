"""A probe service for the bus fault tests: one handler that records its effect in a table."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sambang_contracts import ApplicationCancelled, CancelReason, CloudEvent
from sambang_contracts.values import generate_receipt_number
from sambang_runtime.bus.memory import InMemoryBroker
from sambang_runtime.bus.transport import Transport
from sambang_runtime.db import new_metadata
from sambang_runtime.outbox import define_bus_tables
from sambang_runtime.service import ServiceRuntime, ServiceSpec, build_transport
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import SettingsFactory
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import Column, Integer, String, Table, func, insert, select

BACKENDS = ["postgres+amqp", "sqlite+memory"]

probe_metadata = new_metadata()
probe_tables = define_bus_tables(probe_metadata)
effect = Table(
    "effect",
    probe_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # Deliberately not unique: a doubly applied event shows up as two rows.
    Column("event_id", String(36), nullable=False),
    Column("receipt_number", String(16), nullable=False),
)

producer_metadata = new_metadata()
producer_tables = define_bus_tables(producer_metadata)


@dataclass
class Probe:
    """Knobs and observations of the probe handler."""

    poison: set[str] = field(default_factory=set)
    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    gate: asyncio.Event | None = None

    async def when_application_cancelled_record_effect(self, event: CloudEvent[Any], uow: UnitOfWork) -> None:
        """Record one effect row per event (fails for poisoned receipts)."""
        self.calls[event.id] += 1
        if self.gate is not None:
            await self.gate.wait()
        if event.subject in self.poison:
            raise RuntimeError("poisoned receipt (probe)")
        conn = await uow.session.connection()
        await conn.execute(insert(effect).values(event_id=event.id, receipt_number=event.subject))


def probe_spec(probe: Probe) -> ServiceSpec:
    """The probe consumer service."""
    return ServiceSpec(
        name="probe",
        metadata=probe_metadata,
        tables=probe_tables,
        handlers={"queue.application.cancelled": [probe.when_application_cancelled_record_effect]},
    )


def producer_spec() -> ServiceSpec:
    """A producer-only service (it consumes nothing)."""
    # Named after the owner of the events it emits (queue.*): consumers refuse any other source.
    return ServiceSpec(name="queue", metadata=producer_metadata, tables=producer_tables)


async def effect_rows(runtime: ServiceRuntime) -> dict[str, int]:
    """Effect rows per event id in the consumer's database."""
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(select(effect.c.event_id, func.count()).group_by(effect.c.event_id))).all()
    return {r[0]: r[1] for r in rows}


async def emit_cancellations(producer: ServiceRuntime, n: int, *, receipts: list[str] | None = None) -> list[str]:
    """Commit ``n`` cancellation events through the producer's outbox; returns their event ids."""
    ids: list[str] = []
    receipts = receipts or [generate_receipt_number("BLT", dt.date(2026, 12, 1)) for _ in range(n)]
    async with producer.uow() as uow:
        for r in receipts:
            ev = uow.emit(ApplicationCancelled(receipt_number=r, reason=CancelReason.APPLICANT))
            ids.append(ev.id)
        await uow.commit()
    return ids


class Harness:
    """Builds producer and consumer runtimes on one backend, sharing a bus, and stops them all."""

    def __init__(self, backend: str, make_settings: SettingsFactory) -> None:
        self.backend = backend
        self.make_settings = make_settings
        self.probe = Probe()
        self.runtimes: list[ServiceRuntime] = []
        self.broker: InMemoryBroker | None = None
        self._settings: dict[str, RuntimeSettings] = {}

    @property
    def amqp(self) -> bool:
        """Whether this harness runs on RabbitMQ."""
        return self.backend.endswith("amqp")

    def settings(self, service: str, **overrides: Any) -> RuntimeSettings:
        """One settings object per service name (same database across restarts)."""
        if service not in self._settings:
            self._settings[service] = self.make_settings(service, self.backend, **overrides)
        return self._settings[service]

    def transport(self, settings: RuntimeSettings) -> Transport | None:
        """A fresh RabbitMQ connection per runtime, or the one shared in-memory broker."""
        if self.amqp:
            return None
        if self.broker is None:
            self.broker = build_transport(settings)  # type: ignore[assignment]
        return self.broker

    async def start(self, spec: ServiceSpec, **overrides: Any) -> ServiceRuntime:
        """Start a runtime of ``spec`` (a restart reuses the same database and queue)."""
        settings = self.settings(spec.name, **overrides)
        runtime = ServiceRuntime(spec, settings, transport=self.transport(settings))
        await runtime.start()
        self.runtimes.append(runtime)
        return runtime

    async def crash(self, runtime: ServiceRuntime) -> None:
        """Stop a runtime as a crash would: no draining, unacked messages go back."""
        await runtime.relay.stop()
        if self.amqp:
            await runtime.transport.close()
        elif runtime.consumer is not None and self.broker is not None:
            await self.broker.kill_consumer(runtime.consumer.queue)
        await runtime.engine.dispose()
        self.runtimes.remove(runtime)

    async def close(self) -> None:
        """Stop everything still running."""
        for r in reversed(self.runtimes):
            await r.stop()
        if self.broker is not None:
            await self.broker.close()


@pytest.fixture(params=BACKENDS)
async def harness(request: pytest.FixtureRequest, make_settings: SettingsFactory) -> AsyncIterator[Harness]:
    """A harness on each backend: PostgreSQL + RabbitMQ, and SQLite + the in-memory bus."""
    h = Harness(request.param, make_settings)
    yield h
    await h.close()
