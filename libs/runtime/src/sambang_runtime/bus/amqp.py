"""RabbitMQ transport on aio-pika: confirms, mandatory publish, quorum queues, retry and parking."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustExchange,
    DeliveryMode,
)

from ..logs import get_logger
from .nodes import connect_nodes
from .transport import (
    ATTEMPT_HEADER,
    CONTENT_TYPE,
    ORIGINAL_KEY_HEADER,
    PARK_REASON_HEADER,
    BatchCallback,
    Delivery,
    OutgoingMessage,
    PublishOutcome,
    TransportUnavailable,
    direct_exchange_name,
    parked_queue_name,
    retry_queue_name,
)

log = get_logger(__name__)


@dataclass
class _Consumer:
    queue_name: str
    on_batch: BatchCallback
    channel: AbstractRobustChannel
    queue: AbstractQueue
    tag: str
    inbox: asyncio.Queue[AbstractIncomingMessage] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    #: A per-replica fan-out queue: no retry or parking queue behind it.
    broadcast: bool = False


def broadcast_queue_arguments(max_length: int) -> dict[str, Any]:
    """Arguments of a per-replica fan-out queue (classic: an exclusive queue cannot be a quorum queue)."""
    # Bounded: a replica that stalls drops its oldest live events instead of filling the broker's memory;
    # what a stream must not lose is kept by the service itself (the notifier records it in its database).
    return {"x-max-length": max_length, "x-overflow": "drop-head"}


def queue_arguments(queue: str, *, delivery_limit: int, retry_delay_ms: int) -> dict[str, dict[str, Any]]:
    """Arguments of a service's main, retry and parking queues (also exported as definitions)."""
    parked = parked_queue_name(queue)
    return {
        # Parking keeps whatever it gets; nothing expires from it.
        "parked": {"x-queue-type": "quorum"},
        "main": {
            "x-queue-type": "quorum",
            # A message that keeps killing its consumer is dead-lettered to parking by the broker.
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": parked,
            # at-least-once dead-lettering needs reject-publish overflow (RabbitMQ >= 3.10).
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
        "retry": {
            "x-queue-type": "quorum",
            "x-message-ttl": retry_delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    }


def _copy(msg: AbstractIncomingMessage, headers: dict[str, Any]) -> aio_pika.Message:
    """A persistent copy of a delivery with new headers (retry, parking, replay)."""
    return aio_pika.Message(
        msg.body,
        content_type=msg.content_type,
        message_id=msg.message_id,
        type=msg.type,
        delivery_mode=DeliveryMode.PERSISTENT,
        headers=headers,
    )


class AmqpTransport:
    """The production bus: one robust connection, a confirming publish channel, one channel per consumer."""

    def __init__(
        self,
        url: str,
        *,
        exchange: str = "sambang.events",
        prefetch: int = 200,
        batch_max: int = 100,
        retry_delay_ms: int = 5000,
        delivery_limit: int = 20,
        broadcast_max_length: int = 10000,
        watchdog_seconds: float = 2.0,
        # Generous: a broker under flow control confirms late, and a timeout means publishing again.
        publish_timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.exchange_name = exchange
        self.prefetch = prefetch
        self.batch_max = batch_max
        self.retry_delay_ms = retry_delay_ms
        self.delivery_limit = delivery_limit
        self.watchdog_seconds = watchdog_seconds
        self.broadcast_max_length = broadcast_max_length
        self.publish_timeout = publish_timeout
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractRobustExchange | None = None
        self._consumers: dict[str, _Consumer] = {}
        self._watchdog: asyncio.Task[None] | None = None
        self._connect_lock = asyncio.Lock()

    # -- connection ------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect once; when the broker is down, keep trying in the background."""
        try:
            await self._ensure_connected()
        except TransportUnavailable:
            log.warning("bus.broker_unreachable_at_start")
        if self._watchdog is None:
            self._watchdog = asyncio.create_task(self._watch(), name="amqp-watchdog")

    async def _ensure_connected(self) -> AbstractRobustExchange:
        if self._exchange is not None and self.is_connected():
            return self._exchange
        async with self._connect_lock:
            if self._connection is None:
                try:
                    # One node or a cluster's list of nodes (nodes.py): the next one answers when one is lost.
                    self._connection = await connect_nodes(
                        self.url,
                        client_properties={"connection_name": "sambang"},
                        timeout=5,
                        reconnect_interval=1,
                    )
                except (TimeoutError, OSError, aiormq.exceptions.AMQPError) as exc:
                    raise TransportUnavailable(f"cannot reach RabbitMQ: {type(exc).__name__}") from exc
            if self._channel is None:
                self._channel = await self._connection.channel(publisher_confirms=True)
                self._exchange = await self._channel.declare_exchange(
                    self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                )
            assert self._exchange is not None
            return self._exchange

    async def close(self) -> None:
        """Cancel consumers (unacked messages return to the queue) and disconnect."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            await asyncio.gather(self._watchdog, return_exceptions=True)
            self._watchdog = None
        for consumer in list(self._consumers.values()):
            if consumer.worker is not None:
                consumer.worker.cancel()
                await asyncio.gather(consumer.worker, return_exceptions=True)
            with contextlib.suppress(Exception):
                await consumer.channel.close()
        self._consumers.clear()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
        self._connection = self._channel = None
        self._exchange = None

    def is_connected(self) -> bool:
        """Whether the connection and the publish channel are open now."""
        c = self._connection
        return bool(
            c is not None
            and not c.is_closed
            and c.connected.is_set()
            and self._channel is not None
            and not self._channel.is_closed
        )

    def consumers_ready(self) -> bool:
        """Whether each consumer's tag is registered on an open channel (what /readyz reports)."""
        return self.is_connected() and all(self._consumer_registered(c) for c in self._consumers.values())

    @staticmethod
    def _consumer_registered(consumer: _Consumer) -> bool:
        if consumer.channel.is_closed:
            return False
        try:
            # aio-pika keeps no public view of the broker-side consumers of a channel;
            # the underlying aiormq channel does.
            underlay = getattr(consumer.channel, "_channel", None)
            return underlay is not None and consumer.tag in underlay.channel.consumers
        except (AttributeError, aiormq.exceptions.ChannelInvalidStateError):
            return False

    async def _watch(self) -> None:
        """Re-consume when a channel came back without its consumer (aio-pika #231, #626, #632)."""
        while True:
            await asyncio.sleep(self.watchdog_seconds)
            try:
                if self._connection is None:
                    await self._ensure_connected()
                    continue
                if not self.is_connected():
                    continue
                for consumer in list(self._consumers.values()):
                    if not consumer.channel.is_closed and not self._consumer_registered(consumer):
                        log.warning("bus.consumer_missing_reconsuming", queue=consumer.queue_name)
                        consumer.tag = await consumer.queue.consume(
                            self._on_message(consumer), consumer_tag=consumer.tag
                        )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the watchdog must outlive any single failure
                log.warning("bus.watchdog_error", error=type(exc).__name__)

    # -- topology ----------------------------------------------------------------------------
    async def declare_service_queue(self, queue: str, routing_keys: Sequence[str]) -> None:
        """Quorum queue with a delivery limit, delayed retry queue and parking queue, bound to the keys."""
        await self._ensure_connected()
        assert self._channel is not None and self._exchange is not None
        ch = self._channel
        args = queue_arguments(queue, delivery_limit=self.delivery_limit, retry_delay_ms=self.retry_delay_ms)
        parked = await ch.declare_queue(parked_queue_name(queue), durable=True, arguments=args["parked"])
        main = await ch.declare_queue(queue, durable=True, arguments=args["main"])
        retry = await ch.declare_queue(retry_queue_name(queue), durable=True, arguments=args["retry"])
        for key in routing_keys:
            await main.bind(self._exchange, routing_key=key)
        # Retries, parking and replays go through the service's own direct exchange (see its name's doc).
        direct = await ch.declare_exchange(direct_exchange_name(queue), aio_pika.ExchangeType.DIRECT, durable=True)
        for q in (main, retry, parked):
            await q.bind(direct, routing_key=q.name)

    # -- publishing ----------------------------------------------------------------------------
    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishOutcome]:
        """Publish all messages at once (pipelined), then wait for every confirm."""
        await self._ensure_connected()
        if not self.is_connected():
            raise TransportUnavailable("RabbitMQ connection is down")
        assert self._channel is not None
        channel = await self._channel.get_underlay_channel()
        # aiormq's own basic_publish with wait=False: aio-pika's publish holds the channel lock until
        # each frame is flushed, so a batch costs an event-loop turn per message, and on a loop busy
        # with HTTP requests that stretched a 250-event batch to 18 s. Confirms are still awaited.
        # One deadline for the whole batch, not a timer per message; what is not confirmed by then
        # is cancelled and counts as not confirmed.
        tasks = [
            asyncio.ensure_future(
                channel.basic_publish(  # type: ignore[call-arg]  # wait= exists on aiormq.Channel
                    m.body,
                    exchange=self.exchange_name,
                    routing_key=m.event_type,
                    properties=self._properties(m),
                    mandatory=True,
                    wait=False,
                )
            )
            for m in messages
        ]
        _done, late = await asyncio.wait(tasks, timeout=self.publish_timeout)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
        results: list[Any] = [
            TimeoutError("not confirmed in time") if t.cancelled() else (t.exception() or t.result()) for t in tasks
        ]
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures and len(failures) == len(results):
            # Nothing got through (a dropped connection): the caller keeps every row.
            raise TransportUnavailable(f"publish not confirmed: {type(failures[0]).__name__}") from failures[0]
        if failures:
            # Some confirmed, some not (a nack, or a broker slowed by flow control past the timeout):
            # only the unconfirmed ones are published again.
            log.warning(
                "bus.publish_partly_unconfirmed",
                failed=len(failures),
                of=len(results),
                error=type(failures[0]).__name__,
            )
        outcomes: list[PublishOutcome] = []
        for r in results:
            if isinstance(r, BaseException):
                outcomes.append(PublishOutcome.FAILED)
            elif isinstance(r, aiormq.abc.DeliveredMessage):
                outcomes.append(PublishOutcome.UNROUTABLE)
            else:
                outcomes.append(PublishOutcome.CONFIRMED)
        return outcomes

    @staticmethod
    def _properties(m: OutgoingMessage) -> aiormq.spec.Basic.Properties:
        return aiormq.spec.Basic.Properties(
            content_type=CONTENT_TYPE,
            message_id=m.event_id,
            message_type=m.event_type,
            delivery_mode=DeliveryMode.PERSISTENT.value,
            headers={"subject": m.subject, "office": m.office, ATTEMPT_HEADER: 0},
        )

    async def _republish(
        self, service_queue: str, routing_queue: str, msg: AbstractIncomingMessage, headers: dict[str, Any]
    ) -> None:
        """Publish a copy of a delivery to one of the service's queues (its direct exchange), confirmed."""
        await self._ensure_connected()
        assert self._channel is not None
        direct = await self._channel.get_exchange(direct_exchange_name(service_queue), ensure=False)
        result = await direct.publish(
            _copy(msg, headers), routing_key=routing_queue, mandatory=True, timeout=self.publish_timeout
        )
        if isinstance(result, aiormq.abc.DeliveredMessage):
            raise TransportUnavailable(f"queue {routing_queue} does not exist")

    # -- consuming ------------------------------------------------------------------------------
    async def consume(self, queue: str, on_batch: BatchCallback) -> None:
        """Own channel with a bounded prefetch; one worker drains what arrived into batches."""
        if queue in self._consumers:
            raise RuntimeError(f"queue {queue} already has a consumer in this transport")
        await self._ensure_connected()
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=self.prefetch)
        q = await channel.get_queue(queue, ensure=True)
        consumer = _Consumer(queue, on_batch, channel, q, tag="")
        consumer.tag = await q.consume(self._on_message(consumer))
        consumer.worker = asyncio.create_task(self._work(consumer), name=f"consume:{queue}")
        self._consumers[queue] = consumer

    async def consume_broadcast(self, queue: str, routing_keys: Sequence[str], on_batch: BatchCallback) -> None:
        """Exclusive, auto-delete queue of this replica, declared and bound on its consumer's own channel.

        Declared (not looked up) on the robust consumer channel, so after a reconnect aio-pika declares it
        again with its bindings and consumer: the broker deleted it when the old connection closed.
        """
        if queue in self._consumers:
            raise RuntimeError(f"queue {queue} already has a consumer in this transport")
        await self._ensure_connected()
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=self.prefetch)
        exchange = await channel.declare_exchange(self.exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        q = await channel.declare_queue(
            queue,
            durable=False,
            exclusive=True,
            auto_delete=True,
            arguments=broadcast_queue_arguments(self.broadcast_max_length),
        )
        for key in routing_keys:
            await q.bind(exchange, routing_key=key)
        consumer = _Consumer(queue, on_batch, channel, q, tag="", broadcast=True)
        consumer.tag = await q.consume(self._on_message(consumer))
        consumer.worker = asyncio.create_task(self._work(consumer), name=f"consume:{queue}")
        self._consumers[queue] = consumer

    async def stop_consuming(self, queue: str) -> None:
        """Cancel one consumer and close its channel: unacked messages go back, an auto-delete queue goes."""
        consumer = self._consumers.pop(queue, None)
        if consumer is None:
            return
        if consumer.worker is not None:
            consumer.worker.cancel()
            await asyncio.gather(consumer.worker, return_exceptions=True)
        with contextlib.suppress(Exception):
            await consumer.queue.cancel(consumer.tag)
        with contextlib.suppress(Exception):
            await consumer.channel.close()

    def _on_message(self, consumer: _Consumer) -> Any:
        async def on_message(message: AbstractIncomingMessage) -> None:
            consumer.inbox.put_nowait(message)

        return on_message

    async def _work(self, consumer: _Consumer) -> None:
        while True:
            first = await consumer.inbox.get()
            batch = [first]
            while len(batch) < self.batch_max and not consumer.inbox.empty():
                batch.append(consumer.inbox.get_nowait())
            try:
                await consumer.on_batch([self._delivery(consumer, m) for m in batch])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let one bad batch stop the consumer
                log.error("bus.batch_callback_failed", queue=consumer.queue_name, error=type(exc).__name__)

    def _delivery(self, consumer: _Consumer, msg: AbstractIncomingMessage) -> Delivery:
        headers: dict[str, Any] = dict(msg.headers or {})
        try:
            attempt = int(str(headers.get(ATTEMPT_HEADER, 0) or 0))
        except ValueError:
            attempt = 0

        async def ack() -> None:
            try:
                await msg.ack()
            except (aiormq.exceptions.AMQPError, RuntimeError) as exc:
                # The channel died under us; the broker redelivers and the inbox drops the copy.
                log.warning("bus.ack_failed", queue=consumer.queue_name, error=type(exc).__name__)

        if consumer.broadcast:
            # A per-replica queue has no retry or parking queue: giving up means acknowledging.
            async def drop(_reason: str) -> None:
                await ack()

            return Delivery(msg.body, msg.message_id, msg.routing_key or "", attempt, headers, ack, drop, drop)

        async def retry(reason: str) -> None:
            new_headers = {**headers, ATTEMPT_HEADER: attempt + 1}
            await self._republish(consumer.queue_name, retry_queue_name(consumer.queue_name), msg, new_headers)
            await ack()

        async def park(reason: str) -> None:
            new_headers = {**headers, PARK_REASON_HEADER: reason[:500], ORIGINAL_KEY_HEADER: msg.routing_key or ""}
            await self._republish(consumer.queue_name, parked_queue_name(consumer.queue_name), msg, new_headers)
            await ack()

        return Delivery(msg.body, msg.message_id, msg.routing_key or "", attempt, headers, ack, retry, park)

    # -- tooling ---------------------------------------------------------------------------------
    async def replay_parked(self, queue: str, limit: int | None = None) -> int:
        """Move parked messages back onto the service queue, attempt count reset; confirmed before ack."""
        await self._ensure_connected()
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=True)
        try:
            parked = await channel.get_queue(parked_queue_name(queue), ensure=True)
            direct = await channel.get_exchange(direct_exchange_name(queue), ensure=False)
            moved = 0
            while limit is None or moved < limit:
                msg = await parked.get(no_ack=False, fail=False, timeout=5)
                if msg is None:
                    break
                headers = dict(msg.headers or {})
                headers[ATTEMPT_HEADER] = 0
                headers.pop(PARK_REASON_HEADER, None)
                headers.pop("x-death", None)
                await direct.publish(_copy(msg, headers), routing_key=queue, mandatory=True)
                await msg.ack()
                moved += 1
            return moved
        finally:
            await channel.close()

    async def queue_depths(self, queue: str) -> dict[str, int]:
        """Ready messages in the service, retry and parking queues (passive declares)."""
        await self._ensure_connected()
        assert self._connection is not None
        channel = await self._connection.channel(publisher_confirms=False)
        try:
            depths: dict[str, int] = {}
            for label, name in (
                ("ready", queue),
                ("retry", retry_queue_name(queue)),
                ("parked", parked_queue_name(queue)),
            ):
                q = await channel.declare_queue(name, passive=True)
                depths[label] = int(q.declaration_result.message_count or 0)
            return depths
        finally:
            await channel.close()
