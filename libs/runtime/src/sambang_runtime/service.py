"""The app factory: a service's spec (its domain) plus the runtime (plumbing) make a FastAPI app."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine

from .auth import TokenVerifier
from .bus.amqp import AmqpTransport
from .bus.memory import InMemoryBroker
from .bus.transport import Transport, TransportUnavailable, broadcast_queue_name
from .clientaddr import TrustedProxies
from .clock import Clock, system_clock
from .consumer import BroadcastConsumer, EventConsumer, HandlerTable
from .crypto import DEV_BLIND_INDEX_KEY, DEV_PII_KEYS, cipher_from_settings
from .db import create_engine, ensure_database
from .entropy import uuid4
from .errors import ErrorCatalogue
from .health import router as health_router
from .logs import RequestContextMiddleware, configure_logging, get_logger
from .metrics import MetricsMiddleware
from .migrations import upgrade_to_head
from .outbox import BusTables, OutboxRelay
from .problems import install_problem_handlers
from .settings import RuntimeSettings
from .uow import UnitOfWork, UnitOfWorkFactory

log = get_logger(__name__)

StartupHook = Callable[["ServiceRuntime"], Awaitable[None]]
#: A loop the service runs for as long as it runs (e.g. an expiry sweeper); cancelled on stop.
BackgroundTask = Callable[["ServiceRuntime"], Coroutine[Any, Any, None]]


@dataclass
class ServiceSpec:
    """What makes a service itself: tables, handler table, routers, migrations, startup hooks."""

    name: str
    metadata: MetaData
    tables: BusTables
    handlers: HandlerTable = field(default_factory=dict)
    #: Handlers every replica runs for every matching event, from a queue of its own (exclusive, deleted with
    #: the replica, declared at run time): live work such as waking the streams this replica serves. No inbox
    #: and no outbox: handlers are idempotent and emit nothing (see ``BroadcastConsumer``).
    broadcast: HandlerTable = field(default_factory=dict)
    routers: Sequence[APIRouter] = ()
    migrations: Path | None = None
    on_startup: Sequence[StartupHook] = ()
    background: Sequence[BackgroundTask] = ()
    #: Every problem code the service answers with; each ``DomainError`` renders through it.
    errors: ErrorCatalogue = field(default_factory=lambda: ErrorCatalogue({}))
    #: The service's own per-app state (its settings, caches, limiters), built by ``create_app`` and
    #: reached as ``uow.context`` in handlers and through ``api/deps.py`` in routes: never a module global.
    context: object = None
    #: ``make rotate-data-key``: re-encrypts every encrypted value of the service not yet under the active
    #: PII key (``cipher.active_key_id``), in batches, while the service runs; returns how many it rewrote.
    rotate_data_key: Callable[[ServiceRuntime], Awaitable[int]] | None = None
    title: str = ""
    description: str = ""


@dataclass(frozen=True)
class ServiceDescriptor:
    """How the launcher finds a service: entry point group ``sambang.services`` names one of these."""

    name: str
    port: int
    #: Path prefixes of API.md the front door routes to this service.
    prefixes: tuple[str, ...]
    #: ``create_app(settings, *, transport=None) -> FastAPI``
    create_app: Callable[..., FastAPI]
    #: The Alembic history of the service (``services/<name>/migrations``).
    migrations: Path | None = None
    #: The service's ServiceSpec factory, for tools (migrations check, replay).
    spec: Callable[[], ServiceSpec] | None = None
    #: Settings the rendered deployments (compose, k8s) give this service, e.g. where its peers are by
    #: their service names; an overlay overrides them (production SIMKIM is not the simulator).
    deploy_env: tuple[tuple[str, str], ...] = ()
    #: A development and test aid (the SIMKIM simulator): in compose and the k8s development overlay,
    #: never in the k8s base a production cluster applies.
    development_only: bool = False

    @property
    def public_prefixes(self) -> tuple[str, ...]:
        """The prefixes the edge (front door, nginx, ingress) routes: ``/internal/`` stays in the cluster."""
        return tuple(p for p in self.prefixes if not p.startswith("/internal/"))


def discover_services() -> list[ServiceDescriptor]:
    """Every installed service (entry points ``sambang.services``), ordered by port."""
    from importlib.metadata import entry_points

    found = [ep.load() for ep in entry_points(group="sambang.services")]
    return sorted((d for d in found if isinstance(d, ServiceDescriptor)), key=lambda d: d.port)


def settings_for(service: str, **overrides: Any) -> RuntimeSettings:
    """Settings of one service: the environment, with the service name fixed by code."""
    return RuntimeSettings(service_name=service, **overrides)


def build_transport(settings: RuntimeSettings) -> Transport:
    """RabbitMQ for ``amqp://`` URLs, a private in-memory broker for ``memory://``."""
    if settings.amqp_url.startswith("memory://"):
        return InMemoryBroker(
            retry_delay_ms=settings.retry_delay_ms,
            delivery_limit=settings.delivery_limit,
            prefetch=settings.consumer_prefetch,
            batch_max=settings.consumer_batch_max,
        )
    return AmqpTransport(
        settings.amqp_url,
        exchange=settings.exchange,
        prefetch=settings.consumer_prefetch,
        batch_max=settings.consumer_batch_max,
        retry_delay_ms=settings.retry_delay_ms,
        delivery_limit=settings.delivery_limit,
    )


class ServiceRuntime:
    """Engine, unit of work, bus, relay and consumer of one service, started and stopped together."""

    def __init__(
        self,
        spec: ServiceSpec,
        settings: RuntimeSettings,
        *,
        transport: Transport | None = None,
        engine: AsyncEngine | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.settings = settings
        self.url = settings.service_db_url
        self.engine = engine or create_engine(
            self.url, pool_size=settings.database_pool_size, pool_timeout=settings.database_pool_timeout_seconds
        )
        self.uow_factory = UnitOfWorkFactory(self.engine, spec.tables, spec.name, clock)
        self.uow_factory.context = spec.context
        self._owns_transport = transport is None
        self.transport: Transport = transport or build_transport(settings)
        self.relay = OutboxRelay(
            self.engine,
            spec.tables,
            self.transport,
            service=spec.name,
            batch_max=settings.relay_batch_max,
            poll_seconds=settings.relay_poll_seconds,
            concurrency=settings.relay_concurrency,
            linger_seconds=settings.relay_linger_seconds,
            linger_max_seconds=settings.relay_linger_max_seconds,
        )
        if settings.relay_thread and not isinstance(self.transport, InMemoryBroker):
            # The in-memory broker lives on the service's loop; RabbitMQ relays get their own thread.
            self.relay.run_in_thread(lambda: create_engine(self.url, pool_size=2), lambda: build_transport(settings))
        self.uow_factory.on_commit = self.relay.wake
        self.consumer: EventConsumer | None = None
        if spec.handlers:
            self.consumer = EventConsumer(
                self.uow_factory,
                self.transport,
                queue=settings.queue_name,
                handlers=spec.handlers,
                service=spec.name,
                max_retries=settings.max_retries,
            )
        #: This process's name among the service's replicas (names its broadcast queue).
        self.replica_id = uuid4().hex[:12]
        self.broadcast_consumer: BroadcastConsumer | None = None
        if spec.broadcast:
            self.broadcast_consumer = BroadcastConsumer(
                self.uow_factory,
                self.transport,
                queue=broadcast_queue_name(settings.queue_name, self.replica_id),
                handlers=spec.broadcast,
                service=spec.name,
            )
        if settings.pii_keys and settings.blind_index_key:
            self.cipher = cipher_from_settings(settings.pii_keys, settings.blind_index_key)
        else:
            self.cipher = cipher_from_settings(DEV_PII_KEYS, DEV_BLIND_INDEX_KEY)
        self.uow_factory.cipher = self.cipher  # handlers reach personal data through their uow
        self.started = False
        self.consumer_started = False
        self._service_queue_consuming = False
        self._consumer_task: asyncio.Task[None] | None = None
        self._background: list[asyncio.Task[None]] = []

    def uow(self, correlation_id: str | None = None) -> UnitOfWork:
        """A new unit of work."""
        return self.uow_factory(correlation_id)

    def relay_running(self) -> bool:
        """Whether the outbox relay loop is alive."""
        return self.relay.running()

    async def readiness(self) -> dict[str, Any]:
        """Check each dependency (what ``/readyz`` reports); ``ready`` is true only when all are fine."""
        checks: dict[str, str] = {}
        try:
            async with self.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
            checks["database"] = "ok"
        except Exception as exc:  # any failure means not ready; say which kind
            checks["database"] = f"down: {type(exc).__name__}"
        checks["broker"] = "ok" if self.transport.is_connected() else "down"
        if self.consumer is not None or self.broadcast_consumer is not None:
            consuming = self.consumer_started and self.transport.consumers_ready()
            checks["consumers"] = "ok" if consuming else "not consuming"
        if not self.relay_running():
            checks["relay"] = "stopped"
        else:
            checks["relay"] = "ok" if self.relay.last_error is None else f"failing: {self.relay.last_error}"
        return {"service": self.spec.name, "ready": all(v == "ok" for v in checks.values()), "checks": checks}

    async def prepare_database(self) -> None:
        """Create the database if missing and bring its schema to head."""
        await ensure_database(self.url)
        if self.spec.migrations is not None and self.spec.migrations.exists():
            await asyncio.to_thread(upgrade_to_head, self.spec.migrations, self.url)
        else:
            async with self.engine.begin() as conn:
                await conn.run_sync(self.spec.metadata.create_all)

    async def start(self, *, prepare: bool = True) -> None:
        """Database, bus, consumer, relay, then the service's own startup hooks."""
        if prepare:
            await self.prepare_database()
        if self._owns_transport:
            await self.transport.start()
        if self.consumer is not None or self.broadcast_consumer is not None:
            try:
                await self._start_consumers()
            except TransportUnavailable:
                # Serve (and keep events in the outbox) while the broker is away; consume once it is back.
                log.warning("service.broker_unreachable_consumer_deferred", service=self.spec.name)
                self._consumer_task = asyncio.create_task(self._start_consumer_later())
        await self.relay.start()
        for hook in self.spec.on_startup:
            await hook(self)
        self._background = [
            asyncio.create_task(task(self), name=f"{self.spec.name}:{getattr(task, '__name__', 'background')}")
            for task in self.spec.background
        ]
        self.started = True
        log.info(
            "service.started",
            service=self.spec.name,
            database=self.engine.url.get_backend_name(),
            bus="memory" if isinstance(self.transport, InMemoryBroker) else "rabbitmq",
        )

    async def _start_consumers(self) -> None:
        """The service queue's consumer, then this replica's broadcast consumer; each started once."""
        if self.consumer is not None and not self._service_queue_consuming:
            await self.consumer.start()
            self._service_queue_consuming = True
        if self.broadcast_consumer is not None:
            await self.broadcast_consumer.start()
        self.consumer_started = True

    async def _start_consumer_later(self, every_seconds: float = 2.0) -> None:
        while True:
            await asyncio.sleep(every_seconds)
            try:
                await self._start_consumers()
            except TransportUnavailable:
                continue
            log.info("service.consumer_started", service=self.spec.name)
            return

    async def stop(self) -> None:
        """Stop the relay and the bus; unpublished events stay in the outbox."""
        pending = [t for t in (*self._background, self._consumer_task) if t is not None]
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._background = []
        self._consumer_task = None
        if self.broadcast_consumer is not None and self.consumer_started:
            # Also when the transport is shared (embedded mode): this replica's queue goes with it.
            await self.broadcast_consumer.stop()
        await self.relay.stop()
        if self._owns_transport:
            await self.transport.close()
        await self.engine.dispose()
        self.started = False
        self.consumer_started = False
        self._service_queue_consuming = False


def create_service_app(
    spec: ServiceSpec,
    settings: RuntimeSettings,
    *,
    transport: Transport | None = None,
    clock: Clock | None = None,
    configure_logs: bool = True,
) -> FastAPI:
    """The FastAPI app of a service: routers, problem responses, auth, health, metrics, lifespan."""
    if configure_logs:
        configure_logging(settings.log_level, json=settings.log_json)
    runtime = ServiceRuntime(spec, settings, transport=transport, clock=clock or system_clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=spec.title or f"Sambang {spec.name}", description=spec.description, version="1.0.0", lifespan=lifespan
    )
    app.state.runtime = runtime
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(
        hs256_secret=None if settings.auth_jwks_url else settings.auth_hs256_secret,
        jwks_url=settings.auth_jwks_url,
    )
    # Parsed once here: client_address() runs on every public look-up.
    app.state.trusted_proxies = TrustedProxies(settings.trusted_proxies)
    install_problem_handlers(app, spec.errors)
    # The routes go onto the app's own router, not included router by router: FastAPI keeps an
    # included router whole and, on every request, walks every included router's routes to check
    # whether any changed (bench/booking.py: 3% of the service's time). Services build their routers
    # up front and never change them while serving.
    for router in (health_router, *spec.routers):
        app.router.routes.extend(router.routes)
    app.add_middleware(MetricsMiddleware, service=spec.name)
    app.add_middleware(RequestContextMiddleware)
    return app


def runtime_of(request: Request) -> ServiceRuntime:
    """The runtime of the app serving this request."""
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def get_runtime(request: Request) -> ServiceRuntime:
    """FastAPI dependency: the runtime (async, so FastAPI does not hand it to a worker thread)."""
    return runtime_of(request)


def run_service(descriptor: ServiceDescriptor) -> None:
    """``python -m sambang_<name>``: serve one service on its port against the configured servers."""
    import os
    import sys

    import uvicorn
    from pydantic import ValidationError

    from .logs import configure_logging
    from .secrets import one_line

    try:
        settings = settings_for(descriptor.name)
        configure_logging(settings.log_level, json=settings.log_json)
        app = descriptor.create_app(settings)
    except (ValidationError, ValueError) as error:
        # Fail closed with one line naming the variable: no traceback to read through at 3 a.m.
        print(f"{descriptor.name}: refusing to start: {one_line(error)}", file=sys.stderr, flush=True)
        raise SystemExit(78) from None  # EX_CONFIG: the supervisor does not restart a config error
    port = int(os.environ.get("SAMBANG_PORT", descriptor.port))
    host = os.environ.get("SAMBANG_HOST", "127.0.0.1")
    # proxy_headers off: uvicorn would otherwise rewrite the client from X-Forwarded-For for peers in
    # FORWARDED_ALLOW_IPS (127.0.0.1 by default); SAMBANG_TRUSTED_PROXIES alone decides (clientaddr.py).
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, loop="uvloop", proxy_headers=False)


def request_uow(request: Request) -> UnitOfWork:
    """A unit of work for one request, correlated with its request id (``async with`` it)."""
    return runtime_of(request).uow(request.headers.get("x-request-id"))


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """FastAPI dependency: the request's unit of work (``request_uow``), closed after the response."""
    async with request_uow(request) as uow:
        yield uow


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]
UowDep = Annotated[UnitOfWork, Depends(get_uow)]
