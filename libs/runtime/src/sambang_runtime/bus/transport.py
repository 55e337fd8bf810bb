"""The bus contract that both transports (RabbitMQ and in-memory) fulfil."""

from __future__ import annotations

import enum
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

#: Our own attempt counter. Quorum queues set ``x-delivery-count`` themselves on redelivery,
#: so retries counted by us live in a header of our own.
ATTEMPT_HEADER = "x-sambang-attempt"
PARK_REASON_HEADER = "x-sambang-park-reason"
ORIGINAL_KEY_HEADER = "x-sambang-routing-key"
CONTENT_TYPE = "application/cloudevents+json"


class TransportUnavailable(RuntimeError):
    """The broker cannot be reached now; the caller keeps its events and tries later."""


class PublishOutcome(enum.Enum):
    """What the broker said about one published message."""

    CONFIRMED = "confirmed"
    UNROUTABLE = "unroutable"  # returned as mandatory: no queue is bound to its key
    FAILED = "failed"  # nacked or not confirmed in time: to be published again


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One event ready to publish: its body is the CloudEvents JSON."""

    event_id: str
    event_type: str
    body: bytes
    subject: str | None = None
    office: str | None = None


@dataclass(slots=True)
class Delivery:
    """One message handed to a consumer; the transport fills the callbacks."""

    body: bytes
    event_id: str | None
    routing_key: str
    attempt: int
    headers: dict[str, object] = field(default_factory=dict)
    ack: Callable[[], Awaitable[None]] = field(default=lambda: _noop(), repr=False)
    #: Re-queue for a later try after the transport's retry delay, with ``attempt`` + 1.
    retry: Callable[[str], Awaitable[None]] = field(default=lambda _r: _noop(), repr=False)
    #: Move to the parking queue with a reason.
    park: Callable[[str], Awaitable[None]] = field(default=lambda _r: _noop(), repr=False)


async def _noop() -> None:
    return None


BatchCallback = Callable[[list[Delivery]], Awaitable[None]]


class Transport(Protocol):
    """What the outbox relay and the consumer need from a broker."""

    async def start(self) -> None:
        """Connect (and declare the exchange)."""

    async def close(self) -> None:
        """Stop consumers and disconnect."""

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishOutcome]:
        """Publish with confirms; raises TransportUnavailable when nothing could be sent."""

    async def declare_service_queue(self, queue: str, routing_keys: Sequence[str]) -> None:
        """Declare the service queue, its retry and parking queues, and bind the keys."""

    async def consume(self, queue: str, on_batch: BatchCallback) -> None:
        """Start delivering batches of messages of ``queue`` to ``on_batch``."""

    async def consume_broadcast(self, queue: str, routing_keys: Sequence[str], on_batch: BatchCallback) -> None:
        """Declare a queue of this replica alone (exclusive, deleted with its consumer), bind the keys, consume it.

        Every replica that does this gets its own copy of each matching event (fan-out), unlike the
        service queue, whose replicas compete. Nothing on it is retried or parked by the broker:
        ``retry`` and ``park`` of its deliveries only acknowledge.
        """

    async def stop_consuming(self, queue: str) -> None:
        """Stop the consumer of ``queue``; unacked messages go back, and a broadcast queue is deleted."""

    async def replay_parked(self, queue: str, limit: int | None = None) -> int:
        """Move parked messages back onto the service queue; returns how many."""

    async def queue_depths(self, queue: str) -> dict[str, int]:
        """Messages ready in the queue, its retry queue and its parking queue."""

    def is_connected(self) -> bool:
        """Whether the broker is reachable now."""

    def consumers_ready(self) -> bool:
        """Whether every consumer started with ``consume`` is registered and receiving."""


def retry_queue_name(queue: str) -> str:
    """The delayed retry queue of a service queue."""
    return f"{queue}.retry"


def direct_exchange_name(queue: str) -> str:
    """The service's own direct exchange, through which it moves a delivery to its main, retry or parking
    queue (routing key = the queue's name). Not the default exchange: a service's broker user may write
    only to exchanges of its own, and the default one reaches every queue by name."""
    return f"{queue}.direct"


def parked_queue_name(queue: str) -> str:
    """The parking queue of a service queue."""
    return f"{queue}.parked"


def broadcast_queue_name(queue: str, replica: str) -> str:
    """The per-replica fan-out queue of one replica of a service (declared at run time, never in definitions)."""
    return f"{queue}.broadcast.{replica}"


@lru_cache(maxsize=1024)
def _topic_regex(pattern: str) -> re.Pattern[str]:
    """AMQP topic semantics: ``*`` is exactly one word, ``#`` zero or more words."""
    words = pattern.split(".")
    parts: list[str] = []
    for i, word in enumerate(words):
        if word == "#":
            if len(words) == 1:
                parts.append(r"[^.]*(?:\.[^.]*)*|")
            elif i == 0:
                parts.append(r"(?:[^.]+\.)*")
            elif i == len(words) - 1:
                parts.append(r"(?:\.[^.]+)*")
            else:
                parts.append(r"(?:\.[^.]+)*\.")
            continue
        token = r"[^.]+" if word == "*" else re.escape(word)
        prev_hash = i > 0 and words[i - 1] == "#"
        if i > 0 and not prev_hash:
            parts.append(r"\.")
        parts.append(token)
    return re.compile("^(?:" + "".join(parts) + ")$")


def topic_matches(pattern: str, routing_key: str) -> bool:
    """Whether a routing key matches a binding pattern, as a RabbitMQ topic exchange decides."""
    return _topic_regex(pattern).match(routing_key) is not None
