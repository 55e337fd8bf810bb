"""The SIMKIM adapter: the one way the gateway calls SIMKIM.

``SimkimClient`` makes the HTTP calls (timeouts, and mTLS when configured) and answers with protocol models;
it fails with ``SimkimUnavailable`` (timeout, refused connection, 5xx, 429: worth retrying, and counted by
the circuit breaker) or ``SimkimRejected`` (any other 4xx: retrying the same request cannot help).

``GuardedSimkim.call`` is what every call path uses (submission, hold decision, issuance poll, violation):
it asks the breaker whether a call may go, makes the call, tells the breaker how it went, and sorts the
result into one of four outcomes, so no call path handles an exception of its own:

- ``Answered``: SIMKIM answered, with its answer;
- ``Retryable``: worth trying again after a backoff; ``outage`` when the breaker is now open (SIMKIM is
  down: spend no attempt, the breaker's closing wakes the work);
- ``Permanent``: retrying the same request cannot help (SIMKIM refused it; capture has no usable bundle);
- ``BreakerOpen``: no call went out; ask again at ``until``.

The breaker's state is one database row shared by every replica (``stores/breaker.py``); ``StoredBreaker``
reads and writes it in short transactions of its own, never around the HTTP call.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import httpx
from pydantic import ValidationError
from sambang_runtime.logs import get_logger
from sambang_runtime.uow import UnitOfWork

from ..domain import (
    Breaker,
    BreakerPolicy,
    BreakerState,
    Permit,
    breaker_after_failure,
    breaker_after_success,
    breaker_permit,
    breaker_probe_returned,
    breaker_probing,
)
from ..settings import GatewaySettings
from ..stores import breaker as breaker_store
from ..stores import submissions, violations
from .protocol import (
    IDEMPOTENCY_KEY,
    ApplicationRecord,
    ApplicationSubmission,
    DecisionRequest,
    ViolationReceipt,
    ViolationReport,
)

log = get_logger(__name__)
T = TypeVar("T")
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


# --- the outcomes of a guarded call --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answered(Generic[T]):
    """SIMKIM answered."""

    value: T


@dataclass(frozen=True, slots=True)
class Retryable:
    """Worth trying again after a backoff. ``outage``: SIMKIM is considered down (the breaker is open), so the
    failure spends no attempt and the breaker's closing wakes the work."""

    reason: str
    outage: bool = False


@dataclass(frozen=True, slots=True)
class Permanent:
    """Retrying the same request cannot help. ``detail`` is the refusal without the reason's prefix."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class BreakerOpen:
    """No call went out: SIMKIM is considered down; worth asking again at ``until``."""

    until: dt.datetime | None


Failure = Retryable | Permanent
Outcome = Answered[T] | Retryable | Permanent | BreakerOpen


class NotSent(Exception):
    """Raised by a request before it reached SIMKIM (capture's bundle could not be had, or did not match):
    the failure is not SIMKIM's, so the breaker does not count it."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.failure: Failure = Permanent(reason, reason) if permanent else Retryable(reason)


# --- the circuit breaker ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Gate:
    """The breaker's answer to "may a call go now": the permit, the breaker as it stands, and with WAIT,
    from when it is worth asking again."""

    permit: Permit
    breaker: Breaker
    until: dt.datetime | None = None


class BreakerGuard(Protocol):
    """The circuit breaker as a guarded call uses it (the stored one, or a test's)."""

    async def gate(self, seen: Breaker) -> Gate:
        """Whether a call may go: CALL, the one PROBE, or WAIT."""
        ...

    async def answered(self, seen: Breaker) -> None:
        """SIMKIM answered (with anything, a refusal included): it is up."""
        ...

    async def failed(self, *, probe: bool) -> bool:
        """SIMKIM failed: count it; whether SIMKIM is now considered down."""
        ...

    async def return_probe(self) -> None:
        """The probe never reached SIMKIM: let the next caller probe at once."""
        ...


class StoredBreaker:
    """The breaker in the database, shared by every replica; each step is one short transaction."""

    def __init__(self, uows: Callable[[], UnitOfWork], policy: BreakerPolicy, on_closed: Callable[[], None]) -> None:
        self._uows = uows
        self._policy = policy
        self._on_closed = on_closed

    async def gate(self, seen: Breaker) -> Gate:
        """``seen`` is the breaker as read when the work was claimed: closed, the call goes without another read."""
        if seen.state is BreakerState.CLOSED:
            return Gate(Permit.CALL, seen)
        async with self._uows() as uow:
            b = await breaker_store.read(uow)
            now = uow.now()
            permit, until = breaker_permit(b, now)
            if permit is not Permit.PROBE:
                return Gate(permit, b, until)
            probing = breaker_probing(b, now, self._policy)
            won = await breaker_store.take_probe(uow, probing)
            await uow.commit()
        if won:
            log.info("simkim.breaker_probing")
            return Gate(Permit.PROBE, probing)
        # Another replica is probing: look again after one open period, or at once when its probe succeeds.
        return Gate(Permit.WAIT, b, now + dt.timedelta(seconds=self._policy.open_seconds))

    async def answered(self, seen: Breaker) -> None:
        """Close the breaker if it was not, and wake everything it put off."""
        if breaker_after_success(seen) is seen:
            return  # closed with no failures when asked: nothing to write (the common case)
        async with self._uows() as uow:
            b = await breaker_store.lock(uow)
            closed = breaker_after_success(b)
            woken = 0
            if closed != b:
                await breaker_store.write(uow, closed)
                if b.state is not BreakerState.CLOSED:
                    woken = await submissions.wake_deferred(uow) + await violations.wake_deferred(uow)
            await uow.commit()
        if woken or b.state is not BreakerState.CLOSED:
            log.info("simkim.breaker_closed", woken=woken)
            self._on_closed()

    async def failed(self, *, probe: bool) -> bool:
        """Count the failure; open at the threshold (or again, after a failed probe)."""
        async with self._uows() as uow:
            b = await breaker_store.lock(uow)
            after = breaker_after_failure(b, uow.now(), self._policy, probe=probe)
            if after != b:
                await breaker_store.write(uow, after)
            await uow.commit()
        if after.state is BreakerState.OPEN and b.state is not BreakerState.OPEN:
            log.warning("simkim.breaker_opened", failures=after.failures, open_seconds=after.open_seconds)
        return after.state is not BreakerState.CLOSED

    async def return_probe(self) -> None:
        """Hand the probe back (it failed before SIMKIM, e.g. at capture)."""
        async with self._uows() as uow:
            b = await breaker_store.lock(uow)
            after = breaker_probe_returned(b, uow.now())
            if after != b:
                await breaker_store.write(uow, after)
            await uow.commit()


# --- the guarded call -------------------------------------------------------------------------------------


class GuardedSimkim:
    """SIMKIM behind the circuit breaker: every call the gateway makes goes through ``call``."""

    def __init__(self, client: SimkimClient, breaker: BreakerGuard) -> None:
        self.client = client
        self.breaker = breaker

    async def call(self, seen: Breaker, request: Callable[[SimkimClient], Awaitable[T]]) -> Outcome[T]:
        """Ask the breaker, run ``request`` (which may raise ``NotSent`` before it reaches SIMKIM), tell the
        breaker how it went, and sort the result. ``seen``: the breaker as read when the work was claimed."""
        gate = await self.breaker.gate(seen)
        if gate.permit is Permit.WAIT:
            return BreakerOpen(gate.until)
        probe = gate.permit is Permit.PROBE
        try:
            value = await request(self.client)
        except NotSent as exc:
            if probe:
                await self.breaker.return_probe()
            return exc.failure
        except SimkimUnavailable as exc:
            outage = await self.breaker.failed(probe=probe)
            return Retryable(f"simkim_unavailable: {exc}", outage=outage)
        except SimkimRejected as exc:
            await self.breaker.answered(gate.breaker)
            return Permanent(f"simkim_refused: {exc}", str(exc))
        except Exception:
            if probe:  # an unexpected error before SIMKIM answered: the next caller may probe
                await self.breaker.return_probe()
            raise
        await self.breaker.answered(gate.breaker)
        return Answered(value)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.http.aclose()
