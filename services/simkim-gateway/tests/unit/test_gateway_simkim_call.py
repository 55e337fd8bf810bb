"""The one guarded SIMKIM call: breaker asked first, every answer and failure sorted into one outcome, the
breaker told how it went. SIMKIM is an httpx mock transport, the breaker a recording fake: milliseconds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx
import pytest
from sambang_simkim_gateway.adapters.protocol import ApplicationRecord
from sambang_simkim_gateway.adapters.simkim import (
    Answered,
    BreakerOpen,
    Gate,
    GuardedSimkim,
    NotSent,
    Outcome,
    Permanent,
    Retryable,
    SimkimClient,
)
from sambang_simkim_gateway.domain import Breaker, BreakerState, Permit

NOW = dt.datetime(2026, 12, 7, 3, 0, tzinfo=dt.UTC)
RECORD = {
    "reference": "SKM0000000000001",
    "receipt_number": "BLT2612070000012",
    "status": "ACCEPTED",
    "received_at": "2026-12-07T03:00:00Z",
}


class FakeBreaker:
    """Answers the gate with a fixed permit and records what it is told."""

    def __init__(self, permit: Permit = Permit.CALL, *, open_after_failure: bool = False) -> None:
        self.permit = permit
        self.open_after_failure = open_after_failure
        self.told: list[str] = []

    async def gate(self, seen: Breaker) -> Gate:
        return Gate(self.permit, seen, NOW if self.permit is Permit.WAIT else None)

    async def answered(self, seen: Breaker) -> None:
        self.told.append("answered")

    async def failed(self, *, probe: bool) -> bool:
        self.told.append("failed probe" if probe else "failed")
        return self.open_after_failure

    async def return_probe(self) -> None:
        self.told.append("probe returned")


def simkim(answer: Callable[[httpx.Request], httpx.Response], breaker: FakeBreaker) -> tuple[GuardedSimkim, list[str]]:
    """The guarded call over a mock SIMKIM; the list collects the paths it was asked."""
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        return answer(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://simkim.test")
    return GuardedSimkim(SimkimClient(http), breaker), asked


def status(code: int, body: object = None) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _request: httpx.Response(code, json=body)


def raises(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def answer(_request: httpx.Request) -> httpx.Response:
        raise exc

    return answer


async def ask(guarded: GuardedSimkim) -> Outcome[ApplicationRecord]:
    async def request(client: SimkimClient) -> ApplicationRecord:
        return await client.application("SKM0000000000001")

    return await guarded.call(Breaker(), request)


async def test_an_answer_is_answered_and_tells_the_breaker_simkim_is_up() -> None:
    breaker = FakeBreaker()
    guarded, asked = simkim(status(200, RECORD), breaker)
    outcome = await ask(guarded)
    assert isinstance(outcome, Answered)
    assert outcome.value.reference == "SKM0000000000001"
    assert asked == ["/simkim/v1/applications/SKM0000000000001"]
    assert breaker.told == ["answered"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (status(503), "simkim_unavailable: HTTP 503"),
        (status(500), "simkim_unavailable: HTTP 500"),
        (status(429), "simkim_unavailable: HTTP 429"),
        (status(408), "simkim_unavailable: HTTP 408"),
        (raises(httpx.ReadTimeout("slow")), "simkim_unavailable: timeout (ReadTimeout)"),
        (raises(httpx.ConnectError("refused")), "simkim_unavailable: unreachable (ConnectError)"),
        (status(200, {"unexpected": True}), "simkim_unavailable: unreadable answer to HTTP 200"),
    ],
)
async def test_an_outage_is_retryable_and_counted_by_the_breaker(
    answer: Callable[[httpx.Request], httpx.Response], reason: str
) -> None:
    breaker = FakeBreaker()
    guarded, _ = simkim(answer, breaker)
    assert await ask(guarded) == Retryable(reason, outage=False)
    assert breaker.told == ["failed"]


async def test_a_failure_that_opens_the_breaker_is_an_outage_that_spends_no_attempt() -> None:
    breaker = FakeBreaker(open_after_failure=True)
    guarded, _ = simkim(status(503), breaker)
    assert await ask(guarded) == Retryable("simkim_unavailable: HTTP 503", outage=True)


async def test_a_refusal_is_permanent_and_shows_simkim_is_up() -> None:
    breaker = FakeBreaker()
    guarded, _ = simkim(status(409, {"code": "hold_not_open"}), breaker)
    assert await ask(guarded) == Permanent("simkim_refused: HTTP 409 hold_not_open", "HTTP 409 hold_not_open")
    assert breaker.told == ["answered"]


async def test_while_the_breaker_is_open_no_call_goes_out() -> None:
    breaker = FakeBreaker(Permit.WAIT)
    guarded, asked = simkim(status(200, RECORD), breaker)
    assert await ask(guarded) == BreakerOpen(NOW)
    assert asked == []
    assert breaker.told == []


async def test_a_failed_probe_is_counted_as_a_probe() -> None:
    breaker = FakeBreaker(Permit.PROBE, open_after_failure=True)
    guarded, _ = simkim(status(503), breaker)
    assert await ask(guarded) == Retryable("simkim_unavailable: HTTP 503", outage=True)
    assert breaker.told == ["failed probe"]


@pytest.mark.parametrize(
    ("permanent", "expected"), [(False, Retryable("capture HTTP 503")), (True, Permanent("x", "x"))]
)
async def test_a_request_abandoned_before_simkim_hands_the_probe_back_and_is_not_counted(
    permanent: bool, expected: Outcome[ApplicationRecord]
) -> None:
    breaker = FakeBreaker(Permit.PROBE)
    guarded, asked = simkim(status(200, RECORD), breaker)
    reason = "x" if permanent else "capture HTTP 503"

    async def request(client: SimkimClient) -> ApplicationRecord:
        raise NotSent(reason, permanent=permanent)

    assert await guarded.call(Breaker(BreakerState.OPEN), request) == expected
    assert asked == []
    assert breaker.told == ["probe returned"]


async def test_an_unexpected_error_hands_the_probe_back_and_is_raised() -> None:
    breaker = FakeBreaker(Permit.PROBE)
    guarded, _ = simkim(status(200, RECORD), breaker)

    async def request(client: SimkimClient) -> ApplicationRecord:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        await guarded.call(Breaker(BreakerState.OPEN), request)
    assert breaker.told == ["probe returned"]
