"""Prometheus metrics of every service: HTTP latency, events, outbox lag."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_LATENCY = Histogram(
    "sambang_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter("sambang_events_published_total", "Events confirmed by the broker", ["service", "type"])
EVENTS_UNROUTABLE = Counter("sambang_events_unroutable_total", "Events no queue was bound to", ["service", "type"])
EVENTS_CONSUMED = Counter("sambang_events_consumed_total", "Events handled and committed", ["service", "type"])
EVENTS_DUPLICATE = Counter("sambang_events_duplicate_total", "Deliveries ignored by the inbox", ["service", "type"])
EVENTS_RETRIED = Counter("sambang_events_retried_total", "Deliveries sent to the retry queue", ["service", "type"])
BROADCAST_HANDLED = Counter(
    "sambang_broadcast_events_handled_total", "Events handled from this replica's fan-out queue", ["service", "type"]
)
BROADCAST_DROPPED = Counter(
    "sambang_broadcast_events_dropped_total", "Fan-out events given up after their attempts", ["service", "type"]
)
EVENTS_FORGED = Counter(
    "sambang_events_forged_total", "Events refused: their source is not the owner of their type", ["service", "type"]
)
EVENTS_PARKED = Counter("sambang_events_parked_total", "Deliveries moved to the parking queue", ["service", "type"])
OUTBOX_LAG = Gauge("sambang_outbox_lag_seconds", "Age of the oldest unpublished outbox event", ["service"])
OUTBOX_PENDING = Gauge("sambang_outbox_pending", "Unpublished events seen by the last relay round", ["service"])


class MetricsMiddleware:
    """Pure ASGI middleware recording request latency by route template (not raw path)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and label it with the matched route."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            HTTP_LATENCY.labels(self.service, scope.get("method", ""), template, str(status[0])).observe(
                time.perf_counter() - start
            )


async def metrics_endpoint(_request: Request) -> Response:
    """Prometheus text exposition of this process's registry."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
