"""Problem details: codes, languages, validation errors without personal data, and fallbacks."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import structlog
from fastapi import FastAPI
from pydantic import BaseModel
from sambang_runtime.problems import (
    COMMON_MESSAGES,
    PROBLEM_MEDIA_TYPE,
    ProblemError,
    install_problem_handlers,
    preferred_language,
)

NIK_LIKE = "3505123412341234"


class Applicant(BaseModel):
    full_name: str
    nik: int
    birth_date: str


def _build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/slots/{slot_id}/book")
    async def book(slot_id: int) -> dict[str, str]:
        raise ProblemError(
            409,
            "slot_full",
            "The slot is full",
            "Slot sudah penuh",
            extra={"slot_id": slot_id},
        )

    @app.post("/v1/applications")
    async def apply(applicant: Applicant) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError(f"database said: duplicate key nik={NIK_LIKE}")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    # raise_app_exceptions=False: Starlette re-raises after sending the 500, as servers expect.
    transport = httpx.ASGITransport(app=_build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://sambang.test") as c:
        yield c


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "id"),
        ("", "id"),
        ("fr-FR, de;q=0.8", "id"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("id-ID,id;q=0.9,en;q=0.8", "id"),
        ("en;q=0.5, id;q=0.9", "id"),
        ("id;q=0.2, en;q=0.7", "en"),
        ("en, id", "en"),
        ("id, en", "id"),
        ("en;q=0, id;q=0.1", "id"),
        ("id;q=0, en;q=0.3", "en"),
        ("*", "id"),
        ("*;q=0.9, en;q=0.1", "id"),
        ("fr, en;q=0.4", "en"),
        ("in", "id"),
        ("EN-gb", "en"),
        ("en;q=banana, id;q=0.1", "id"),
    ],
)
def test_preferred_language_honours_q_values_and_defaults_to_indonesian(header: str | None, expected: str) -> None:
    assert preferred_language(header) == expected


@pytest.mark.asyncio
async def test_problem_error_renders_as_problem_json_in_indonesian_by_default(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/slots/7/book")

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["content-language"] == "id"
    body = response.json()
    assert body == {
        "type": "urn:sambang:problem:slot_full",
        "title": "Conflict",
        "status": 409,
        "code": "slot_full",
        "detail": "Slot sudah penuh",
        "instance": "/v1/slots/7/book",
        "slot_id": 7,
    }


@pytest.mark.asyncio
async def test_problem_detail_is_english_when_the_client_prefers_english(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/slots/7/book", headers={"Accept-Language": "id;q=0.3, en-US;q=0.8"})

    assert response.json()["detail"] == "The slot is full"
    assert response.headers["content-language"] == "en"


@pytest.mark.asyncio
async def test_validation_problem_lists_fields_but_never_echoes_submitted_values(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/applications",
        json={"full_name": "Siti Rahayu", "nik": f"x{NIK_LIKE}", "birth_date": 19900101},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["code"] == "validation_failed"
    locations = [error["loc"] for error in body["errors"]]
    assert ["body", "nik"] in locations
    assert ["body", "birth_date"] in locations
    assert all(set(error) == {"loc", "msg", "type"} for error in body["errors"])
    assert NIK_LIKE not in response.text
    assert "Siti Rahayu" not in response.text
    assert "19900101" not in response.text


@pytest.mark.asyncio
async def test_unparseable_json_body_is_a_clear_validation_problem(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/applications",
        content=f'{{"nik": "{NIK_LIKE}", '.encode(),
        headers={"Content-Type": "application/json", "Accept-Language": "en"},
    )

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert body["detail"] == "The request body is not valid JSON"
    assert body["errors"] == [{"loc": ["body"], "msg": "The request body is not valid JSON", "type": "json_invalid"}]
    assert NIK_LIKE not in response.text


@pytest.mark.asyncio
async def test_unknown_route_is_a_not_found_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["code"] == "not_found"
    assert body["detail"] == COMMON_MESSAGES["not_found"][1]


@pytest.mark.asyncio
async def test_wrong_method_is_a_method_not_allowed_problem_keeping_the_allow_header(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/applications")

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert "POST" in response.headers["allow"]


@pytest.mark.asyncio
async def test_unhandled_exception_is_a_500_problem_without_the_exception_text(
    client: httpx.AsyncClient,
) -> None:
    with structlog.testing.capture_logs() as logs:
        response = await client.get("/boom", headers={"Accept-Language": "en"})

    assert [(log["event"], log["log_level"]) for log in logs] == [("unhandled_exception", "error")]
    assert isinstance(logs[0]["exc_info"], RuntimeError)
    assert response.status_code == 500
    body = response.json()
    assert body["code"] == "internal_error"
    assert body["detail"] == COMMON_MESSAGES["internal_error"][0]
    assert "database said" not in response.text
    assert NIK_LIKE not in response.text


def test_problem_error_refuses_codes_that_are_not_stable_snake_case() -> None:
    with pytest.raises(ValueError, match="snake_case"):
        ProblemError(409, "Slot Full", "The slot is full", "Slot sudah penuh")


def test_every_common_message_has_both_languages() -> None:
    expected = {
        "unauthorized",
        "forbidden",
        "wrong_office",
        "not_found",
        "validation_failed",
        "internal_error",
        "rate_limited",
    }
    assert expected <= set(COMMON_MESSAGES)
    assert all(en and indonesian and en != indonesian for en, indonesian in COMMON_MESSAGES.values())
