"""The SIMKIM adapter: HTTP calls with timeouts (and mTLS when configured), answers as protocol models.

Failures come back as two exceptions: ``SimkimUnavailable`` (timeout, refused connection, 5xx, 429 — worth
retrying, and counted by the circuit breaker) and ``SimkimRejected`` (any other 4xx — retrying the same
request cannot help).
"""

from __future__ import annotations

import ssl
from typing import TypeVar

import httpx
from pydantic import ValidationError

from ..protocol import (
    IDEMPOTENCY_KEY,
    ApplicationRecord,
    ApplicationSubmission,
    DecisionRequest,
    ViolationReceipt,
    ViolationReport,
)
from ..settings import GatewaySettings

M = TypeVar("M", ApplicationRecord, ViolationReceipt)


class SimkimUnavailable(Exception):
    """SIMKIM did not answer usefully (timeout, connection, 5xx, 429): retry later."""


class SimkimRejected(Exception):
    """SIMKIM refused the request itself (4xx): retrying the same request cannot help."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"HTTP {status} {code}")
        self.status = status
        self.code = code


def simkim_http_client(settings: GatewaySettings) -> httpx.AsyncClient:
    """The HTTP client towards SIMKIM: pooled, with timeouts, and mTLS when certificates are configured."""
    verify: ssl.SSLContext | bool = True
    if settings.simkim_ca_file is not None or settings.simkim_client_cert is not None:
        context = ssl.create_default_context(
            cafile=str(settings.simkim_ca_file) if settings.simkim_ca_file is not None else None
        )
        if settings.simkim_client_cert is not None and settings.simkim_client_key is not None:
            context.load_cert_chain(str(settings.simkim_client_cert), str(settings.simkim_client_key))
        verify = context
    timeout = httpx.Timeout(settings.request_timeout_seconds, connect=settings.connect_timeout_seconds)
    limits = httpx.Limits(max_connections=settings.concurrency * 2, max_keepalive_connections=settings.concurrency)
    return httpx.AsyncClient(base_url=settings.simkim_base_url, timeout=timeout, limits=limits, verify=verify)


class SimkimClient:
    """The calls the gateway makes to SIMKIM."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def submit(self, application: ApplicationSubmission) -> ApplicationRecord:
        """Send one application; the receipt number is the idempotency key, so a repeat is harmless."""
        response = await self._send(
            "POST",
            "/simkim/v1/applications",
            content=application.model_dump_json(),
            headers={IDEMPOTENCY_KEY: application.receipt_number},
        )
        return _parse(ApplicationRecord, response)

    async def application(self, reference: str) -> ApplicationRecord:
        """SIMKIM's record of one application (issuance shows here)."""
        return _parse(ApplicationRecord, await self._send("GET", f"/simkim/v1/applications/{reference}"))

    async def decide(self, reference: str, decision: DecisionRequest) -> ApplicationRecord:
        """Tell SIMKIM the head of office's decision on a hold."""
        response = await self._send(
            "POST", f"/simkim/v1/applications/{reference}/decision", content=decision.model_dump_json()
        )
        return _parse(ApplicationRecord, response)

    async def report_violation(self, report: ViolationReport) -> ViolationReceipt:
        """Forward a violation; its id is the idempotency key."""
        response = await self._send(
            "POST",
            "/simkim/v1/violations",
            content=report.model_dump_json(),
            headers={IDEMPOTENCY_KEY: report.violation_id},
        )
        return _parse(ViolationReceipt, response)

    async def _send(
        self, method: str, path: str, *, content: str | None = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        all_headers = {"Accept": "application/json", **(headers or {})}
        if content is not None:
            all_headers["Content-Type"] = "application/json"
        try:
            response = await self.http.request(method, path, content=content, headers=all_headers)
        except httpx.TimeoutException as exc:
            raise SimkimUnavailable(f"timeout ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise SimkimUnavailable(f"unreachable ({type(exc).__name__})") from None
        if response.status_code >= 500 or response.status_code in (408, 429):
            raise SimkimUnavailable(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise SimkimRejected(response.status_code, _problem_code(response))
        return response


def _problem_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "unknown"
    code = body.get("code") if isinstance(body, dict) else None
    return str(code)[:100] if code else "unknown"


def _parse(model: type[M], response: httpx.Response) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError:
        # A 2xx we cannot read: treat it like an outage (retry), never as a success.
        raise SimkimUnavailable(f"unreadable answer to HTTP {response.status_code}") from None
