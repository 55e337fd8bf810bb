"""Fixtures of the SIMKIM gateway tests: the simulator and capture over real HTTP, gateways on real servers."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from gateway_support import FakeCapture, Gateway, Simkim, fast_gateway_settings, gateway_probe, serve
from sambang_runtime.auth import DEV_HS256_SECRET
from sambang_runtime.clock import Clock
from sambang_runtime.settings import RuntimeSettings
from sambang_runtime.testing import BusProbe, FakeClock, SettingsFactory
from sambang_simkim_gateway.app import create_app
from sambang_simkim_gateway.settings import GatewaySettings
from sambang_simkim_gateway.simulator.app import create_app as create_simulator
from sambang_simkim_gateway.simulator.settings import SimulatorSettings

GatewayFactory = Callable[..., Awaitable[Gateway]]
ProbeFactory = Callable[[RuntimeSettings], Awaitable[BusProbe]]
#: A gateway and a probe on its exchange: ``gw, probe = await probed(**gateway_settings)``.
ProbedFactory = Callable[..., Awaitable[tuple[Gateway, BusProbe]]]
#: The capture stand-in and its base URL.
Capture = tuple[FakeCapture, str]
SIMKIM_NOW = dt.datetime(2026, 12, 7, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
def rng() -> random.Random:
    """Randomness for receipt numbers, NIKs and biometric bytes (test data, not secrets)."""
    return random.Random()


@pytest.fixture
async def simkim(make_settings: SettingsFactory) -> AsyncIterator[Simkim]:
    """The SIMKIM simulator over real HTTP (its own SQLite database) on its own clock, fixed at
    2026-12-07 13:00 in Jakarta unless a test moves it; it issues at once unless told otherwise."""
    settings = make_settings("simkim-simulator", "sqlite+memory", log_level="WARNING")
    clock = FakeClock(SIMKIM_NOW)
    app = create_simulator(settings, clock=clock, simulator_settings=SimulatorSettings(issuance_delay_seconds=0))
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield Simkim(url, client, clock)


@pytest.fixture
async def capture() -> AsyncIterator[tuple[FakeCapture, str]]:
    """Capture's bundle endpoint over real HTTP; tests put bundles into it."""
    fake = FakeCapture(secret=DEV_HS256_SECRET)
    async with serve(fake.app(), lifespan="off") as url:
        yield fake, url


@pytest.fixture
async def probe_factory() -> AsyncIterator[ProbeFactory]:
    """The runtime's probes on ``simkim.#`` of a gateway's exchange, closed afterwards."""
    probes: list[BusProbe] = []

    async def start(settings: RuntimeSettings) -> BusProbe:
        probe = await gateway_probe(settings)
        probes.append(probe)
        return probe

    yield start
    for p in probes:
        await p.close()


@pytest.fixture
def probed(gateways: GatewayFactory, probe_factory: ProbeFactory) -> ProbedFactory:
    """Start a gateway (with these settings) and a probe on its exchange."""

    async def start(**gateway: Any) -> tuple[Gateway, BusProbe]:
        gw = await gateways(**gateway)
        return gw, await probe_factory(gw.settings)

    return start


@pytest.fixture
async def gateways(
    make_settings: SettingsFactory, simkim: Simkim, capture: tuple[FakeCapture, str]
) -> AsyncIterator[GatewayFactory]:
    """Start gateway apps; all started on one backend share one database and one queue (replicas).
    ``await gateway.stop()`` stops one early (a restart)."""
    async with AsyncExitStack() as stack:
        shared: dict[str, RuntimeSettings] = {}

        async def start(
            *,
            backend: str = "postgres+amqp",
            clock: Clock | None = None,
            gateway: GatewaySettings | None = None,
            **gw: Any,
        ) -> Gateway:
            settings = shared.get(backend)
            if settings is None:
                settings = shared[backend] = make_settings(
                    "simkim-gateway", backend, relay_poll_seconds=0.2, log_level="WARNING"
                )
            app = create_app(
                settings,
                clock=clock,
                gateway_settings=gateway or fast_gateway_settings(simkim.base_url, capture[1], **gw),
            )
            own = AsyncExitStack()
            await own.enter_async_context(app.router.lifespan_context(app))
            client = await own.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test", timeout=30)
            )
            stack.push_async_callback(own.aclose)
            return Gateway(app, client, own)

        yield start
