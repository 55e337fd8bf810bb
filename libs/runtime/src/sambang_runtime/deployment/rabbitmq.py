"""RabbitMQ definitions (management import format) derived from each service's handler table.

Exchange, quorum queues, retry and parking queues and bindings; a user per service (no password: ``make
secrets`` writes the hashes into the git-ignored copy compose and the overlays load), its permissions on
the vhost and its topic permissions (it publishes only the routing keys of the event families it owns).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Mapping, Sequence

from ..bus.amqp import queue_arguments
from ..bus.transport import direct_exchange_name, parked_queue_name, retry_queue_name
from ..service import ServiceDescriptor
from .names import RABBITMQ_HASHING, defaults, published_families, rabbitmq_user


def rabbitmq_password_hash(password: str, salt: bytes | None = None) -> str:
    """The hash RabbitMQ keeps for a password (``rabbit_password_hashing_sha256``): base64 of a 4-byte salt
    followed by SHA-256 of salt and password."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode("utf-8")).digest()).decode("ascii")


def _alternatives(names: Sequence[str]) -> str:
    """A regex matching exactly one of ``names`` (``^$`` matches none of RabbitMQ's resource names)."""
    return "^(" + "|".join(re.escape(n) for n in names) + ")$" if names else "^$"


def bus_permissions(d: ServiceDescriptor, vhost: str = "/") -> tuple[dict[str, str], dict[str, str]]:
    """The vhost permissions and the topic permissions of one service's user.

    configure/write/read reach the exchange and the service's own queues only (its quorum, retry and
    parking queues, and its replicas' broadcast queues). Not ``amq.default``: publishing to the default
    exchange reaches every queue by name, around the topic permissions. The topic permissions let it
    publish only its own families' routing keys (``^queue\\.`` for queue) and bind only the keys its
    handlers consume.
    """
    runtime = defaults()
    spec = d.spec() if d.spec is not None else None
    handlers = sorted(spec.handlers) if spec is not None else []
    broadcast = sorted(spec.broadcast) if spec is not None else []
    queue = f"{runtime.queue_prefix}.{d.name}"
    own = [re.escape(runtime.exchange)]
    if handlers:
        # Its direct exchange: retries, parking and replays go through it (never amq.default).
        own += [
            re.escape(n)
            for n in (queue, retry_queue_name(queue), parked_queue_name(queue), direct_exchange_name(queue))
        ]
    if broadcast:
        own.append(re.escape(f"{queue}.broadcast.") + "[A-Za-z0-9_-]+")
    resources = "^(" + "|".join(own) + ")$"
    user = rabbitmq_user(d.name)
    families = published_families(d.name)
    if not families:
        write_keys = "^$"
    elif len(families) == 1:
        write_keys = f"^{re.escape(families[0])}\\."
    else:
        write_keys = "^(" + "|".join(re.escape(f) for f in families) + ")\\."
    permission = {"user": user, "vhost": vhost, "configure": resources, "write": resources, "read": resources}
    topic = {
        "user": user,
        "vhost": vhost,
        "exchange": runtime.exchange,
        "write": write_keys,
        "read": _alternatives(sorted({*handlers, *broadcast})),
    }
    return permission, topic


def _exchange(name: str, kind: str, vhost: str) -> dict[str, object]:
    return {
        "name": name,
        "vhost": vhost,
        "type": kind,
        "durable": True,
        "auto_delete": False,
        "internal": False,
        "arguments": {},
    }


def _binding(exchange: str, queue: str, key: str, vhost: str) -> dict[str, object]:
    return {
        "source": exchange,
        "vhost": vhost,
        "destination": queue,
        "destination_type": "queue",
        "routing_key": key,
        "arguments": {},
    }


def rabbitmq_definitions(
    services: Sequence[ServiceDescriptor],
    vhost: str = "/",
    passwords: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """RabbitMQ definitions (management plugin import format).

    Each service's user comes with an empty ``password_hash`` (it cannot log in) unless ``passwords``
    (service → password) gives its password: ``make secrets`` writes that copy, git-ignored.
    """
    runtime = defaults()
    queues: list[dict[str, object]] = []
    bindings: list[dict[str, object]] = []
    exchanges: list[dict[str, object]] = [_exchange(runtime.exchange, "topic", vhost)]
    users: list[dict[str, object]] = []
    permissions: list[dict[str, str]] = []
    topic_permissions: list[dict[str, str]] = []
    for d in services:
        password = (passwords or {}).get(d.name)
        users.append(
            {
                "name": rabbitmq_user(d.name),
                "password_hash": rabbitmq_password_hash(password) if password else "",
                "hashing_algorithm": RABBITMQ_HASHING,
                "tags": [],
            }
        )
        permission, topic = bus_permissions(d, vhost)
        permissions.append(permission)
        topic_permissions.append(topic)
        handlers = d.spec().handlers if d.spec is not None else {}
        if not handlers:
            continue
        name = f"{runtime.queue_prefix}.{d.name}"
        args = queue_arguments(name, delivery_limit=runtime.delivery_limit, retry_delay_ms=runtime.retry_delay_ms)
        direct = direct_exchange_name(name)
        exchanges.append(_exchange(direct, "direct", vhost))
        for qname, qargs in (
            (name, args["main"]),
            (retry_queue_name(name), args["retry"]),
            (parked_queue_name(name), args["parked"]),
        ):
            queues.append({"name": qname, "vhost": vhost, "durable": True, "auto_delete": False, "arguments": qargs})
            # Retries, parking and replays: the service's direct exchange, the queue's name as the key.
            bindings.append(_binding(direct, qname, qname, vhost))
        bindings.extend(_binding(runtime.exchange, name, key, vhost) for key in sorted(handlers))
    return {
        "vhosts": [{"name": vhost}],
        "users": users,
        "permissions": permissions,
        "topic_permissions": topic_permissions,
        "exchanges": exchanges,
        "queues": queues,
        "bindings": bindings,
    }
