"""The event consumers: the service queue's (batches in one transaction with their inbox rows, retries,
parking; replicas compete) and the broadcast queue's (every replica gets every event; no inbox, no outbox)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from sambang_contracts import CloudEvent, InvalidEvent, owner_of, parse_event

from .bus.transport import Delivery, Transport, TransportUnavailable, topic_matches
from .inbox import claim
from .logs import bind_context, get_logger
from .metrics import (
    BROADCAST_DROPPED,
    BROADCAST_HANDLED,
    EVENTS_CONSUMED,
    EVENTS_DUPLICATE,
    EVENTS_FORGED,
    EVENTS_PARKED,
    EVENTS_RETRIED,
)
from .sealing import SealingError, open_body
from .uow import UnitOfWork, UnitOfWorkFactory

log = get_logger(__name__)


def read_event(body: bytes, factory: UnitOfWorkFactory) -> CloudEvent[Any]:
    """A delivery's event with its sealed personal fields opened (sealing.py); InvalidEvent otherwise."""
    if factory.cipher is not None:
        try:
            body = open_body(body, factory.cipher)
        except SealingError as exc:
            raise InvalidEvent(str(exc), (("data", "sealed field does not open"),)) from None
    return parse_event(body)


def forged(ev: CloudEvent[Any]) -> str | None:
    """Why ``ev`` is refused: its ``source`` is not the owner of its type (anyone who can publish on the
    exchange could otherwise mark a bill paid); None when the owner sent it."""
    owner = owner_of(ev.type)
    if ev.source == owner:
        return None
    return f"forged source: {ev.source} may not publish {ev.type} (owner {owner or 'nobody'})"


Handler = Callable[[CloudEvent[Any], UnitOfWork], Awaitable[None]]
HandlerTable = Mapping[str, Sequence[Handler]]


class EventConsumer:
    """Applies a service's handler table to its queue; acknowledges only after commit.

    A prefetched batch is handled in one transaction with its inbox rows (the transaction,
    not the broker, is the cost). If the batch fails, each event is tried alone, so one
    poison event is retried and parked by itself while the rest commit.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        transport: Transport,
        *,
        queue: str,
        handlers: HandlerTable,
        service: str,
        max_retries: int = 5,
    ) -> None:
        self.uow_factory = uow_factory
        self.transport = transport
        self.queue = queue
        self.handlers = handlers
        self.service = service
        self.max_retries = max_retries
        self._resolve = lru_cache(maxsize=256)(self._handlers_for)

    @property
    def routing_keys(self) -> list[str]:
        """The queue bindings, derived from the handler table."""
        return sorted(self.handlers)

    def _handlers_for(self, event_type: str) -> tuple[Handler, ...]:
        found: list[Handler] = []
        for pattern, hs in self.handlers.items():
            if topic_matches(pattern, event_type):
                found.extend(hs)
        return tuple(found)

    async def start(self) -> None:
        """Declare the topology and start consuming."""
        await self.transport.declare_service_queue(self.queue, self.routing_keys)
        await self.transport.consume(self.queue, self.on_batch)

    async def on_batch(self, deliveries: list[Delivery]) -> None:
        """Handle a batch; malformed messages are parked at once, never dropped."""
        parsed: list[tuple[Delivery, CloudEvent[Any]]] = []
        for d in deliveries:
            try:
                ev = read_event(d.body, self.uow_factory)
            except InvalidEvent as exc:
                await self._park(d, None, f"malformed event: {exc}")
                continue
            why = forged(ev)
            if why is not None:
                EVENTS_FORGED.labels(self.service, ev.type).inc()
                log.warning("consumer.event_forged", event_id=ev.id, event_type=ev.type, source=ev.source)
                await self._park(d, ev, why)
                continue
            parsed.append((d, ev))
        if not parsed:
            return
        try:
            await self._apply(parsed)
        except Exception as exc:
            if len(parsed) == 1:
                await self._fail(*parsed[0], exc)
                return
            log.warning("consumer.batch_failed_isolating", size=len(parsed), error=type(exc).__name__)
            for item in parsed:
                try:
                    await self._apply([item])
                except Exception as one_exc:
                    await self._fail(*item, one_exc)
                else:
                    await self._ack(item[0])
            return
        for d, _ in parsed:
            await self._ack(d)

    async def _apply(self, items: Sequence[tuple[Delivery, CloudEvent[Any]]]) -> None:
        async with self.uow_factory() as uow:
            fresh = await claim(uow.session, self.uow_factory.tables.inbox, [(ev.id, ev.type) for _, ev in items])
            done: set[str] = set()
            for _, ev in items:
                if ev.id not in fresh or ev.id in done:
                    EVENTS_DUPLICATE.labels(self.service, ev.type).inc()
                    continue
                done.add(ev.id)
                uow.correlation_id = ev.id
                bind_context(event_id=ev.id, event_type=ev.type, receipt_number=ev.subject)
                for handler in self._resolve(ev.type):
                    await handler(ev, uow)
            await uow.commit()
        for _, ev in items:
            if ev.id in done:
                EVENTS_CONSUMED.labels(self.service, ev.type).inc()

    async def _ack(self, d: Delivery) -> None:
        await d.ack()

    async def _fail(self, d: Delivery, ev: CloudEvent[Any], exc: BaseException) -> None:
        reason = f"{type(exc).__name__}: {str(exc)[:300]}"
        if d.attempt < self.max_retries:
            log.warning(
                "consumer.handler_failed_retrying",
                event_id=ev.id,
                event_type=ev.type,
                attempt=d.attempt + 1,
                max_retries=self.max_retries,
                error=reason,
            )
            try:
                await d.retry(reason)
                EVENTS_RETRIED.labels(self.service, ev.type).inc()
            except TransportUnavailable:
                log.warning("consumer.retry_publish_failed", event_id=ev.id)
            return
        await self._park(d, ev, f"handler failed after {d.attempt + 1} attempts: {reason}")

    async def _park(self, d: Delivery, ev: CloudEvent[Any] | None, reason: str) -> None:
        event_type = ev.type if ev is not None else (d.routing_key or "unknown")
        log.error("consumer.event_parked", event_id=d.event_id, event_type=event_type, reason=reason)
        try:
            await d.park(reason)
            EVENTS_PARKED.labels(self.service, event_type).inc()
        except TransportUnavailable:
            # Not acknowledged either: the broker redelivers it when the connection is back.
            log.warning("consumer.park_publish_failed", event_id=d.event_id)


class BroadcastEmitted(RuntimeError):
    """A broadcast handler emitted an event: every replica would publish its own copy."""


class BroadcastConsumer:
    """Applies a service's broadcast table to this replica's own fan-out queue (ServiceSpec.broadcast).

    Every replica receives every matching event, so the work here is per replica: waking the live
    connections this process holds. No inbox: each replica handles each delivery, so handlers must be
    idempotent across replicas as well as redeliveries (a unique key in the service's tables). No outbox:
    a handler that emits is refused, since N replicas would publish N copies. Each event has a unit of
    work of its own, not one per batch: the replicas handle the same events at the same moment, and a
    transaction holding several events' locks while waiting for another replica's would deadlock with
    it. Events are handled in the order they came (a claim before its release), one after the other. An
    event that fails is tried up to ``attempts`` times, then dropped with an error log (the queue has no
    parking: it lives and dies with the replica).
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        transport: Transport,
        *,
        queue: str,
        handlers: HandlerTable,
        service: str,
        attempts: int = 3,
        retry_delay_seconds: float = 0.2,
    ) -> None:
        self.uow_factory = uow_factory
        self.transport = transport
        self.queue = queue
        self.handlers = handlers
        self.service = service
        self.attempts = max(1, attempts)
        self.retry_delay_seconds = retry_delay_seconds
        self._resolve = lru_cache(maxsize=256)(self._handlers_for)

    @property
    def routing_keys(self) -> list[str]:
        """The bindings of this replica's queue, derived from the broadcast table."""
        return sorted(self.handlers)

    def _handlers_for(self, event_type: str) -> tuple[Handler, ...]:
        return tuple(h for pattern, hs in self.handlers.items() if topic_matches(pattern, event_type) for h in hs)

    async def start(self) -> None:
        """Declare this replica's queue, bind it and start consuming."""
        await self.transport.consume_broadcast(self.queue, self.routing_keys, self.on_batch)

    async def stop(self) -> None:
        """Stop consuming; the broker deletes the queue."""
        await self.transport.stop_consuming(self.queue)

    async def on_batch(self, deliveries: list[Delivery]) -> None:
        """Handle each event of a batch in turn; a malformed message is logged and acknowledged (no parking)."""
        for d in deliveries:
            try:
                ev = read_event(d.body, self.uow_factory)
            except InvalidEvent as exc:
                log.error("consumer.broadcast_malformed_dropped", event_id=d.event_id, error=str(exc)[:300])
            else:
                why = forged(ev)
                if why is not None:
                    EVENTS_FORGED.labels(self.service, ev.type).inc()
                    log.warning(
                        "consumer.broadcast_forged_dropped", event_id=ev.id, event_type=ev.type, source=ev.source
                    )
                    await d.ack()
                    continue
                await self._apply_with_retries(ev)
            await d.ack()

    async def _apply(self, ev: CloudEvent[Any]) -> None:
        async with self.uow_factory(ev.id) as uow:
            bind_context(event_id=ev.id, event_type=ev.type, receipt_number=ev.subject)
            for handler in self._resolve(ev.type):
                await handler(ev, uow)
            if uow.events:
                raise BroadcastEmitted(f"a broadcast handler of {ev.type} emitted an event")
            await uow.commit()
        BROADCAST_HANDLED.labels(self.service, ev.type).inc()

    async def _apply_with_retries(self, ev: CloudEvent[Any]) -> None:
        error: BaseException | None = None
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.retry_delay_seconds * (2 ** (attempt - 1)))
            try:
                await self._apply(ev)
                return
            except BroadcastEmitted as exc:
                error = exc
                break  # emitting is a bug, not a hiccup: trying again emits again
            except Exception as exc:
                error = exc
        BROADCAST_DROPPED.labels(self.service, ev.type).inc()
        log.error(
            "consumer.broadcast_event_dropped",
            event_id=ev.id,
            event_type=ev.type,
            attempts=self.attempts,
            error=f"{type(error).__name__}: {str(error)[:300]}",
        )
