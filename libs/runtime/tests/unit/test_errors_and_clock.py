"""The error catalogue renders domain errors as bilingual problems; the fake clock moves only when told."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from fastapi import FastAPI
from sambang_runtime.errors import DomainError, ErrorCatalogue
from sambang_runtime.problems import install_problem_handlers
from sambang_runtime.testing import FakeClock

CATALOGUE = ErrorCatalogue({"slot_full": (409, "The slot is full", "Kuota jadwal sudah penuh")}, service="t")


def _app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app, CATALOGUE)

    @app.get("/full")
    async def full() -> None:
        raise DomainError("slot_full", slot_id="s1")

    @app.get("/typo")
    async def typo() -> None:
        raise DomainError("slot_fulll")

    return app


async def test_a_domain_error_renders_from_the_catalogue_in_the_asked_language() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as c:
        en = await c.get("/full", headers={"Accept-Language": "en"})
        id_ = await c.get("/full")
    assert en.status_code == 409 and en.headers["content-type"] == "application/problem+json"
    assert en.json()["code"] == "slot_full" and en.json()["detail"] == "The slot is full"
    assert en.json()["slot_id"] == "s1"
    assert id_.json()["detail"] == "Kuota jadwal sudah penuh"


async def test_an_uncatalogued_code_is_a_500_not_a_client_error() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as c:
        resp = await c.get("/typo")
    assert resp.status_code == 500 and resp.json()["code"] == "internal_error"


@pytest.mark.parametrize(
    "entries",
    [
        {"Slot-Full": (409, "x", "y")},
        {"slot_full": (200, "x", "y")},
        {"slot_full": (409, "x", " ")},
    ],
)
def test_a_catalogue_refuses_bad_codes_statuses_and_missing_words(entries: dict[str, tuple[int, str, str]]) -> None:
    with pytest.raises(ValueError):
        ErrorCatalogue(entries)


def test_merging_catalogues_refuses_one_code_with_two_meanings() -> None:
    other = ErrorCatalogue({"slot_full": (422, "other", "lain")})
    with pytest.raises(ValueError):
        CATALOGUE.merged(other)
    assert set(CATALOGUE.merged(ErrorCatalogue({"x_y": (404, "a", "b")}))) == {"slot_full", "x_y"}


def test_the_fake_clock_moves_only_forward_and_only_when_told() -> None:
    clock = FakeClock(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=7))))
    assert clock() == dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)
    assert clock() == clock()
    assert clock.advance(minutes=5) == dt.datetime(2026, 12, 1, 2, 5, tzinfo=dt.UTC)
    assert clock.advance(30) == dt.datetime(2026, 12, 1, 2, 5, 30, tzinfo=dt.UTC)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(dt.datetime(2026, 1, 1))
