"""Logging: JSON lines with personal data redacted, stdlib routed through it, request ids."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from pydantic import BaseModel
from sambang_runtime.logs import (
    RequestContextMiddleware,
    bind_context,
    clear_context,
    configure_logging,
    get_logger,
    redact_personal_data,
)

NIK = "3505123412341234"
OTHER_NIK = "3505987654321098"
EMAIL = "siti.rahayu@example.co.id"
PHONE = "+62 812-3456-7890"
PHONE_LOCAL = "081234567890"
RECEIPT = "BLT2612010421738"
BILLING_CODE = "820261201042173"


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    # Configured inside the test so the handler writes to the stderr capsys installed.
    configure_logging("INFO", json=True)
    clear_context()
    yield capsys
    clear_context()
    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "_sambang_log_handler", False):
            logging.getLogger().removeHandler(handler)
    structlog.reset_defaults()


def _json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    err = capsys.readouterr().err
    return [json.loads(line) for line in err.splitlines() if line.strip()]


def test_personal_data_keys_and_shapes_are_redacted_but_receipts_and_billing_codes_survive(
    json_logs: pytest.CaptureFixture[str],
) -> None:
    get_logger("sambang.test").info(
        f"booked for {OTHER_NIK}, mail {EMAIL}, call {PHONE} or {PHONE_LOCAL}; receipt {RECEIPT}",
        nik=NIK,
        full_name="Siti Rahayu",
        email=EMAIL,
        Phone=PHONE_LOCAL,
        birth_date="1990-01-01",
        receipt_number=RECEIPT,
        billing_code=BILLING_CODE,
        note=f"proxy {OTHER_NIK}",
        payload={"applicant": {"nik": NIK}, "members": [{"full_name": "Budi"}, {"age": 7}]},
    )

    [line] = _json_lines(json_logs)
    text = json.dumps(line)
    for secret in (NIK, OTHER_NIK, "Siti Rahayu", "Budi", EMAIL, "812-3456-7890", PHONE_LOCAL, "1990-01-01"):
        assert secret not in text
    assert RECEIPT in line["event"]
    assert line["receipt_number"] == RECEIPT
    assert line["billing_code"] == BILLING_CODE
    assert line["nik"] == "[REDACTED]"
    assert line["Phone"] == "[REDACTED]"
    assert "[NIK]" in line["event"] and "[EMAIL]" in line["event"] and "[PHONE]" in line["event"]
    assert line["note"] == "proxy [NIK]"
    assert line["payload"] == {"applicant": "[REDACTED]", "members": [{"full_name": "[REDACTED]"}, {"age": 7}]}
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")


def test_stdlib_logging_lines_are_json_and_redacted_too(json_logs: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("aio_pika").warning("message for %s from %s", EMAIL, NIK)
    logging.getLogger("uvicorn.error").info("applicant %s", PHONE_LOCAL, extra={"nik": NIK})

    lines = _json_lines(json_logs)
    text = json.dumps(lines)
    assert [line["logger"] for line in lines] == ["aio_pika", "uvicorn.error"]
    assert lines[0]["event"] == "message for [EMAIL] from [NIK]"
    assert lines[1]["nik"] == "[REDACTED]"
    for secret in (NIK, EMAIL, PHONE_LOCAL):
        assert secret not in text


def test_exception_text_in_logs_is_redacted(json_logs: pytest.CaptureFixture[str]) -> None:
    try:
        raise ValueError(f"duplicate key value (nik)=({NIK})")
    except ValueError:
        get_logger("sambang.test").exception("insert_failed", receipt_number=RECEIPT)

    [line] = _json_lines(json_logs)
    assert "ValueError" in line["exception"]
    assert NIK not in json.dumps(line)


def test_bound_context_appears_on_every_line_until_cleared(json_logs: pytest.CaptureFixture[str]) -> None:
    bind_context(receipt_number=RECEIPT)
    get_logger("sambang.test").info("first")
    logging.getLogger("sqlalchemy").warning("second")
    clear_context()
    get_logger("sambang.test").info("third")

    first, second, third = _json_lines(json_logs)
    assert first["receipt_number"] == RECEIPT
    assert second["receipt_number"] == RECEIPT
    assert "receipt_number" not in third


def test_configuring_twice_does_not_duplicate_lines(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        configure_logging("INFO", json=True)
        configure_logging("INFO", json=True)
        get_logger("sambang.test").info("once")
        assert len(_json_lines(capsys)) == 1
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_sambang_log_handler", False):
                logging.getLogger().removeHandler(handler)
        structlog.reset_defaults()


def test_level_filters_lines_below_it(json_logs: pytest.CaptureFixture[str]) -> None:
    configure_logging("WARNING", json=True)
    get_logger("sambang.test").info("hidden")
    get_logger("sambang.test").warning("shown")

    assert [line["event"] for line in _json_lines(json_logs)] == ["shown"]


def test_console_renderer_is_used_when_not_json(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        configure_logging("INFO", json=False)
        get_logger("sambang.test").info("hello", nik=NIK)
        err = capsys.readouterr().err
        assert "hello" in err
        assert NIK not in err
        with pytest.raises(json.JSONDecodeError):
            json.loads(err.splitlines()[0])
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_sambang_log_handler", False):
                logging.getLogger().removeHandler(handler)
        structlog.reset_defaults()


def test_redactor_leaves_the_callers_objects_untouched() -> None:
    applicant = {"full_name": "Siti Rahayu", "nik": NIK}
    members = [{"email": EMAIL}]

    result = redact_personal_data(None, "info", {"event": "x", "data": applicant, "members": members})

    assert result["data"] == {"full_name": "[REDACTED]", "nik": "[REDACTED]"}
    assert applicant == {"full_name": "Siti Rahayu", "nik": NIK}
    assert members == [{"email": EMAIL}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"nik {NIK}.", "nik [NIK]."),
        (f"receipt {RECEIPT}", f"receipt {RECEIPT}"),
        (f"billing {BILLING_CODE}", f"billing {BILLING_CODE}"),
        ("call 0812 3456 789", "call [PHONE]"),
        ("call 6281234567890", "call [PHONE]"),
        ("call +6281234567", "call [PHONE]"),
        ("17 digits 35051234123412345", "17 digits 35051234123412345"),
        ("mail A.B+tag@Mail.Example.com now", "mail [EMAIL] now"),
        ("quota 40 at 08:00", "quota 40 at 08:00"),
    ],
)
def test_free_text_scrubbing_targets_only_personal_data_shapes(text: str, expected: str) -> None:
    assert redact_personal_data(None, "info", {"event": text})["event"] == expected


def test_sixteen_digit_integers_are_treated_as_niks() -> None:
    result = redact_personal_data(None, "info", {"event": "x", "value": int(NIK), "count": 3})

    assert result["value"] == "[NIK]"
    assert result["count"] == 3


def _app_with_middleware() -> FastAPI:
    app = FastAPI()

    @app.get("/v1/offices")
    async def offices() -> dict[str, str]:
        get_logger("sambang.test").info("inside")
        return {"ok": "yes"}

    @app.get("/v1/applications/{receipt}")
    async def application(receipt: str) -> dict[str, str]:
        get_logger("sambang.test").info("inside")
        return {"receipt": receipt}

    app.add_middleware(RequestContextMiddleware)
    return app


@pytest.mark.asyncio
async def test_middleware_echoes_the_request_id_and_logs_one_line_per_request(
    json_logs: pytest.CaptureFixture[str],
) -> None:
    transport = httpx.ASGITransport(app=_app_with_middleware())
    async with httpx.AsyncClient(transport=transport, base_url="http://sambang.test") as client:
        response = await client.get(f"/v1/offices?birth_date=1990-01-01&nik={NIK}", headers={"X-Request-ID": "req-42"})

    assert response.headers["x-request-id"] == "req-42"
    inside, access = _json_lines(json_logs)
    assert inside["request_id"] == "req-42"
    assert access["event"] == "request"
    assert access["request_id"] == "req-42"
    assert access["method"] == "GET"
    assert access["path"] == "/v1/offices"
    assert access["status"] == 200
    assert isinstance(access["duration_ms"], float)
    assert "1990-01-01" not in json.dumps(access)
    assert structlog.contextvars.get_contextvars() == {}


@pytest.mark.asyncio
async def test_middleware_binds_the_receipt_number_named_in_the_path(
    json_logs: pytest.CaptureFixture[str],
) -> None:
    transport = httpx.ASGITransport(app=_app_with_middleware())
    async with httpx.AsyncClient(transport=transport, base_url="http://sambang.test") as client:
        await client.get("/v1/applications/BLT2612010421733")

    inside, access = _json_lines(json_logs)
    assert inside["receipt_number"] == "BLT2612010421733"
    assert access["receipt_number"] == "BLT2612010421733"
    assert structlog.contextvars.get_contextvars() == {}


@pytest.mark.asyncio
async def test_middleware_creates_a_request_id_when_absent_or_unsafe() -> None:
    transport = httpx.ASGITransport(app=_app_with_middleware())
    async with httpx.AsyncClient(transport=transport, base_url="http://sambang.test") as client:
        fresh = await client.get("/v1/offices")
        unsafe = await client.get("/v1/offices", headers={"X-Request-ID": "bad id\twith spaces"})

    assert len(fresh.headers["x-request-id"]) == 32
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"
    assert fresh.headers.get_list("x-request-id") == [fresh.headers["x-request-id"]]


def test_stderr_that_is_not_a_terminal_gets_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    try:
        configure_logging()
        get_logger("sambang.test").info("auto")
        [line] = _json_lines(capsys)
        assert line["event"] == "auto"
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_sambang_log_handler", False):
                logging.getLogger().removeHandler(handler)
        structlog.reset_defaults()


def test_models_and_dataclasses_are_redacted_field_by_field() -> None:
    class Applicant(BaseModel):
        full_name: str
        language: str

    @dataclasses.dataclass
    class Proxy:
        proxy_nik: str
        relation: str

    result = redact_personal_data(
        None,
        "info",
        {"event": "x", "model": Applicant(full_name="Siti", language="id"), "proxy": Proxy(NIK, "spouse")},
    )

    assert result["model"] == {"full_name": "[REDACTED]", "language": "id"}
    assert result["proxy"] == {"proxy_nik": "[REDACTED]", "relation": "spouse"}


@pytest.mark.asyncio
async def test_middleware_logs_a_500_when_the_app_raises(json_logs: pytest.CaptureFixture[str]) -> None:
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_middleware(RequestContextMiddleware)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://sambang.test") as client:
        response = await client.get("/boom")

    assert response.status_code == 500
    access = [line for line in _json_lines(json_logs) if line["event"] == "request"]
    assert [(line["path"], line["status"]) for line in access] == [("/boom", 500)]
    assert structlog.contextvars.get_contextvars() == {}
