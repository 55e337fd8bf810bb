"""The display board at /display/: live from the notifier's display stream (API.md: GET
/v1/streams/displays/{office}, opened with a stream ticket), the last five calls, reconnecting."""

from __future__ import annotations

import asyncio
import time

import pytest
from browser_support import OFFICE, CuttableProxy, Stack, accessible, installed, shot, token
from playwright.async_api import Page, expect

pytestmark = pytest.mark.skipif(not installed("notifier"), reason="the display stream is the notifier's")


def waiting_regular_ticket(stack: Stack, slot: int) -> str:
    """A paid booking for today, checked in at the desk: a regular ticket waiting for verification."""
    booked = stack.api.book(slot)
    stack.api.pay(booked.receipt, booked.birth_date)
    stack.api.wait_status(booked.receipt, "PAID", "ARRIVAL_CONFIRMED")
    return str(stack.api.check_in(booked.receipt)["ticket"])


def call(stack: Stack, counter: str) -> dict[str, str]:
    """A counter calls its next ticket (whichever the queue gives it)."""
    resp = stack.api.call_next(counter)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_the_board_shows_a_called_ticket_within_a_second_and_keeps_the_last_five(
    page: Page, stack: Stack, today_slot: int
) -> None:
    for _ in range(3):
        waiting_regular_ticket(stack, today_slot)
    # Through a relay the test can cut, as a dropped network would.
    relay = CuttableProxy(int(stack.url.rsplit(":", 1)[1]))
    board = await relay.start()
    tickets: list[str] = []
    page.on("request", lambda r: tickets.append(r.url) if r.url.endswith("/v1/streams/tickets") else None)
    try:
        await page.goto(f"{board}/display/#office={OFFICE}&token={token('display')}")
        opened = time.monotonic()
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=10000)
        await accessible(page, "display board")

        called = call(stack, "7")
        started = time.monotonic()
        await expect(page.locator("#now-ticket")).to_have_text(called["ticket"], timeout=1000)
        assert time.monotonic() - started < 1.0
        await expect(page.locator("#now-place")).to_have_text("Loket 7")
        await shot(page, "display-1-called")

        # The stream ticket has expired by now (5 s in this stack): the browser's own retry is refused,
        # and the board asks for a new ticket and resumes by itself after the connection is cut.
        await asyncio.sleep(max(0.0, 6 - (time.monotonic() - opened)))
        assert relay.cut() > 0
        await expect(page.locator("#connection")).not_to_have_attribute("data-state", "live", timeout=5000)
        await expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=15000)
        assert len(tickets) >= 2, tickets  # a new stream ticket after the cut
        second = call(stack, "8")
        await expect(page.locator("#now-ticket")).to_have_text(second["ticket"], timeout=3000)
        await expect(page.locator("#recent li")).to_have_count(2)
        await expect(page.locator("#recent li").first).to_contain_text(second["ticket"])
        await page.click('button[data-lang="en"]')
        await expect(page.locator("#now-place")).to_have_text("Counter 8")
        await page.click("#speech")
        await expect(page.locator("#speech")).to_have_attribute("aria-pressed", "true")
        await accessible(page, "display board with calls")
        await shot(page, "display-2-recent")
    finally:
        await relay.stop()
