"""Birth dates never travel in URLs (#16, point 5): access logs and browser histories keep URLs, so the
applicant's status page, its bill and the kiosk's explanation look a receipt up with
``POST /v1/applications/{receipt}/lookup`` and ``POST /v1/bills/{receipt}/lookup``, the birth date in
the body. Every request the pages make is recorded and read."""

from __future__ import annotations

import datetime as dt
import json
import re

from browser_support import OFFICE, Stack, accessible, token, until
from playwright.async_api import Page, Request, expect


def recorder(page: Page) -> list[Request]:
    """Every request the page makes, from now on."""
    seen: list[Request] = []
    page.on("request", lambda r: seen.append(r))
    return seen


def assert_no_birth_date_in_urls(requests: list[Request], birth: dt.date) -> None:
    """No URL names a birth date, in any spelling the pages could use."""
    spellings = {birth.isoformat(), birth.strftime("%d-%m-%Y"), birth.strftime("%Y%m%d"), "birth"}
    for r in requests:
        assert not any(s in r.url.lower() for s in spellings), f"a birth date in a URL: {r.method} {r.url}"


def lookups(requests: list[Request], kind: str, receipt: str) -> list[Request]:
    """The look-ups of one receipt at /v1/{kind}/{receipt}/lookup."""
    return [r for r in requests if r.url.endswith(f"/v1/{kind}/{receipt}/lookup")]


async def test_the_status_page_and_its_bill_look_up_with_the_birth_date_in_the_body(
    page: Page, stack: Stack, today_slot: int
) -> None:
    booked = stack.api.book(today_slot)
    stack.api.bill(booked.receipt, booked.birth_date)  # payment has issued it
    seen = recorder(page)
    await page.goto("/#status")
    await page.fill("#status-receipt", booked.receipt)
    await page.fill("#status-birth-d", str(booked.birth_date.day))
    await page.select_option("#status-birth-m", str(booked.birth_date.month))
    await page.fill("#status-birth-y", str(booked.birth_date.year))
    await page.click("#status-submit")
    await expect(page.locator("#current-status")).to_have_text("Terdaftar — menunggu pembayaran")
    await expect(page.locator("#billing-code")).to_have_text(re.compile(r"^[0-9]{15}$"), timeout=15000)
    await accessible(page, "status looked up by POST")

    applications = lookups(seen, "applications", booked.receipt)
    bills = lookups(seen, "bills", booked.receipt)
    assert applications and bills, [r.url for r in seen]
    for r in applications + bills:
        assert r.method == "POST"
        assert json.loads(r.post_data or "{}") == {"birth_date": booked.birth_date.isoformat()}
    assert_no_birth_date_in_urls(seen, booked.birth_date)

    # The page keeps asking (every 5 s) the same way.
    count = len(applications)

    async def asked_again() -> bool:
        return len(lookups(seen, "applications", booked.receipt)) > count

    await until(asked_again, 15, "the status to be asked again")
    assert_no_birth_date_in_urls(seen, booked.birth_date)


async def test_the_kiosk_explains_another_day_with_a_look_up_by_post(page: Page, stack: Stack) -> None:
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    slots = stack.api.ok(stack.api.client.get(f"/v1/offices/{OFFICE}/slots"))
    later = next(s for s in slots if s["date"] > today.isoformat() and s["available"] > 0)
    booked = stack.api.book(int(later["slot_id"]))
    await page.goto(f"/kiosk/#office={OFFICE}&token={token('kiosk')}")
    await expect(page.locator("#go-checkin")).to_be_visible()
    seen = recorder(page)
    await page.click("#go-checkin")
    await page.fill("#receipt", booked.receipt)
    await page.fill("#kiosk-birth-d", str(booked.birth_date.day))
    await page.select_option("#kiosk-birth-m", str(booked.birth_date.month))
    await page.fill("#kiosk-birth-y", str(booked.birth_date.year))
    await page.click("#kiosk-submit")
    await expect(page.locator("#kiosk-message")).to_contain_text("Jadwal Anda ")
    await expect(page.locator("#kiosk-message")).to_contain_text(f"{later['start'][:5]}\u2013{later['end'][:5]}")
    asked = lookups(seen, "applications", booked.receipt)
    assert [r.method for r in asked] == ["POST"]
    assert json.loads(asked[0].post_data or "{}") == {"birth_date": booked.birth_date.isoformat()}
    assert_no_birth_date_in_urls(seen, booked.birth_date)
    await accessible(page, "kiosk explanation")
