"""The services' URLs find a live broker node and the writable PostgreSQL, on real servers.

The broker half uses the shared RabbitMQ behind a closed port; the database half makes a primary and a
synchronous standby of its own (``ownservers.postgres_pair``: initdb, pg_basebackup), crashes the
primary and promotes the standby (about 3 s). The cluster itself is proven in ``make test-faults``.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator

import aio_pika
import pytest
from sambang_runtime.bus.amqp import AmqpTransport
from sambang_runtime.bus.nodes import NodeListConnection, connect_nodes
from sambang_runtime.db import asyncpg_dsn, create_engine
from sambang_runtime.ownservers import PostgresPair, pg_bin, postgres_pair
from sambang_runtime.testing import Servers
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nobody listens once it is closed


def _with_dead_node_first(servers: Servers, dead: int) -> str:
    url = servers.amqp_url()  # amqp://guest:guest@127.0.0.1:5672/<vhost>
    scheme, rest = url.split("://", 1)
    userinfo, _, hostpath = rest.rpartition("@")
    host, _, path = hostpath.partition("/")
    return f"{scheme}://{userinfo}@127.0.0.1:{dead},{host}/{path}"


async def test_a_dead_first_node_is_passed_over(servers: Servers) -> None:
    dead = _closed_port()
    connection = await connect_nodes(_with_dead_node_first(servers, dead), timeout=5, shuffle=False)
    try:
        assert isinstance(connection, NodeListConnection)
        assert connection.node.port != dead
        assert str(connection.nodes[0].port) == str(dead)  # it was asked first
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await channel.default_exchange.publish(aio_pika.Message(b"hello"), routing_key=queue.name)
        message = await queue.get(timeout=5)
        assert message.body == b"hello"
    finally:
        await connection.close()


async def test_no_live_node_fails_fast_with_a_connection_error() -> None:
    url = f"amqp://guest:guest@127.0.0.1:{_closed_port()},127.0.0.1:{_closed_port()}/"
    started = time.monotonic()
    with pytest.raises(ConnectionError):
        await connect_nodes(url, timeout=5)
    assert time.monotonic() - started < 5


async def test_the_transport_publishes_through_a_node_list(servers: Servers) -> None:
    transport = AmqpTransport(
        _with_dead_node_first(servers, _closed_port()), exchange=f"sambang.events.nodes{time.time_ns()}"
    )
    await transport.start()
    try:
        assert transport.is_connected()
    finally:
        await transport.close()


@pytest.fixture(scope="module")
def pair() -> Iterator[PostgresPair]:
    try:
        pg_bin()
    except RuntimeError as exc:  # a machine with a PostgreSQL server elsewhere, not its binaries
        pytest.skip(str(exc))
    with postgres_pair() as p:
        yield p


async def test_a_multi_host_url_reaches_the_promoted_standby_with_every_committed_row(pair: PostgresPair) -> None:
    import asyncpg

    assert pair.psql(pair.primary, "SHOW synchronous_standby_names") == "standby"
    admin = await asyncpg.connect(asyncpg_dsn(pair.url))
    try:
        await admin.execute("CREATE DATABASE failover")
    finally:
        await admin.close()
    url = pair.url.replace("/postgres?", "/failover?")
    engine = create_engine(url, pool_size=2)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE booking (n int PRIMARY KEY)"))
        for n in range(200):  # each commit acknowledged only once the standby has it
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO booking VALUES (:n)"), {"n": n})
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT inet_server_port()")) == pair.primary.port
        await asyncio.to_thread(pair.kill_primary)
        with pytest.raises((DBAPIError, InterfaceError, OperationalError, OSError)):
            async with engine.begin() as conn:  # the pooled connection died with the primary
                await conn.execute(text("INSERT INTO booking VALUES (1000)"))
        await asyncio.to_thread(pair.promote)
        async with engine.begin() as conn:  # a new connection finds the writable one
            await conn.execute(text("INSERT INTO booking VALUES (1001)"))
            assert await conn.scalar(text("SELECT inet_server_port()")) == pair.standby.port
            assert await conn.scalar(text("SELECT count(*) FROM booking WHERE n < 200")) == 200
    finally:
        await engine.dispose()
