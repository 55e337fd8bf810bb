"""The rendered RabbitMQ definitions hold on the real broker: each service's user publishes only its own
event families (topic permissions), reaches only its own queues, and never the default exchange (which
would deliver into any queue by name, around the topic permissions).

A throwaway vhost and users (the rendered ones, renamed) are imported with ``rabbitmqctl
import_definitions`` and removed afterwards. Skipped only where rabbitmqctl is absent.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aio_pika
import aiormq
import pytest
from sambang_runtime.bus.amqp import AmqpTransport
from sambang_runtime.deployment import published_families, rabbitmq_definitions, rabbitmq_user
from sambang_runtime.service import ServiceDescriptor, discover_services

RABBITMQCTL = shutil.which("rabbitmqctl")
pytestmark = pytest.mark.skipif(RABBITMQCTL is None, reason="rabbitmqctl is not installed on this machine")

HOST = "127.0.0.1:5672"
EXCHANGE = "sambang.events"
SERVICES = [d for d in discover_services() if published_families(d.name) or (d.spec and d.spec().handlers)]


def _ctl(*args: str, stdin: str | None = None) -> str:
    assert RABBITMQCTL is not None
    with tempfile.TemporaryDirectory() as tmp:
        if stdin is not None:
            # A file the rabbitmq user (rabbitmqctl drops to it) can read; 3.10 refuses "-" for stdin.
            os.chmod(tmp, 0o755)  # noqa: S103 - nothing secret: a throwaway vhost's test users
            file = Path(tmp) / "definitions.json"
            file.write_text(stdin)
            file.chmod(0o644)
            args = tuple(str(file) if a == "-" else a for a in args)
        done = subprocess.run([RABBITMQCTL, *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"rabbitmqctl {' '.join(args)}: {done.stderr or done.stdout}"
    return done.stdout


class Broker:
    """The rendered definitions imported into a throwaway vhost, each user renamed and given a password."""

    def __init__(self) -> None:
        self.tag = f"t{secrets.token_hex(4)}"
        self.vhost = f"sambang-perm-{self.tag}"
        self.passwords = {d.name: secrets.token_urlsafe(16) for d in discover_services()}
        definitions: dict[str, Any] = rabbitmq_definitions(
            discover_services(), vhost=self.vhost, passwords=self.passwords
        )
        for key in ("users", "permissions", "topic_permissions"):
            for entry in definitions[key]:
                field = "name" if key == "users" else "user"
                entry[field] = self.user(entry[field])
        self.users = [u["name"] for u in definitions["users"]]
        self.definitions = json.dumps(definitions)

    def user(self, rendered: str) -> str:
        return f"{self.tag}-{rendered}"

    def url(self, service: str, password: str | None = None) -> str:
        user = self.user(rabbitmq_user(service))
        pw = self.passwords[service] if password is None else password
        return f"amqp://{quote(user)}:{quote(pw)}@{HOST}/{quote(self.vhost, safe='')}"

    def create(self) -> None:
        _ctl("import_definitions", "-", stdin=self.definitions)

    def remove(self) -> None:
        for user in self.users:
            subprocess.run([str(RABBITMQCTL), "delete_user", user], capture_output=True, timeout=60, check=False)
        subprocess.run([str(RABBITMQCTL), "delete_vhost", self.vhost], capture_output=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def broker() -> Iterator[Broker]:
    b = Broker()
    try:
        b.create()
        yield b
    finally:
        b.remove()


@pytest.fixture
async def connections() -> AsyncIterator[list[aio_pika.abc.AbstractConnection]]:
    opened: list[aio_pika.abc.AbstractConnection] = []
    yield opened
    for c in opened:
        await c.close()


async def _publish(
    broker: Broker, opened: list[aio_pika.abc.AbstractConnection], service: str, key: str, exchange: str = EXCHANGE
) -> None:
    """Publish one confirmed message as ``service``; raises ChannelAccessRefused when the broker refuses."""
    connection = await aio_pika.connect(broker.url(service))
    opened.append(connection)
    channel = await connection.channel(publisher_confirms=True)
    target = channel.default_exchange if exchange == "" else await channel.get_exchange(exchange, ensure=False)
    await target.publish(aio_pika.Message(b"{}", message_id=secrets.token_hex(8)), routing_key=key, timeout=10)


def _foreign_family(service: str) -> str:
    owned = set(published_families(service))
    return next(f for f in ("payment", "queue", "capture", "simkim", "notifier") if f not in owned)


async def test_queue_may_not_publish_payment_confirmed_but_may_publish_its_own(
    broker: Broker, connections: list[aio_pika.abc.AbstractConnection]
) -> None:
    with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match=r"payment\.confirmed"):
        await _publish(broker, connections, "queue", "payment.confirmed")
    await _publish(broker, connections, "queue", "queue.x")  # confirmed: no exception


@pytest.mark.parametrize("descriptor", SERVICES, ids=[d.name for d in SERVICES])
async def test_each_service_publishes_only_its_own_families(
    broker: Broker, connections: list[aio_pika.abc.AbstractConnection], descriptor: ServiceDescriptor
) -> None:
    for family in published_families(descriptor.name):
        await _publish(broker, connections, descriptor.name, f"{family}.anything.at_all")
    foreign = _foreign_family(descriptor.name)
    with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match="ACCESS_REFUSED"):
        await _publish(broker, connections, descriptor.name, f"{foreign}.forged")
    # Nor into another service's queue straight through the default exchange.
    with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match=r"amq\.default"):
        await _publish(broker, connections, descriptor.name, "sambang.payment", exchange="")
    # Nor through another service's direct exchange (the one its retries and parking go through).
    other = "queue" if descriptor.name != "queue" else "payment"
    with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match=rf"sambang\.{other}\.direct"):
        await _publish(broker, connections, descriptor.name, f"sambang.{other}", exchange=f"sambang.{other}.direct")


async def test_a_service_reads_its_own_queue_and_no_other(
    broker: Broker, connections: list[aio_pika.abc.AbstractConnection]
) -> None:
    connection = await aio_pika.connect(broker.url("capture"))
    connections.append(connection)
    channel = await connection.channel()
    own = await channel.get_queue("sambang.capture", ensure=True)
    assert own.name == "sambang.capture"

    async def ignore(_message: aio_pika.abc.AbstractIncomingMessage) -> None:
        return None

    with pytest.raises(aiormq.exceptions.ChannelAccessRefused, match=r"sambang\.payment"):
        queue = await channel.get_queue("sambang.payment", ensure=True)
        await queue.consume(ignore)


async def test_the_runtime_transport_runs_under_its_service_user(broker: Broker) -> None:
    """The service's own start-up (declare its queues and bindings, consume, publish) is permitted."""
    spec = next(d for d in discover_services() if d.name == "payment").spec
    assert spec is not None
    transport = AmqpTransport(broker.url("payment"))
    await transport.start()
    try:
        assert transport.is_connected()
        await transport.declare_service_queue("sambang.payment", sorted(spec().handlers))

        async def on_batch(_batch: object) -> None:
            return None

        await transport.consume("sambang.payment", on_batch)
        assert transport.consumers_ready()
        depths = await transport.queue_depths("sambang.payment")
        assert set(depths) == {"ready", "retry", "parked"}
    finally:
        await transport.close()


async def test_a_user_without_a_password_cannot_log_in(broker: Broker) -> None:
    """The committed definitions give every user an empty hash: nobody logs in until make secrets (or
    rabbitmqctl change_password) gives it a password."""
    committed = rabbitmq_definitions(discover_services(), vhost=broker.vhost)
    user = committed["users"][0]  # type: ignore[index]
    assert user["password_hash"] == ""
    name = f"{broker.tag}-nopw"
    _ctl("import_definitions", "-", stdin=json.dumps({"users": [{**user, "name": name}]}))
    try:
        for password in ("", "guest", "x"):
            url = f"amqp://{name}:{password}@{HOST}/{quote(broker.vhost, safe='')}"
            with pytest.raises(aiormq.exceptions.ProbableAuthenticationError):
                await aio_pika.connect(url, timeout=10)
    finally:
        subprocess.run([str(RABBITMQCTL), "delete_user", name], capture_output=True, timeout=60, check=False)


async def test_a_failed_delivery_goes_to_the_retry_queue_under_the_service_user(
    broker: Broker, connections: list[aio_pika.abc.AbstractConnection]
) -> None:
    import asyncio

    spec = next(d for d in discover_services() if d.name == "payment").spec
    assert spec is not None
    transport = AmqpTransport(broker.url("payment"))
    await transport.start()
    got: asyncio.Queue[Any] = asyncio.Queue()

    async def on_batch(batch: list[Any]) -> None:
        for delivery in batch:
            await got.put(delivery)

    try:
        await transport.declare_service_queue("sambang.payment", sorted(spec().handlers))
        await transport.consume("sambang.payment", on_batch)
        await _publish(broker, connections, "queue", "queue.application.cancelled")
        delivery = await asyncio.wait_for(got.get(), timeout=10)
        await delivery.retry("handler failed")
        assert (await transport.queue_depths("sambang.payment"))["retry"] == 1
    finally:
        await transport.close()
