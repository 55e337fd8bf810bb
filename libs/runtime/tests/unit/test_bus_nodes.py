"""A cluster's nodes in one broker URL, and asyncpg's form of a multi-host PostgreSQL URL."""

from __future__ import annotations

import pytest
from aio_pika.robust_connection import RobustConnection
from sambang_runtime.bus.nodes import DIAL, broker_nodes, node_label
from sambang_runtime.db import asyncpg_dsn


def test_one_node_comes_back_as_it_is() -> None:
    url = "amqps://svc:pw@rabbit:5671/office?cafile=/etc/sambang/tls/ca.pem"
    assert broker_nodes(url) == [url]


def test_a_node_list_becomes_one_url_per_node_with_the_same_credentials_vhost_and_query() -> None:
    nodes = broker_nodes("amqp://svc:p%40ss@a:5672,b:5673, c:5674/office?cafile=/ca.pem&heartbeat=30")
    assert nodes == [
        "amqp://svc:p%40ss@a:5672/office?cafile=/ca.pem&heartbeat=30",
        "amqp://svc:p%40ss@b:5673/office?cafile=/ca.pem&heartbeat=30",
        "amqp://svc:p%40ss@c:5674/office?cafile=/ca.pem&heartbeat=30",
    ]
    assert [node_label(n) for n in nodes] == ["a:5672", "b:5673", "c:5674"]


@pytest.mark.parametrize("url", ["amqp://u:p@a:5672,,b:5672/", "amqp://u:p@a:5672,/", "amqp://u:p@,a:5672/"])
def test_an_empty_node_is_an_error_not_a_node(url: str) -> None:
    with pytest.raises(ValueError, match="empty node"):
        broker_nodes(url)


def test_the_aio_pika_step_overridden_still_exists() -> None:
    # NodeListConnection replaces RobustConnection's private dialer: an aio-pika that renames it must
    # fail here, not silently dial only the first node.
    assert callable(getattr(RobustConnection, DIAL, None))


def test_a_multi_host_postgres_url_becomes_asyncpgs_host_list() -> None:
    url = "postgresql+asyncpg://svc:pw@/db?host=pg-1:5432&host=pg-2:5432&target_session_attrs=read-write"
    assert asyncpg_dsn(url) == "postgresql://svc:pw@pg-1:5432,pg-2:5432/db?target_session_attrs=read-write"


def test_single_host_and_socket_urls_are_unchanged() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://svc:pw@pg:5432/db") == "postgresql://svc:pw@pg:5432/db"
    assert asyncpg_dsn("postgresql+asyncpg://svc@/db?host=/run/pg") == "postgresql://svc@/db?host=%2Frun%2Fpg"
