"""An in-process broker with RabbitMQ's routing semantics, for the embedded mode and tests.

It keeps what matters for correctness: topic routing with ``*`` and ``#``, mandatory publish
(unroutable is reported), per-queue prefetch, unacked messages redelivered when a consumer
stops, a broker-side delivery limit that dead-letters to the parking queue, a delayed retry
path, replay of parked messages, and per-replica broadcast queues deleted with their consumer.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from .transport import (
    ATTEMPT_HEADER,
    ORIGINAL_KEY_HEADER,
    PARK_REASON_HEADER,
    BatchCallback,
    Delivery,
    OutgoingMessage,
    PublishOutcome,
    TransportUnavailable,
    parked_queue_name,
    topic_matches,
)


@dataclass(slots=True)
class _Message:
    body: bytes
    event_id: str | None
    routing_key: str
    headers: dict[str, object]
    delivery_count: int = 0
    tag: int = 0


@dataclass(slots=True)
class _Queue:
    name: str
    bindings: set[str] = field(default_factory=set)
    ready: deque[_Message] = field(default_factory=deque)
    unacked: dict[int, _Message] = field(default_factory=dict)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    delivery_limit: int | None = None
    dead_letter_to: str | None = None
    #: A per-replica fan-out queue: no retry or parking, deleted when its consumer stops.
    broadcast: bool = False


class InMemoryBroker:
    """One broker shared by every service of the process (embedded mode)."""

    def __init__(
        self, *, retry_delay_ms: int = 5000, delivery_limit: int = 20, prefetch: int = 200, batch_max: int = 100
    ) -> None:
        self.retry_delay = retry_delay_ms / 1000
        self.delivery_limit = delivery_limit
        self.prefetch = prefetch
        self.batch_max = batch_max
        self._queues: dict[str, _Queue] = {}
        self._consumers: dict[str, asyncio.Task[None]] = {}
        self._tags = itertools.count(1)
        self._available = True
        #: Event ids whose next publish is refused (nacked), for tests of partial failures.
        self.nack_once: set[str] = set()
        self._timers: set[asyncio.TimerHandle] = set()

    # -- fault injection for tests ------------------------------------------------------
    def set_available(self, available: bool) -> None:
        """Simulate a broker outage: publishing fails while unavailable."""
        self._available = available

    async def kill_consumer(self, queue: str) -> None:
        """Simulate a crashed consumer: its unacked messages go back to the queue."""
        task = self._consumers.pop(queue, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if queue in self._queues:
            self._requeue_unacked(self._queues[queue])

    # -- Transport -----------------------------------------------------------------------
    async def start(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Stop every consumer; unacked messages return to their queues (broadcast queues go)."""
        for name in list(self._consumers):
            await self.stop_consuming(name)
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def is_connected(self) -> bool:
        """Whether the (simulated) broker is up."""
        return self._available

    def consumers_ready(self) -> bool:
        """Every started consumer task is alive."""
        return all(not t.done() for t in self._consumers.values())

    async def declare_service_queue(self, queue: str, routing_keys: Sequence[str]) -> None:
        """Declare the queue with its parking queue and bind the keys (idempotent)."""
        if not self._available:
            raise TransportUnavailable("in-memory broker is down (simulated)")
        q = self._queues.get(queue)
        if q is None:
            q = self._queues[queue] = _Queue(
                queue, delivery_limit=self.delivery_limit, dead_letter_to=parked_queue_name(queue)
            )
        q.bindings.update(routing_keys)
        parked = parked_queue_name(queue)
        self._queues.setdefault(parked, _Queue(parked))

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishOutcome]:
        """Route each message to every queue whose binding matches its type."""
        if not self._available:
            raise TransportUnavailable("in-memory broker is down (simulated)")
        outcomes: list[PublishOutcome] = []
        for m in messages:
            if m.event_id in self.nack_once:
                self.nack_once.discard(m.event_id)
                outcomes.append(PublishOutcome.FAILED)
                continue
            targets = [q for q in self._queues.values() if any(topic_matches(b, m.event_type) for b in q.bindings)]
            for q in targets:
                headers: dict[str, object] = {ATTEMPT_HEADER: 0, "subject": m.subject, "office": m.office}
                self._put(q, _Message(m.body, m.event_id, m.event_type, headers))
            outcomes.append(PublishOutcome.CONFIRMED if targets else PublishOutcome.UNROUTABLE)
        await asyncio.sleep(0)
        return outcomes

    async def consume(self, queue: str, on_batch: BatchCallback) -> None:
        """Start a task that hands ready messages to ``on_batch`` in batches."""
        q = self._queues[queue]
        old = self._consumers.get(queue)
        if old is not None and not old.done():
            raise RuntimeError(f"queue {queue} already has a consumer in this process")
        self._consumers[queue] = asyncio.create_task(self._consume_loop(q, on_batch), name=f"consume:{queue}")

    async def consume_broadcast(self, queue: str, routing_keys: Sequence[str], on_batch: BatchCallback) -> None:
        """A queue of this replica alone, bound to the keys: every replica's queue gets every matching event."""
        if not self._available:
            raise TransportUnavailable("in-memory broker is down (simulated)")
        if queue in self._queues:
            # Like RabbitMQ's exclusive queues: a second declarer of the same name is refused.
            raise RuntimeError(f"broadcast queue {queue} already exists")
        self._queues[queue] = _Queue(queue, bindings=set(routing_keys), broadcast=True)
        await self.consume(queue, on_batch)

    async def stop_consuming(self, queue: str) -> None:
        """Stop one consumer; its unacked messages go back, and a broadcast queue is deleted (auto-delete)."""
        q = self._queues.get(queue)
        if q is None:
            return
        await self.kill_consumer(queue)
        if q.broadcast:
            del self._queues[queue]

    async def replay_parked(self, queue: str, limit: int | None = None) -> int:
        """Put parked messages back on the service queue with a fresh attempt count."""
        parked = self._queues[parked_queue_name(queue)]
        target = self._queues[queue]
        moved = 0
        while parked.ready and (limit is None or moved < limit):
            m = parked.ready.popleft()
            m.headers[ATTEMPT_HEADER] = 0
            m.headers.pop(PARK_REASON_HEADER, None)
            m.delivery_count = 0
            self._put(target, m)
            moved += 1
        return moved

    async def queue_depths(self, queue: str) -> dict[str, int]:
        """Ready messages per queue (retrying messages wait in timers, counted as retry)."""
        q = self._queues.get(queue)
        parked = self._queues.get(parked_queue_name(queue))
        return {
            "ready": len(q.ready) + len(q.unacked) if q else 0,
            "retry": sum(1 for _ in self._timers),
            "parked": len(parked.ready) if parked else 0,
        }

    # -- internals -----------------------------------------------------------------------
    def _put(self, q: _Queue, m: _Message) -> None:
        q.ready.append(m)
        q.wakeup.set()

    def _requeue_unacked(self, q: _Queue) -> None:
        # Like RabbitMQ, messages of a dead consumer go back to the head of the queue.
        for m in sorted(q.unacked.values(), key=lambda x: x.tag, reverse=True):
            q.ready.appendleft(m)
        q.unacked.clear()
        q.wakeup.set()

    async def _consume_loop(self, q: _Queue, on_batch: BatchCallback) -> None:
        while True:
            while not q.ready or len(q.unacked) >= self.prefetch:
                q.wakeup.clear()
                await q.wakeup.wait()
            batch: list[Delivery] = []
            while q.ready and len(q.unacked) < self.prefetch and len(batch) < self.batch_max:
                m = q.ready.popleft()
                m.delivery_count += 1
                if q.delivery_limit is not None and m.delivery_count > q.delivery_limit:
                    # The broker's own limit: a message that keeps killing consumers is parked.
                    m.headers[PARK_REASON_HEADER] = "delivery limit exceeded"
                    self._put(self._queues[q.dead_letter_to or parked_queue_name(q.name)], m)
                    continue
                m.tag = next(self._tags)
                q.unacked[m.tag] = m
                batch.append(self._delivery(q, m))
            if batch:
                await on_batch(batch)

    def _delivery(self, q: _Queue, m: _Message) -> Delivery:
        attempt = int(str(m.headers.get(ATTEMPT_HEADER, 0)))

        async def ack() -> None:
            q.unacked.pop(m.tag, None)
            q.wakeup.set()

        if q.broadcast:
            # A per-replica queue has no retry or parking path: giving up means acknowledging.
            return Delivery(m.body, m.event_id, m.routing_key, attempt, dict(m.headers), ack, _drop(ack), _drop(ack))

        async def retry(reason: str) -> None:
            if q.unacked.pop(m.tag, None) is None:
                return
            q.wakeup.set()
            m.headers[ATTEMPT_HEADER] = attempt + 1
            m.delivery_count = 0
            loop = asyncio.get_running_loop()

            def back() -> None:
                self._timers.discard(timer)
                self._put(q, m)

            timer = loop.call_later(self.retry_delay, back)
            self._timers.add(timer)

        async def park(reason: str) -> None:
            if q.unacked.pop(m.tag, None) is None:
                return
            q.wakeup.set()
            m.headers[PARK_REASON_HEADER] = reason[:500]
            m.headers[ORIGINAL_KEY_HEADER] = m.routing_key
            self._put(self._queues[parked_queue_name(q.name)], m)

        return Delivery(m.body, m.event_id, m.routing_key, attempt, dict(m.headers), ack, retry, park)


def _drop(ack: Callable[[], Awaitable[None]]) -> Callable[[str], Awaitable[None]]:
    async def drop(_reason: str) -> None:
        await ack()

    return drop
