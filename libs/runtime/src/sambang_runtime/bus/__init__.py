"""The bus: one interface, two transports (RabbitMQ and in-memory)."""

from .transport import (
    ATTEMPT_HEADER,
    Delivery,
    OutgoingMessage,
    PublishOutcome,
    Transport,
    TransportUnavailable,
    broadcast_queue_name,
    parked_queue_name,
    retry_queue_name,
    topic_matches,
)

__all__ = [
    "ATTEMPT_HEADER",
    "Delivery",
    "OutgoingMessage",
    "PublishOutcome",
    "Transport",
    "TransportUnavailable",
    "broadcast_queue_name",
    "parked_queue_name",
    "retry_queue_name",
    "topic_matches",
]
