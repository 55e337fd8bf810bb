"""Estimated waits (issue 24) on the kiosk ticket, the applicant's status page and the display board:
the queue's range of minutes in Bahasa Indonesia and English, and nothing at all when too few tickets
were served today to estimate honestly.

The estimate needs tickets served today at the lane and stage: each test serves a few regular tickets
at verification through the API (call, then complete, at a counter of its own) and sets the office's
`estimate_min_served` to what it needs — a few served tickets suffice, or 500 for "too few" — and puts
the office's value back afterwards."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from browser_support import OFFICE, Booked, Stack, accessible, bearer, installed, shot, token
from playwright.async_api import Page, Route, expect

#: Enough for an estimate in these tests (and far below what the other browser tests serve).
FEW = 3
#: More than any test serves in a day: "too few tickets were served".
TOO_MANY = 500
RECEIPT = re.compile(r"[A-Z]{3}[0-9]{13}")

WORDS = {
    "id": {
        "label": "Perkiraan waktu tunggu",
        "range": "sekitar {low}\u2013{high} menit",
        "one": "sekitar {n} menit",
        "under": "kurang dari {n} menit",
    },
    "en": {
        "label": "Estimated wait",
        "range": "about {low}\u2013{high} minutes",
        "one": "about {n} minutes",
        "under": "less than {n} minutes",
    },
}


def wait_words(estimate: dict[str, int], lang: str) -> str:
    """The words the pages give an estimate, worked out here from the queue's numbers."""
    words = WORDS[lang]
    low, high = estimate["low_minutes"], estimate["high_minutes"]
    if high <= 5:
        return words["under"].format(n=5)
    if low == 0:
        return words["under"].format(n=high)
    if low >= high:
        return words["one"].format(n=high)
    return words["range"].format(low=low, high=high)


def wait_sentence(estimate: dict[str, int], lang: str) -> str:
    """The sentence under the ticket: label, colon, the words."""
    return f"{WORDS[lang]['label']}: {wait_words(estimate, lang)}"


# --- the office's rule and tickets served ---------------------------------------------------------


def office_settings(stack: Stack) -> dict[str, Any]:
    """The office's rules as the queue keeps them."""
    resp = stack.api.client.get(f"/v1/offices/{OFFICE}/settings", headers=bearer("supervisor"))
    return dict(stack.api.ok(resp)["settings"])


def set_min_served(stack: Stack, served: int) -> None:
    """`estimate_min_served` of the office; every other rule as it is (the whole set is sent back)."""
    settings = {**office_settings(stack), "estimate_min_served": served}
    resp = stack.api.client.put(f"/v1/offices/{OFFICE}/settings", json={"settings": settings}, headers=bearer("admin"))
    assert stack.api.ok(resp)["settings"]["estimate_min_served"] == served


@contextmanager
def min_served(stack: Stack, served: int) -> Iterator[None]:
    """The office estimates once `served` tickets were served today at a lane and stage; its own
    value again afterwards."""
    before = int(office_settings(stack)["estimate_min_served"])
    set_min_served(stack, served)
    try:
        yield
    finally:
        set_min_served(stack, before)


def paid_booking(stack: Stack, slot: int) -> Booked:
    """A booking for today, paid."""
    booked = stack.api.book(slot)
    stack.api.pay(booked.receipt, booked.birth_date)
    stack.api.wait_status(booked.receipt, "PAID", "ARRIVAL_CONFIRMED")
    return booked


def new_counter() -> str:
    """A counter of this test's own, so that no other test finds it busy."""
    return f"EST{random.randrange(10**6)}"


def call_at(stack: Stack, counter: str) -> dict[str, Any]:
    """The counter calls the next regular ticket at verification."""
    resp = stack.api.call_next(counter)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def complete(stack: Stack, ticket_id: str) -> None:
    """The counter is done with the ticket (it moves on to the interview)."""
    resp = stack.api.client.post(f"/v1/tickets/{ticket_id}/complete", headers=bearer("verifier"))
    stack.api.ok(resp)


def serve(stack: Stack, slot: int, count: int) -> None:
    """`count` regular tickets checked in, called and completed at verification today."""
    for _ in range(count):
        stack.api.check_in(paid_booking(stack, slot).receipt)
    counter = new_counter()
    for _ in range(count):
        complete(stack, call_at(stack, counter)["ticket_id"])


def public_status(stack: Stack, booked: Booked) -> dict[str, Any]:
    """The status the applicant's page polls (receipt number and birth date)."""
    resp = stack.api.client.post(
        f"/v1/applications/{booked.receipt}/lookup", json={"birth_date": booked.birth_date.isoformat()}
    )
    return dict(stack.api.ok(resp))


def estimates(stack: Stack) -> dict[str, Any]:
    """The board's public estimates of the office."""
    return dict(stack.api.ok(stack.api.client.get(f"/v1/lines/{OFFICE}/estimates")))


def regular_verification(board: dict[str, Any]) -> dict[str, Any]:
    """The regular lane at verification, among the board's lanes."""
    return next(x for x in board["lanes"] if x["lane"] == "REGULAR" and x["stage"] == "VERIFICATION")


# --- the pages ------------------------------------------------------------------------------------


async def open_kiosk(page: Page) -> None:
    """The kiosk, provisioned through the address fragment as staff would."""
    await page.goto(f"/kiosk/#office={OFFICE}&token={token('kiosk')}")
    await expect(page.locator("#go-checkin")).to_be_visible()


async def kiosk_ticket(page: Page, booked: Booked) -> dict[str, Any]:
    """Check in at the kiosk; the check-in answer the page got."""
    await page.click("#go-checkin")
    await page.fill("#receipt", booked.receipt)
    await page.fill("#kiosk-birth-d", str(booked.birth_date.day))
    await page.select_option("#kiosk-birth-m", str(booked.birth_date.month))
    await page.fill("#kiosk-birth-y", str(booked.birth_date.year))
    async with page.expect_response(re.compile(r"/v1/offices/[A-Z]{3}/check-ins$")) as answer:
        await page.click("#kiosk-submit")
    await expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^A[0-9]{3}$"))
    return dict(await (await answer.value).json())


async def open_status(page: Page, booked: Booked) -> None:
    """The applicant's status page by receipt number and birth date."""
    await page.goto("/#status")
    await page.fill("#status-receipt", booked.receipt)
    await page.fill("#status-birth-d", str(booked.birth_date.day))
    await page.select_option("#status-birth-m", str(booked.birth_date.month))
    await page.fill("#status-birth-y", str(booked.birth_date.year))
    await page.click("#status-submit")
    await expect(page.locator("#current-status")).to_have_text("Sudah tiba di kantor")


async def test_the_pages_word_an_estimate_as_a_range_a_single_figure_or_under_five_minutes(page: Page) -> None:
    await page.goto("/")
    worded = await page.evaluate(
        """async (cases) => {
            const i18n = await import('/shared/i18n.js');
            const out = {};
            for (const lang of ['id', 'en']) {
                i18n.setLang(lang, { remember: false });
                out[lang] = cases.map((c) => [i18n.formatWait(c), i18n.waitSentence(c)]);
            }
            return out;
        }""",
        [
            {"low_minutes": 20, "high_minutes": 30},
            {"low_minutes": 0, "high_minutes": 5},  # the queue's "within 5 minutes"
            {"low_minutes": 3, "high_minutes": 10},
            {"low_minutes": 0, "high_minutes": 10},
            {"low_minutes": 15, "high_minutes": 15},
            None,
        ],
    )
    assert worded["id"] == [
        ["sekitar 20\u201330 menit", "Perkiraan waktu tunggu: sekitar 20\u201330 menit"],
        ["kurang dari 5 menit", "Perkiraan waktu tunggu: kurang dari 5 menit"],
        ["sekitar 3\u201310 menit", "Perkiraan waktu tunggu: sekitar 3\u201310 menit"],
        ["kurang dari 10 menit", "Perkiraan waktu tunggu: kurang dari 10 menit"],
        ["sekitar 15 menit", "Perkiraan waktu tunggu: sekitar 15 menit"],
        ["", ""],
    ]
    assert worded["en"] == [
        ["about 20\u201330 minutes", "Estimated wait: about 20\u201330 minutes"],
        ["less than 5 minutes", "Estimated wait: less than 5 minutes"],
        ["about 3\u201310 minutes", "Estimated wait: about 3\u201310 minutes"],
        ["less than 10 minutes", "Estimated wait: less than 10 minutes"],
        ["about 15 minutes", "Estimated wait: about 15 minutes"],
        ["", ""],
    ]


async def test_the_kiosk_ticket_shows_the_estimated_wait_in_both_languages_and_prints_it(
    page: Page, stack: Stack, today_slot: int
) -> None:
    with min_served(stack, FEW):
        serve(stack, today_slot, FEW)
        booked = paid_booking(stack, today_slot)
        await open_kiosk(page)
        ticket = await kiosk_ticket(page, booked)
        estimate = ticket["estimated_wait"]
        assert estimate is not None, ticket
        assert 0 <= estimate["low_minutes"] <= estimate["high_minutes"]
        await expect(page.locator("#ticket-wait")).to_be_visible()
        await expect(page.locator("#ticket-wait")).to_have_text(wait_sentence(estimate, "id"))
        await expect(page.locator("#ticket-wait")).to_contain_text("Perkiraan waktu tunggu: ")
        await accessible(page, "kiosk ticket with the estimated wait")
        await shot(page, "wait-1-kiosk-ticket")
        await page.click('button[data-lang="en"]')
        await expect(page.locator("#ticket-wait")).to_have_text(wait_sentence(estimate, "en"))
        # The printed ticket (the kiosk prints its ticket screen) carries it too.
        await page.emulate_media(media="print")
        await expect(page.locator("#ticket-wait")).to_be_visible()
        await expect(page.locator("#ticket-number")).to_be_visible()


async def test_the_kiosk_ticket_words_a_range_of_minutes(page: Page, stack: Stack, today_slot: int) -> None:
    """The queue's own answer, its estimate set to 20 to 30 minutes on the way (a wait the embedded stack,
    serving in milliseconds, does not reach), shows the words of the issue."""

    async def twenty_to_thirty(route: Route) -> None:
        answer = await route.fetch()
        body = await answer.json()
        body["estimated_wait"] = {"low_minutes": 20, "high_minutes": 30}
        await route.fulfill(response=answer, body=json.dumps(body))

    await page.route(re.compile(r"/v1/offices/[A-Z]{3}/check-ins$"), twenty_to_thirty)
    booked = paid_booking(stack, today_slot)
    await open_kiosk(page)
    await kiosk_ticket(page, booked)
    await expect(page.locator("#ticket-wait")).to_be_visible()
    await expect(page.locator("#ticket-wait")).to_have_text("Perkiraan waktu tunggu: sekitar 20\u201330 menit")
    await accessible(page, "kiosk ticket with a range")
    await shot(page, "wait-2-kiosk-range")
    await page.click('button[data-lang="en"]')
    await expect(page.locator("#ticket-wait")).to_have_text("Estimated wait: about 20\u201330 minutes")


async def test_the_kiosk_ticket_says_nothing_of_a_wait_when_too_few_tickets_were_served(
    page: Page, stack: Stack, today_slot: int
) -> None:
    with min_served(stack, TOO_MANY):
        booked = paid_booking(stack, today_slot)
        await open_kiosk(page)
        ticket = await kiosk_ticket(page, booked)
        assert ticket["estimated_wait"] is None, ticket
        await expect(page.locator("#ticket-sentence")).to_have_text(
            "Silakan duduk dan tunggu nomor Anda dipanggil di layar."
        )
        await expect(page.locator("#ticket-wait")).to_be_hidden()
        await expect(page.locator("#screen-ticket")).not_to_contain_text("Perkiraan")
        await accessible(page, "kiosk ticket without an estimate")
        await page.click('button[data-lang="en"]')
        await expect(page.locator("#ticket-sentence")).to_have_text(
            "Please take a seat and wait for your number on the screen."
        )
        await expect(page.locator("#ticket-wait")).to_be_hidden()
        await expect(page.locator("#screen-ticket")).not_to_contain_text("wait:")


async def test_the_status_page_shows_the_estimate_once_there_is_one_and_keeps_it_current(
    page: Page, stack: Stack, today_slot: int
) -> None:
    with min_served(stack, TOO_MANY):
        serve(stack, today_slot, FEW)
        booked = paid_booking(stack, today_slot)
        stack.api.check_in(booked.receipt)
        assert public_status(stack, booked)["estimated_wait"] is None
        await open_status(page, booked)
        await expect(page.locator(".status-now")).to_be_visible()
        await expect(page.locator("#status-wait")).to_have_count(0)
        await expect(page.locator(".status-now")).not_to_contain_text("Perkiraan")
        await accessible(page, "status page without an estimate")

        # The office now estimates from the tickets already served: the page, never reloaded, shows it
        # at its next refresh.
        await page.evaluate("() => { window.__notReloaded = true; }")
        set_min_served(stack, FEW)
        estimate = public_status(stack, booked)["estimated_wait"]
        assert estimate is not None
        await expect(page.locator("#status-wait")).to_have_text(wait_sentence(estimate, "id"), timeout=15000)
        assert await page.evaluate("() => window.__notReloaded === true")
        await accessible(page, "status page with the estimated wait")
        await shot(page, "wait-3-status")
        await page.click('button[data-lang="en"]')
        await expect(page.locator("#current-status")).to_have_text("Arrived at the office")
        await expect(page.locator("#status-wait")).to_have_text(wait_sentence(estimate, "en"))

        # Too few served again: the estimate goes from the page at its next refresh.
        set_min_served(stack, TOO_MANY)
        await expect(page.locator("#status-wait")).to_have_count(0, timeout=15000)
        await expect(page.locator("#current-status")).to_have_text("Arrived at the office")


@pytest.mark.skipif(not installed("notifier"), reason="the display stream is the notifier's")
async def test_the_board_shows_each_lanes_estimate_and_follows_the_calls(
    page: Page, stack: Stack, today_slot: int
) -> None:
    lane = '#waits li[data-lane="REGULAR"][data-stage="VERIFICATION"]'
    with min_served(stack, FEW):
        serve(stack, today_slot, FEW)
        for _ in range(2):  # waiting at verification: one for the board, one to call
            stack.api.check_in(paid_booking(stack, today_slot).receipt)
        board = estimates(stack)
        assert board["office"] == OFFICE
        regular = regular_verification(board)
        assert regular["waiting"] >= 2 and regular["estimated_wait"] is not None, board
        # Public: counts and minutes, no receipt number, no name.
        assert not RECEIPT.search(json.dumps(board)), board
        assert {key for x in board["lanes"] for key in x} <= {"lane", "stage", "waiting", "estimated_wait"}

        await page.clock.install()
        await page.goto(f"/display/#office={OFFICE}&token={token('display')}")
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=10000)
        await expect(page.locator("#waits-title")).to_have_text("Perkiraan waktu tunggu")
        await expect(page.locator(f"{lane} .lane")).to_have_text("Verifikasi dokumen (A)")
        await expect(page.locator(f"{lane} .wait")).to_have_text(wait_words(regular["estimated_wait"], "id"))
        for shown in board["lanes"]:  # every lane the queue estimates, and only those
            selector = f'#waits li[data-lane="{shown["lane"]}"][data-stage="{shown["stage"]}"]'
            await expect(page.locator(selector)).to_have_count(1 if shown["estimated_wait"] else 0)
        assert not RECEIPT.search(await page.locator("#waits-box").inner_text())
        await accessible(page, "display board with estimated waits")
        await shot(page, "wait-4-board")
        await page.click('button[data-lang="en"]')
        await expect(page.locator("#waits-title")).to_have_text("Estimated wait")
        await expect(page.locator(f"{lane} .lane")).to_have_text("Document check (A)")
        await expect(page.locator(f"{lane} .wait")).to_have_text(
            wait_words(regular_verification(estimates(stack))["estimated_wait"], "en")
        )

        # Every minute the board asks again: too few served now, and the lane's estimate goes.
        set_min_served(stack, TOO_MANY)
        await page.clock.fast_forward(61_000)
        await expect(page.locator(lane)).to_have_count(0)
        await expect(page.locator("#waits-box")).to_be_hidden()

        # A call on the display stream makes it ask again soon (10 s after its last request at the
        # earliest, as the queue limits each address), without waiting for the minute.
        set_min_served(stack, FEW)
        called = call_at(stack, new_counter())
        await expect(page.locator("#now-ticket")).to_have_text(called["ticket"], timeout=5000)
        await expect(page.locator(lane)).to_have_count(0)
        await page.clock.fast_forward(10_000)
        await expect(page.locator(lane)).to_have_count(1, timeout=5000)
        await expect(page.locator("#waits-box")).to_be_visible()
        complete(stack, called["ticket_id"])
