"""The rendered RabbitMQ definitions hold on the real broker: each service's user publishes only its own
event families (topic permissions), reaches only its own queues, and never the default exchange (which
would deliver into any queue by name, around the topic permissions).

A throwaway vhost and users (the rendered ones, renamed) are imported with ``rabbitmqctl
import_definitions`` and removed afterwards. Skipped only where rabbitmqctl is absent.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import ssl
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


# -- amqps:// with the operator's CA (deploy/README.md) --------------------------------------------------


def _tls_files(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA of our own and a certificate it signs for localhost; the CA file and the server's TLS context."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sambang test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return ca_file, context


@pytest.fixture
async def tls_broker(tmp_path: Path) -> AsyncIterator[tuple[int, Path]]:
    """A TLS listener in front of the real broker (as RabbitMQ's own 5671 would be); its port, the CA file."""
    ca_file, context = _tls_files(tmp_path)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def relay(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        host, port = HOST.split(":")
        broker_reader, broker_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(pipe(client_reader, broker_writer), pipe(broker_reader, client_writer))

    server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, ca_file
    finally:
        server.close()


async def test_amqps_with_the_operators_ca_needs_no_runtime_code(broker: Broker, tls_broker: tuple[int, Path]) -> None:
    """`SAMBANG_AMQP_URL=amqps://...?cafile=<CA>` (what `make secrets BROKER=...` writes): the runtime's
    transport connects over TLS, verifying the broker against that CA, as the service's own user."""
    port, ca_file = tls_broker
    user = quote(broker.user(rabbitmq_user("queue")))
    password = quote(broker.passwords["queue"])
    vhost = quote(broker.vhost, safe="")
    transport = AmqpTransport(f"amqps://{user}:{password}@localhost:{port}/{vhost}?cafile={ca_file}")
    await transport.start()
    try:
        assert transport.is_connected()
        await transport.declare_service_queue("sambang.queue", [])
    finally:
        await transport.close()
    # Without the CA the broker's certificate is not trusted: no connection.
    untrusted = AmqpTransport(f"amqps://{user}:{password}@localhost:{port}/{vhost}")
    await untrusted.start()
    try:
        assert not untrusted.is_connected()
    finally:
        await untrusted.close()
