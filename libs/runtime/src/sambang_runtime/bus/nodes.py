"""A RabbitMQ cluster behind one URL: ``amqp://user:pw@node1:5672,node2:5672,node3:5672/vhost?cafile=...``.

A client talks to one node at a time; quorum queues live on every node, so any node serves any queue.
The URL names the nodes as a comma list of ``host:port`` (the form PostgreSQL's and MongoDB's URLs
use), with one set of credentials, one vhost and one query for them all. ``connect_nodes`` connects to
the first node that answers, starting at a random one so a service's replicas spread over the cluster,
and when its node goes away it moves on to the next instead of waiting for the lost one to return.

Why a subclass of aio-pika's ``RobustConnection``: the robust connection restores channels, exchanges,
queues and consumers after a reconnect, which is what the transport relies on; it only ever dials one
URL. aio-pika has no node list (mosquito/aio-pika#141 is open since 2018), so ``NodeListConnection``
replaces the one step that dials (``RobustConnection.__connect_transport``, name-mangled) with a loop
over the nodes. aio-pika is pinned; ``tests/unit/test_bus_nodes.py`` fails if that step is renamed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aio_pika.abc import AbstractRobustConnection
from aio_pika.connection import make_url
from aio_pika.exceptions import CONNECTION_EXCEPTIONS
from aio_pika.robust_connection import RobustConnection
from yarl import URL

from ..logs import get_logger

log = get_logger(__name__)

#: The aio-pika step ``NodeListConnection`` overrides (the robust connection's private dialer).
DIAL = "_RobustConnection__connect_transport"


def broker_nodes(url: str) -> list[str]:
    """One URL per node of ``url``: ``amqp://u:p@a:5672,b:5673/v?q`` → ``amqp://u:p@a:5672/v?q``, ``...@b:5673/v?q``.

    A URL naming one node comes back as it is. An empty item (``a:5672,,b``) is an error, not a node.
    """
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    if "," not in hosts:
        return [url]
    nodes = [h.strip() for h in hosts.split(",")]
    if any(not h for h in nodes):
        raise ValueError("the broker URL lists an empty node (two commas, or a comma at an end)")
    return [urlunsplit(parts._replace(netloc=f"{userinfo}{at}{h}")) for h in nodes]


def node_label(url: URL | str) -> str:
    """``host:port`` of a node URL, for logs (never the credentials)."""
    u = URL(str(url))
    return f"{u.host}:{u.port}"


class NodeListConnection(RobustConnection):
    """A robust connection that dials the next node of a list when the current one does not answer."""

    def __init__(
        self,
        url: URL,
        loop: asyncio.AbstractEventLoop | None = None,
        *,
        nodes: Sequence[URL] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(url, loop=loop, **kwargs)
        self.nodes: list[URL] = list(nodes) or [URL(url)]
        self._at = self.nodes.index(URL(url)) if URL(url) in self.nodes else 0

    @property
    def node(self) -> URL:
        """The node this connection dials first (the one it is connected to, once connected)."""
        return self.nodes[self._at]

    async def _RobustConnection__connect_transport(self) -> None:
        """Dial each node once, from the current one on; raise the last failure if none answered."""
        dial = getattr(super(), DIAL)
        last: BaseException | None = None
        for _ in range(len(self.nodes)):
            self.url = self.nodes[self._at]
            try:
                await dial()
            except CONNECTION_EXCEPTIONS as exc:
                last = exc
                if len(self.nodes) > 1:
                    log.warning("bus.node_unreachable", node=node_label(self.url), error=type(exc).__name__)
                self._at = (self._at + 1) % len(self.nodes)
                continue
            if len(self.nodes) > 1:
                log.info("bus.node_connected", node=node_label(self.url))
            return
        assert last is not None
        raise last


async def connect_nodes(
    url: str,
    *,
    timeout: float | None = None,  # noqa: ASYNC109 - each node's attempt, passed to aio-pika
    reconnect_interval: float = 1.0,
    client_properties: dict[str, Any] | None = None,
    shuffle: bool = True,
) -> AbstractRobustConnection:
    """A robust connection to the first node of ``url`` that answers (see the module's docstring).

    ``timeout`` bounds each node's attempt; the first connect fails only when no node answers.
    ``shuffle`` starts at a random node (replicas spread over the cluster); tests pass ``False``.
    """
    nodes = [make_url(n, reconnect_interval=reconnect_interval, fail_fast="1") for n in broker_nodes(url)]
    first = random.randrange(len(nodes)) if shuffle else 0
    connection = NodeListConnection(nodes[first], nodes=nodes, client_properties=client_properties)
    await connection.connect(timeout=timeout)
    return connection
