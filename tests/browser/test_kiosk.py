"""The check-in kiosk at /kiosk/: tickets, the priority seat sentence, plain errors, idle reset, and
a receipt scanned from the QR code through the camera."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from browser_support import (
    CHROMIUM_ARGS,
    ELDERLY_BIRTH,
    OFFICE,
    Stack,
    accessible,
    shot,
    token,
    write_y4m,
)
from PIL import Image
from playwright.async_api import Browser, Page, expect


async def open_kiosk(page: Page) -> None:
    """The kiosk, provisioned through the address fragment as staff would."""
    await page.goto(f"/kiosk/#office={OFFICE}&token={token('kiosk')}")
    await expect(page.locator("#go-checkin")).to_be_visible()


async def ask_ticket(page: Page, receipt: str, birth: dt.date) -> None:
    """Check in: receipt number and birth date."""
    await page.click("#go-checkin")
    await page.fill("#receipt", receipt)
    await page.fill("#kiosk-birth-d", str(birth.day))
    await page.select_option("#kiosk-birth-m", str(birth.month))
    await page.fill("#kiosk-birth-y", str(birth.year))
    await page.click("#kiosk-submit")


async def test_a_priority_applicant_gets_a_ticket_and_is_sent_to_a_priority_seat(
    page: Page, stack: Stack, today_slot: int
) -> None:
    booked = stack.api.book(today_slot, birth_date=ELDERLY_BIRTH, priority="ELDERLY")
    await open_kiosk(page)
    await accessible(page, "kiosk home")
    await shot(page, "kiosk-1-home")
    await ask_ticket(page, booked.receipt, booked.birth_date)
    await expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^P[0-9]{3}$"))
    ticket = stack.api.status(booked.receipt)["ticket"]
    await expect(page.locator("#ticket-number")).to_have_text(ticket["ticket"])
    await expect(page.locator("#ticket-seat")).to_have_text(f"Kursi prioritas {ticket['seat']}")
    await expect(page.locator("#ticket-sentence")).to_have_text(
        "Silakan duduk di kursi prioritas, petugas akan datang kepada Anda."
    )
    await accessible(page, "kiosk ticket")
    await shot(page, "kiosk-2-priority-ticket")
    await page.click('button[data-lang="en"]')
    await expect(page.locator("#ticket-sentence")).to_have_text(
        "Please sit on a priority seat, an officer will come to you."
    )


async def test_an_unpaid_applicant_is_told_plainly_and_gets_a_ticket_once_paid(
    page: Page, stack: Stack, today_slot: int
) -> None:
    booked = stack.api.book(today_slot)
    await open_kiosk(page)
    await ask_ticket(page, booked.receipt, dt.date(1990, 1, 1))
    await expect(page.locator("#kiosk-message")).to_contain_text("Tidak ada permohonan")
    await page.fill("#kiosk-birth-y", str(booked.birth_date.year))
    await page.fill("#kiosk-birth-d", str(booked.birth_date.day))
    await page.select_option("#kiosk-birth-m", str(booked.birth_date.month))
    await page.click("#kiosk-submit")
    await expect(page.locator("#kiosk-message")).to_contain_text("Tagihan Anda belum dibayar")
    await accessible(page, "kiosk error")
    await shot(page, "kiosk-3-not-paid")
    stack.api.pay(booked.receipt, booked.birth_date)
    stack.api.wait_status(booked.receipt, "PAID", "ARRIVAL_CONFIRMED")
    await page.click("#kiosk-submit")
    await expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^A[0-9]{3}$"))
    await expect(page.locator("#ticket-number")).to_have_text(stack.api.status(booked.receipt)["ticket"]["ticket"])
    await expect(page.locator("#ticket-sentence")).to_have_text(
        "Silakan duduk dan tunggu nomor Anda dipanggil di layar."
    )
    await expect(page.locator("#ticket-seat")).to_be_hidden()


async def test_an_appointment_on_another_day_is_explained_with_its_day_and_time(page: Page, stack: Stack) -> None:
    today = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=7))).date()
    slots = stack.api.ok(stack.api.client.get(f"/v1/offices/{OFFICE}/slots"))
    later = next(s for s in slots if s["date"] > today.isoformat() and s["available"] > 0)
    booked = stack.api.book(int(later["slot_id"]))
    await open_kiosk(page)
    await ask_ticket(page, booked.receipt, booked.birth_date)
    when = f"{later['start'][:5]}\u2013{later['end'][:5]}"
    await expect(page.locator("#kiosk-message")).to_contain_text("Jadwal Anda ")
    await expect(page.locator("#kiosk-message")).to_contain_text(when)
    if later["date"] == (today + dt.timedelta(days=1)).isoformat():
        await expect(page.locator("#kiosk-message")).to_contain_text(f"Jadwal Anda besok, {when}.")


async def test_the_kiosk_is_set_up_once_and_starts_over_after_30_seconds_idle(page: Page) -> None:
    await page.clock.install()
    await page.goto("/kiosk/")
    await expect(page.locator("#device-office")).to_be_visible()
    await accessible(page, "kiosk set-up")
    await page.fill("#device-office", OFFICE)
    await page.fill("#device-token", token("kiosk"))
    await page.click(".device-setup button[type=submit]")
    await page.click("#go-checkin")
    await page.click('button[data-lang="en"]')
    await page.fill("#receipt", "BLT2612011234567")
    await page.clock.fast_forward(21_000)
    await expect(page.locator("#idle")).to_contain_text("goes back to the start")
    await page.clock.fast_forward(10_000)
    await expect(page.locator("#screen-home")).to_be_visible()
    await expect(page.locator("#home-title")).to_have_text("Selamat datang")
    await page.click("#go-checkin")
    await expect(page.locator("#receipt")).to_have_value("")
    # Set up once: the device keeps its office and token.
    await page.reload()
    await expect(page.locator("#go-checkin")).to_be_visible()


@pytest_asyncio.fixture
async def qr_camera_browser(
    browser: Browser, stack: Stack, today_slot: int, tmp_path: Path
) -> AsyncIterator[tuple[Browser, str]]:
    """A second chromium whose fake camera films a QR code of a fresh booking's receipt number."""
    booked = stack.api.book(today_slot, birth_date=ELDERLY_BIRTH, priority="ELDERLY")
    page = await browser.new_page(base_url=stack.url)
    await page.goto("/kiosk/")
    # The receipt's QR code as the pages draw it (shared/qr.js), photographed from the screen.
    await page.evaluate(
        """async (text) => {
            const { qrSvg } = await import('/shared/qr.js');
            document.body.replaceChildren(qrSvg(text, 'qr'));
            document.querySelector('svg').style.width = '300px';
            document.querySelector('svg').style.height = '300px';
        }""",
        booked.receipt,
    )
    png = await page.locator("svg").screenshot()
    await page.close()
    frame = Image.new("RGB", (640, 480), "white")
    frame.paste(Image.open(io.BytesIO(png)).convert("RGB"), (170, 90))
    video = tmp_path / "qr.y4m"
    write_y4m(frame, video)
    second = await browser.browser_type.launch(
        executable_path="/usr/bin/chromium", args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={video}"]
    )
    yield second, booked.receipt
    await second.close()


async def test_the_kiosk_reads_the_receipt_from_the_qr_code_through_the_camera(
    qr_camera_browser: tuple[Browser, str], stack: Stack
) -> None:
    camera_browser, receipt = qr_camera_browser
    page = await camera_browser.new_page(base_url=stack.url)
    await open_kiosk(page)
    await page.click("#go-checkin")
    await page.click("#scan")
    await expect(page.locator("#receipt")).to_have_value(receipt, timeout=10000)
    await expect(page.locator("#scanner")).to_be_hidden()
    await page.fill("#kiosk-birth-d", str(ELDERLY_BIRTH.day))
    await page.select_option("#kiosk-birth-m", str(ELDERLY_BIRTH.month))
    await page.fill("#kiosk-birth-y", str(ELDERLY_BIRTH.year))
    await page.click("#kiosk-submit")
    await expect(page.locator("#ticket-number")).to_have_text(re.compile(r"^P[0-9]{3}$"))
    await page.close()
