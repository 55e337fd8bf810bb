"""Pytest plugin: real RabbitMQ and PostgreSQL for every test run, each run isolated.

The servers come from ``SAMBANG_TEST_AMQP_URL`` / ``SAMBANG_TEST_DATABASE_URL``, else those on
localhost, else testcontainers where a Docker engine answers. Each run gets its own RabbitMQ
virtual host and its own databases, so runs never collide; both are removed at the end.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from .db import drop_database, ensure_database
from .settings import RuntimeSettings

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def pytest_configure(config: pytest.Config) -> None:
    """The suite says its environment out loud: ``test`` (published development keys, no demo bank, no
    mailbox) unless the caller set one. Production is every other process's default; tests of the
    production start pass ``environment="production"`` themselves."""
    os.environ.setdefault("SAMBANG_ENVIRONMENT", "test")


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
        return True
    except Exception:
        return False


class Servers:
    """Where this run's broker and database server are, and what was created on them."""

    def __init__(self, stack: ExitStack) -> None:
        self.run_id = uuid.uuid4().hex[:8]
        self._stack = stack
        self.base_amqp = self._find_amqp()
        self.base_pg = self._find_pg()
        self.vhost: str | None = None
        self.databases: list[str] = []

    def _find_amqp(self) -> str:
        url = os.environ.get("SAMBANG_TEST_AMQP_URL")
        if url:
            return url
        if _port_open("127.0.0.1", 5672):
            return DEFAULT_AMQP
        if _docker_answers():
            from testcontainers.rabbitmq import RabbitMqContainer

            c = self._stack.enter_context(RabbitMqContainer("rabbitmq:3.13-management"))
            return f"amqp://guest:guest@{c.get_container_host_ip()}:{c.get_exposed_port(5672)}/"
        raise RuntimeError(
            "No RabbitMQ for the tests: set SAMBANG_TEST_AMQP_URL, start one on localhost "
            "(rabbitmq-server -detached), or run where a Docker engine answers."
        )

    def _find_pg(self) -> str:
        url = os.environ.get("SAMBANG_TEST_DATABASE_URL")
        if url:
            return url
        if _port_open("127.0.0.1", 5432):
            return DEFAULT_PG
        if _docker_answers():
            from testcontainers.postgres import PostgresContainer

            c = self._stack.enter_context(PostgresContainer("postgres:16", driver="asyncpg"))
            return str(c.get_connection_url())
        raise RuntimeError(
            "No PostgreSQL for the tests: set SAMBANG_TEST_DATABASE_URL, start one on localhost, "
            "or run where a Docker engine answers."
        )

    # -- RabbitMQ virtual host per run -------------------------------------------------------
    def amqp_url(self) -> str:
        """This run's AMQP URL, in its own virtual host when one can be made."""
        if self.vhost is None:
            self.vhost = f"sambang-test-{self.run_id}"
            if not self._create_vhost(self.vhost):
                self.vhost = ""  # fall back to unique names in the given vhost
        if not self.vhost:
            return self.base_amqp
        parts = urllib.parse.urlsplit(self.base_amqp)
        return urllib.parse.urlunsplit(parts._replace(path="/" + urllib.parse.quote(self.vhost, safe="")))

    def _management(self, method: str, path: str, body: dict[str, Any] | None = None) -> bool:
        parts = urllib.parse.urlsplit(self.base_amqp)
        auth = base64.b64encode(f"{parts.username or 'guest'}:{parts.password or 'guest'}".encode()).decode()
        req = urllib.request.Request(
            f"http://{parts.hostname}:15672/api/{path}",
            method=method,
            data=json.dumps(body or {}).encode(),
            headers={"Authorization": f"Basic {auth}", "content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=5):
                return True
        except (urllib.error.URLError, OSError):
            return False

    def _create_vhost(self, vhost: str) -> bool:
        user = urllib.parse.urlsplit(self.base_amqp).username or "guest"
        ctl = shutil.which("rabbitmqctl")
        if ctl:
            ok = subprocess.run([ctl, "add_vhost", vhost], capture_output=True, timeout=60).returncode == 0
            if ok:
                subprocess.run(
                    [ctl, "set_permissions", "-p", vhost, user, ".*", ".*", ".*"],
                    capture_output=True,
                    timeout=60,
                    check=True,
                )
                return True
        q = urllib.parse.quote(vhost, safe="")
        return self._management("PUT", f"vhosts/{q}") and self._management(
            "PUT", f"permissions/{q}/{user}", {"configure": ".*", "write": ".*", "read": ".*"}
        )

    def _delete_vhost(self) -> None:
        if not self.vhost:
            return
        ctl = shutil.which("rabbitmqctl")
        if ctl and subprocess.run([ctl, "delete_vhost", self.vhost], capture_output=True, timeout=60).returncode == 0:
            return
        self._management("DELETE", f"vhosts/{urllib.parse.quote(self.vhost, safe='')}")

    # -- PostgreSQL databases per run ---------------------------------------------------------
    def pg_url(self, name: str) -> str:
        """A URL for this run's database ``name`` (created by ``ensure_database``)."""
        from sqlalchemy.engine import make_url

        db = f"sambang_t{self.run_id}_{name}".replace("-", "_")
        self.databases.append(db)
        return make_url(self.base_pg).set(database=db).render_as_string(hide_password=False)

    async def cleanup(self) -> None:
        """Drop this run's databases and virtual host."""
        for db in set(self.databases):
            from sqlalchemy.engine import make_url

            with suppress(Exception):
                await drop_database(make_url(self.base_pg).set(database=db).render_as_string(hide_password=False))
        await asyncio.to_thread(self._delete_vhost)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """The run's servers; databases and vhost are removed afterwards."""
    with ExitStack() as stack:
        s = Servers(stack)
        yield s
        asyncio.run(s.cleanup())


@pytest.fixture(scope="session")
def amqp_url(servers: Servers) -> str:
    """This run's AMQP URL (own virtual host)."""
    return servers.amqp_url()


SettingsFactory = Callable[..., RuntimeSettings]


def isolated_settings(
    servers: Servers,
    tmp: Path,
    service: str,
    backend: str = "postgres+amqp",
    *,
    uniq: str,
    db_name: str | None = None,
    **overrides: Any,
) -> RuntimeSettings:
    """Settings of a service on ``backend`` "postgres+amqp" or "sqlite+memory", with its own database
    and exchange and queue names made from ``uniq`` (services sharing ``uniq`` share a bus)."""
    db_kind, bus_kind = backend.split("+")
    name = db_name or f"{service}_{uniq}"
    url = servers.pg_url(name) if db_kind == "postgres" else f"sqlite+aiosqlite:///{tmp / name}.db"
    values: dict[str, Any] = {
        "environment": "test",
        "service_name": service,
        "database_url": url,
        "amqp_url": servers.amqp_url() if bus_kind == "amqp" else "memory://",
        "exchange": f"sambang.events.{uniq}",
        "queue_prefix": f"sambang.{uniq}",
        "retry_delay_ms": 200,
        "relay_poll_seconds": 0.5,
        "log_json": True,
    }
    values.update(overrides)
    settings = RuntimeSettings(**values)
    if settings.amqp_url.startswith("amqp"):
        _DECLARED_BY_TEST.append(settings)
    return settings


# Settings handed out to the running tests: their queues and exchange go when the scope that made them ends.
_DECLARED_BY_TEST: list[RuntimeSettings] = []
BROKER_ANSWER_SECONDS = 30.0


async def _delete_broker_objects(settings: list[RuntimeSettings]) -> None:
    """Delete the service, retry and parking queues and the exchange each of ``settings`` names.

    Why: a test run shares one virtual host, and each test's service declares three quorum queues
    under its own prefix. Left in place they pile up (about 900 by the end of a run), and RabbitMQ
    3.10 reserves file handles for every queue out of a budget derived from its open-files limit:
    at the usual soft limit of 1024 the budget ran out at about 300 queues and the broker stopped
    accepting connections (``rabbit_networking:setup_socket`` waits on ``file_handle_cache`` for
    ever), which hung the CI run until its time limit. Deleting is idempotent: a queue another
    test's settings also named, or one never declared, is no error.
    """
    import aio_pika

    from .bus.transport import direct_exchange_name, parked_queue_name, retry_queue_name

    by_url: dict[str, set[tuple[str, str]]] = {}
    for s in settings:
        names = by_url.setdefault(s.amqp_url, set())
        for q in (s.queue_name, retry_queue_name(s.queue_name), parked_queue_name(s.queue_name)):
            names.add(("queue", q))
        names.add(("exchange", s.exchange))
        names.add(("exchange", direct_exchange_name(s.queue_name)))
    for url, names in by_url.items():
        try:
            connection = await aio_pika.connect(url, timeout=BROKER_ANSWER_SECONDS)
        except Exception as exc:  # a wedged or stopped broker: say so now instead of hanging every later test
            if _port_open_url(url):
                pytest.exit(
                    f"RabbitMQ at {_redacted(url)} accepts TCP but no AMQP connection within "
                    f"{BROKER_ANSWER_SECONDS:.0f} s ({exc!r}): the broker is wedged (see its log; a node at "
                    "1024 open files runs out of file handles). Restart it and run again.",
                    returncode=3,
                )
            continue  # the test stopped the broker on purpose, or the vhost went with the run
        async with connection:
            for kind, name in sorted(names):
                channel = await connection.channel()
                try:
                    if kind == "queue":
                        await channel.queue_delete(name)
                    else:
                        await channel.exchange_delete(name)
                except Exception:  # noqa: S112 - best effort, the run's vhost goes at the end anyway
                    continue
                finally:
                    if not channel.is_closed:
                        await channel.close()


def _port_open_url(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return _port_open(parts.hostname or "127.0.0.1", parts.port or 5672)


def _redacted(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{parts.hostname}:{parts.port or 5672}"))


async def _delete_declared_since(start: int) -> None:
    declared = _DECLARED_BY_TEST[start:]
    del _DECLARED_BY_TEST[start:]
    if declared:
        await _delete_broker_objects(declared)


# Settings are deleted by the scope that made them: pytest sets up wider-scoped fixtures first, so
# what a module-scoped fixture (a stack shared by a module's tests) made is already listed when a
# test starts, and stays until the module ends; what the test and its own fixtures made goes with it.
@pytest.fixture(autouse=True, scope="module")
async def _broker_objects_of_the_module() -> AsyncIterator[None]:
    """When a module ends, delete the queues and exchanges its module-scoped services named."""
    start = len(_DECLARED_BY_TEST)
    yield
    await _delete_declared_since(start)


@pytest.fixture(autouse=True)
async def _broker_objects_of_the_test() -> AsyncIterator[None]:
    """When a test ends, delete the queues and exchanges its services' settings named (see above)."""
    start = len(_DECLARED_BY_TEST)
    yield
    await _delete_declared_since(start)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll until ``check`` holds, else fail saying what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def make_settings(servers: Servers, tmp_path: Path) -> SettingsFactory:
    """Build settings for a service on ``backend`` "postgres+amqp" or "sqlite+memory", isolated per test."""
    uniq = uuid.uuid4().hex[:6]

    def factory(
        service: str, backend: str = "postgres+amqp", *, db_name: str | None = None, **overrides: Any
    ) -> RuntimeSettings:
        return isolated_settings(servers, tmp_path, service, backend, uniq=uniq, db_name=db_name, **overrides)

    return factory


@pytest.fixture
async def fresh_pg_url(servers: Servers) -> AsyncIterator[str]:
    """An empty PostgreSQL database of this run."""
    url = servers.pg_url(f"x{uuid.uuid4().hex[:8]}")
    await ensure_database(url)
    yield url
    await drop_database(url)


@contextmanager
def own_vhost() -> Iterator[str]:
    """A RabbitMQ virtual host for one benchmark run, removed afterwards; child processes inherit it.

    Benchmarks declare quorum queues by the dozen; in a vhost of their own they leave nothing behind.
    """
    with ExitStack() as stack:
        servers = Servers(stack)
        url = servers.amqp_url()
        previous = os.environ.get("SAMBANG_TEST_AMQP_URL")
        os.environ["SAMBANG_TEST_AMQP_URL"] = url
        try:
            yield url
        finally:
            if previous is None:
                os.environ.pop("SAMBANG_TEST_AMQP_URL", None)
            else:
                os.environ["SAMBANG_TEST_AMQP_URL"] = previous
            asyncio.run(servers.cleanup())


class FakeClock:
    """A clock a test moves by hand: pass it to ``create_app(..., clock=clock)``; no sleeping, no backdating."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        start = start or dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
        if start.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware start")
        self._now = start.astimezone(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self._now

    def advance(self, delta: dt.timedelta | float = 0.0, /, **units: float) -> dt.datetime:
        """Move forward by a timedelta, seconds, or keyword units (``advance(minutes=5)``); returns the new now."""
        step = delta if isinstance(delta, dt.timedelta) else dt.timedelta(seconds=delta)
        step += dt.timedelta(**units)
        if step < dt.timedelta(0):
            raise ValueError("a clock only moves forward; use set() to jump")
        self._now += step
        return self._now

    def set(self, when: dt.datetime) -> None:
        """Jump to an instant (timezone-aware)."""
        if when.tzinfo is None:
            raise ValueError("FakeClock needs timezone-aware instants")
        self._now = when.astimezone(dt.UTC)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that stop and start a broker (``broker_restart``) run last.

    They stop a RabbitMQ node of their own (``ownservers.own_rabbit``), never the shared one: RabbitMQ
    3.10 (Debian's) after ``stop_app``/``start_app`` was seen unable to add a vhost or declare a quorum
    queue (``rabbit_fifo_dlx_sup`` gone), which failed every later test. Last still, as they are slow
    and start an Erlang VM beside the shared node. The order is otherwise kept (a stable sort).
    """
    items.sort(key=lambda item: item.get_closest_marker("broker_restart") is not None)


# --- observing a service from a test: the bus, its inbox, its readiness ----------------------------------


class BusProbe:
    """Records every event published on the test's exchange under ``keys``: what a service emitted.

    ``async with BusProbe(settings, keys=("payment.#",)) as probe:`` after the service declared its
    exchange (start the app first). On RabbitMQ the probe has its own connection and an exclusive,
    unbounded queue; on the in-memory bus pass the shared broker as ``transport``. Bodies that are not
    valid events under the contracts are kept in ``invalid`` (a contract tap asserts it stays empty).
    ``on_event`` is called for each event as it arrives.
    """

    MARKER_PREFIX = "sambang-probe-marker."

    def __init__(
        self,
        settings: RuntimeSettings,
        keys: tuple[str, ...] = ("#",),
        *,
        transport: Any = None,
        on_event: Callable[[Any], None] | None = None,
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.events: list[Any] = []
        self.invalid: list[tuple[bytes, str]] = []
        self._on_event = on_event
        from .crypto import DEV_BLIND_INDEX_KEY, DEV_PII_KEYS, cipher_from_settings

        # The probe reads what a consumer of the service reads: sealed personal fields opened.
        self._cipher = cipher_from_settings(
            settings.pii_keys or DEV_PII_KEYS, settings.blind_index_key or DEV_BLIND_INDEX_KEY
        )
        self._transport = transport
        self._queue_name = f"sambang.probe.{uuid.uuid4().hex[:12]}"
        self._markers: dict[str, asyncio.Event] = {}
        self._conn: Any = None
        self._channel: Any = None
        self._queue: Any = None

    async def __aenter__(self) -> BusProbe:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def _marker_key(self) -> str:
        return self.MARKER_PREFIX + self._queue_name.rsplit(".", 1)[-1]

    def _record(self, body: bytes, message_id: str | None, routing_key: str) -> None:
        if routing_key.startswith(self.MARKER_PREFIX):
            marker = self._markers.get(message_id or "")
            if marker is not None:
                marker.set()
            return
        from sambang_contracts import parse_event

        from .sealing import open_body

        try:
            event = parse_event(open_body(body, self._cipher))
        except Exception as exc:  # a contract tap reports, it does not crash the consumer
            self.invalid.append((body, f"{type(exc).__name__}: {exc}"))
            return
        self.events.append(event)
        if self._on_event is not None:
            self._on_event(event)

    async def start(self) -> None:
        """Bind the probe's queue to the keys (and to its own marker key, for ``barrier``)."""
        keys = (*self.keys, self._marker_key)
        if self._transport is not None or self.settings.amqp_url.startswith("memory://"):
            if self._transport is None:
                raise ValueError("on the in-memory bus, give the shared broker: BusProbe(settings, transport=...)")

            async def on_batch(deliveries: list[Any]) -> None:
                for d in deliveries:
                    self._record(d.body, d.event_id, d.routing_key)
                    await d.ack()

            await self._transport.consume_broadcast(self._queue_name, keys, on_batch)
            return
        import aio_pika

        from .bus.nodes import connect_nodes

        self._conn = await connect_nodes(self.settings.amqp_url)
        self._channel = await self._conn.channel()
        exchange = await self._channel.declare_exchange(
            self.settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        self._queue = await self._channel.declare_queue(self._queue_name, exclusive=True, auto_delete=True)
        for key in keys:
            await self._queue.bind(exchange, key)

        async def on_message(message: Any) -> None:
            async with message.process():
                self._record(message.body, message.message_id, message.routing_key or "")

        await self._queue.consume(on_message)

    async def close(self) -> None:
        """Stop listening; the queue goes with it."""
        if self._transport is not None:
            await self._transport.stop_consuming(self._queue_name)
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def of(self, event_type: str, subject: str | None = None) -> list[Any]:
        """Events of one type (and receipt number), in arrival order."""
        return [e for e in self.events if e.type == event_type and (subject is None or e.subject == subject)]

    async def wait_for(
        self, event_type: str, count: int = 1, *, subject: str | None = None, timeout: float = 30.0
    ) -> list[Any]:
        """Wait until at least ``count`` events of a type (and receipt) arrived; returns them."""

        async def enough() -> bool:
            return len(self.of(event_type, subject)) >= count

        await eventually(enough, timeout, f"{count} x {event_type}")
        return self.of(event_type, subject)

    async def barrier(self, timeout: float = 20.0) -> None:
        """Return once everything the exchange routed to the probe before now has been recorded.

        A marker goes through the exchange to this probe's queue alone; a queue delivers in order, so
        when the marker comes back, every event routed before it has come too.
        """
        from .bus.transport import OutgoingMessage

        marker_id = uuid.uuid4().hex
        arrived = self._markers[marker_id] = asyncio.Event()
        message = OutgoingMessage(marker_id, self._marker_key, b"{}")
        try:
            if self._transport is not None:
                await self._transport.publish_batch([message])
            else:
                import aio_pika

                exchange = await self._channel.get_exchange(self.settings.exchange)
                await exchange.publish(aio_pika.Message(b"{}", message_id=marker_id), routing_key=self._marker_key)
            await asyncio.wait_for(arrived.wait(), timeout=timeout)
        finally:
            del self._markers[marker_id]

    async def caught_up(self, runtime: Any, timeout: float = 30.0) -> None:
        """Everything ``runtime`` committed so far is published (``wait_published``) and has reached this
        probe (``barrier``): what the probe then lacks was never emitted. The proof an absence check
        needs after a request, where there is no handled event to wait for."""
        await wait_published(runtime, timeout)
        await self.barrier()

    async def assert_absent(
        self, event_type: str, *, subject: str | None = None, handled: tuple[Any, str] | None = None
    ) -> None:
        """Prove an event was NOT published: first the proof the trigger was handled and committed (its
        id in the runtime's inbox, ``handled=(runtime, event_id)``), then that the runtime's outbox has
        published what that commit wrote (``wait_published``), then a barrier, then the check. Without
        those proofs a slow consumer or a slow relay would pass the check (no sleeping instead).
        After a request rather than an event, call ``wait_published(runtime)`` first and leave
        ``handled`` out."""
        if handled is not None:
            runtime, event_id = handled
            await wait_handled(runtime, event_id)
            await self.caught_up(runtime)
        else:
            await self.barrier()
        found = self.of(event_type, subject)
        assert not found, f"{event_type} was published and should not have been: {[e.id for e in found]}"


async def wait_handled(runtime: Any, event_id: str, timeout: float = 30.0) -> None:
    """Wait until ``event_id`` is in the service's inbox: its handlers ran and their effects committed.

    The proof an absence check needs before it looks (anything the handlers did is now visible).
    """
    from sqlalchemy import select

    inbox = runtime.spec.tables.inbox

    async def recorded() -> bool:
        async with runtime.engine.connect() as conn:
            row = (await conn.execute(select(inbox.c.event_id).where(inbox.c.event_id == event_id))).first()
        return row is not None

    await eventually(recorded, timeout, f"{runtime.spec.name} handling event {event_id}")


async def wait_published(runtime: Any, timeout: float = 30.0) -> None:
    """Wait until the runtime's outbox holds nothing left to publish (rows go once the broker confirmed
    them; unroutable ones are kept aside and do not count): what was committed is now on the bus."""
    from sqlalchemy import func, select

    outbox = runtime.spec.tables.outbox

    async def empty() -> bool:
        async with runtime.engine.connect() as conn:
            query = select(func.count()).select_from(outbox).where(outbox.c.unroutable_at.is_(None))
            return int((await conn.execute(query)).scalar_one()) == 0

    await eventually(empty, timeout, f"{runtime.spec.name}'s outbox to be published")


async def wait_ready(target: Any, timeout: float = 60.0, *, path: str = "/readyz") -> None:
    """Poll ``/readyz`` until it answers 200: ``target`` is a base URL or an ``httpx.AsyncClient``."""
    import httpx

    async def ready_with(client: httpx.AsyncClient) -> None:
        async def ok() -> bool:
            try:
                return (await client.get(path, timeout=5)).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ok, timeout, f"{path} of {client.base_url} to answer 200")

    if isinstance(target, httpx.AsyncClient):
        await ready_with(target)
    else:
        async with httpx.AsyncClient(base_url=str(target)) as client:
            await ready_with(client)


@asynccontextmanager
async def memory_uow(spec: Any, *, clock: Any = None, context: Any = None) -> AsyncIterator[Any]:
    """A real ``UnitOfWork`` of ``spec`` on a private in-memory SQLite database with the spec's tables
    created: domain and use-case tests in milliseconds, no server, no app. ``uow.events`` holds what was
    emitted until the commit; ``uow.commit()`` writes them to the outbox table as in production.
    ``context`` overrides the spec's.
    """
    from sqlalchemy.pool import StaticPool

    from .crypto import DEV_BLIND_INDEX_KEY, DEV_PII_KEYS, cipher_from_settings
    from .uow import UnitOfWorkFactory

    engine = create_async_engine("sqlite+aiosqlite://", poolclass=StaticPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(spec.metadata.create_all)
        factory = UnitOfWorkFactory(engine, spec.tables, spec.name, clock or FakeClock())
        factory.context = context if context is not None else spec.context
        factory.cipher = cipher_from_settings(DEV_PII_KEYS, DEV_BLIND_INDEX_KEY)
        async with factory() as uow:
            yield uow
    finally:
        await engine.dispose()


class RunningApp:
    """One service app a test started in-process: its client, runtime, settings, clock and bus probe."""

    def __init__(self, app: Any, client: Any, settings: RuntimeSettings, clock: FakeClock, probe: BusProbe) -> None:
        self.app = app
        self.client = client
        self.runtime = app.state.runtime
        self.settings = settings
        self.clock = clock
        self.probe = probe


@asynccontextmanager
async def running_app(
    create_app: Callable[..., Any],
    settings: RuntimeSettings,
    *,
    clock: FakeClock | None = None,
    probe_keys: tuple[str, ...] = ("#",),
    base_url: str = "http://t",
    **create_kwargs: Any,
) -> AsyncIterator[RunningApp]:
    """One service app running in-process: the lifespan runs (relay and consumer really travel through
    the bus), an ASGI client talks to it, a ``BusProbe`` listens (on the embedded bus, on the app's own
    broker); all stopped when the block ends."""
    import httpx

    clock = clock or FakeClock()
    app = create_app(settings, clock=clock, **create_kwargs)
    async with app.router.lifespan_context(app):
        broker = app.state.runtime.transport if settings.amqp_url.startswith("memory://") else None
        async with (
            BusProbe(settings, probe_keys, transport=broker) as probe,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, timeout=60) as client,
        ):
            yield RunningApp(app, client, settings, clock, probe)


class AppStarter:
    """Starts service apps in-process for one test (``start_app`` fixture) and stops them all after.

    ``await start_app(create_app, "payment", backend="postgres+amqp", share="a", clock=clock,
    probe_keys=("payment.#",), settings={"log_level": "WARNING"}, payment_settings=...)`` (see
    ``running_app``). Apps started with the same ``share`` name are replicas on one database and queue.
    """

    def __init__(self, make_settings: SettingsFactory, stack: Any) -> None:
        self._make_settings = make_settings
        self._stack = stack
        self._shared: dict[str, RuntimeSettings] = {}

    async def __call__(
        self,
        create_app: Callable[..., Any],
        service: str,
        *,
        backend: str = "postgres+amqp",
        share: str | None = None,
        clock: FakeClock | None = None,
        probe_keys: tuple[str, ...] = ("#",),
        settings: dict[str, Any] | None = None,
        **create_kwargs: Any,
    ) -> RunningApp:
        if share is not None and share in self._shared:
            runtime_settings = self._shared[share]
        else:
            runtime_settings = self._make_settings(service, backend, **(settings or {}))
            if share is not None:
                self._shared[share] = runtime_settings
        running: RunningApp = await self._stack.enter_async_context(
            running_app(create_app, runtime_settings, clock=clock, probe_keys=probe_keys, **create_kwargs)
        )
        return running


@pytest.fixture
async def start_app(make_settings: SettingsFactory) -> AsyncIterator[AppStarter]:
    """Start service apps in-process (see ``AppStarter``); every one is stopped when the test ends."""
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:
        yield AppStarter(make_settings, stack)
