"""Schemathesis against every service's ASGI app, with valid tokens: no 5xx, no response outside its
documented schema, no stack trace in any body.

Each service's app runs in-process (environment ``test``, SQLite and the in-memory bus; schemathesis runs
its lifespan on its own event loop thread). Every operation gets ``EXAMPLES`` generated cases (derandomised,
so a run is repeatable; no shrinking, so a failure costs one case) with an all-roles token of the office
``BLT`` (paths naming another office are refused with 403 as they should be), then the stateful phase
walks the links schemathesis infers between operations (where it infers none, as for the gateway's
few routes, there is no stateful phase to run). Every failure of every operation is collected and
listed at the end of the service's test, each with the request that caused it.
"""

from __future__ import annotations

import os
import re
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from hypothesis import HealthCheck, Phase, given, settings
from pydantic import BaseModel
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance
from security_support import OFFICE, RECEIPT, SERVICES, Credentials, service_settings

EXAMPLES = int(os.environ.get("SAMBANG_SCHEMATHESIS_EXAMPLES", "20"))
STATEFUL_STEPS = int(os.environ.get("SAMBANG_SCHEMATHESIS_STATEFUL", "15"))
#: What a stack trace looks like in a body: Python's, or a framework's debug page.
TRACE = re.compile(
    rb"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+|sqlalchemy\.exc\.|asyncpg\.exceptions"
)


@schemathesis.check
def no_stack_trace(ctx: Any, response: Any, case: Any) -> bool | None:
    """No body shows the server's insides (a traceback, a file and line, a driver's exception)."""
    found = TRACE.search(response.content or b"")
    if found:
        raise AssertionError(f"stack trace in the body: {found.group(0)!r}")
    return None


CHECKS = [not_a_server_error, response_schema_conformance, no_stack_trace]


def _call_kwargs(case: Any) -> dict[str, Any]:
    """An event stream that opens stays open: its first second is what schemathesis gets to check."""
    if case.operation.method.upper() == "GET" and case.operation.path.startswith("/v1/streams/"):
        return {"timeout": 1}
    return {}


def _aim(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """Two generated offices in three become the token's, two receipts in three a well-formed one of it:
    most cases then pass the office and receipt checks and reach the routes' logic (the rest still probe
    those checks). Deterministic per value, so a derandomised run stays repeatable."""
    if not values:
        return values
    out = dict(values)
    for name, value in values.items():
        if not isinstance(value, str) or zlib.crc32(value.encode()) % 3 == 0:
            continue
        if name in ("office", "office_code"):
            out[name] = OFFICE
        elif name in ("receipt_number", "receipt"):
            out[name] = RECEIPT
    return out


def _aim_at_the_office(schema: Any) -> None:
    def map_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> dict[str, Any] | None:
        return _aim(path_parameters)

    def map_query(context: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
        return _aim(query)

    schema.hook(map_path_parameters)
    schema.hook(map_query)


@pytest.fixture
def lifespans() -> Iterator[None]:
    """Schemathesis keeps an app's lifespan for the process: stop them when the service's test ends."""
    yield
    asgi.shutdown_lifespans()


def _describe(error: BaseException) -> str:
    text = str(error)
    return text if len(text) < 1500 else text[:1500] + " …"


class Out(BaseModel):
    """The harness's own test app's answer."""

    n: int


@dataclass
class Run:
    """What one schemathesis run over an app found."""

    operations: int = 0
    links: int = 0
    failures: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


def fuzz_app(app: Any, headers: dict[str, str], *, examples: int = EXAMPLES, stateful: int = STATEFUL_STEPS) -> Run:
    """Every operation of ``app``'s OpenAPI with ``examples`` cases, then the stateful phase; every failure kept."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    _aim_at_the_office(schema)
    run = Run()
    last: list[Any] = []  # the case being tried, for a failure that is an exception rather than a check

    for result in schema.get_all_operations():
        if isinstance(result, Err):  # an operation schemathesis cannot read is a failure of its own
            run.failures.append(f"unreadable operation: {result.err()}")
            continue
        operation = result.ok()
        run.operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Any) -> None:
            last[:] = [case]
            response = case.call(headers=headers, **_call_kwargs(case))
            run.statuses[response.status_code] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

        last.clear()
        try:
            fuzz()
        except FailureGroup as error:  # a check failed: the message says how to reproduce it
            run.failures.append(f"{operation.label}: {_describe(error)}")
        except Exception as error:  # the app raised (Starlette answers 500 and re-raises): name the input
            request = last[0].as_curl_command(headers=headers) if last else "?"
            run.failures.append(f"{operation.label}: Server error, the app raised {error!r}; input: {request}")

    if stateful:
        machine = schema.as_state_machine()
        run.links = schema.statistic.transitions.total
    if run.links:

        class Stateful(machine):  # type: ignore[misc, valid-type]
            def get_call_kwargs(self, case: Any) -> dict[str, Any]:
                return {"headers": headers, **_call_kwargs(case)}

            def after_call(self, response: Any, case: Any) -> None:
                super().after_call(response, case)
                run.statuses[response.status_code] += 1

            def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
                case.validate_response(response, checks=CHECKS, headers=headers, transport_kwargs=kwargs or None)

        try:
            run_state_machine_as_test(
                Stateful,
                settings=settings(
                    max_examples=stateful,
                    stateful_step_count=5,
                    deadline=None,
                    derandomize=True,
                    database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=list(HealthCheck),
                ),
            )
        except (Exception, FailureGroup) as error:
            run.failures.append(f"stateful: {_describe(error)}")
    return run


def test_the_harness_reports_a_500_a_schema_violation_and_a_stack_trace(lifespans: None) -> None:
    app = FastAPI()

    @app.put("/v1/things/{name}")
    async def put_thing(name: str) -> Out:
        if "\x00" in name or len(name) > 3:
            raise RuntimeError("what PostgreSQL says to a NUL")  # unhandled: FastAPI answers 500
        return Out(n=1)

    @app.get("/v1/wrong", response_model=Out)
    async def wrong() -> Any:
        return PlainTextResponse('{"n": "not a number"}', media_type="application/json")

    @app.get("/v1/trace")
    async def trace() -> PlainTextResponse:
        return PlainTextResponse('Traceback (most recent call last):\n  File "app.py", line 1')

    run = fuzz_app(app, {}, examples=25, stateful=0)
    found = "\n".join(run.failures)
    assert "PUT /v1/things/{name}: Server error" in found and "curl -X PUT" in found, found
    assert "GET /v1/wrong" in found, found
    assert "GET /v1/trace" in found and "stack trace" in found, found


@pytest.mark.timeout(170)
@pytest.mark.parametrize("descriptor", SERVICES, ids=[d.name for d in SERVICES])
def test_no_5xx_no_schema_violation_no_stack_trace(descriptor: Any, tmp_path: Path, lifespans: None) -> None:
    runtime_settings = service_settings(descriptor, tmp_path)
    app = descriptor.create_app(runtime_settings)
    headers = {"Authorization": f"Bearer {Credentials(runtime_settings).all_roles()}"}
    started = time.monotonic()
    run = fuzz_app(app, headers)
    print(
        f"{descriptor.name}: {run.operations} operations, {EXAMPLES} examples each, {run.links} links for the "
        f"stateful phase, {time.monotonic() - started:.1f} s; statuses {dict(sorted(run.statuses.items()))}"
    )
    assert not run.failures, f"{descriptor.name}: {len(run.failures)} failing:\n\n" + "\n\n".join(run.failures)
