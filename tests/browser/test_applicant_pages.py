"""Applicant pages at "/": booking, bill, a status that moves on by itself, the arrival sheet (PDF),
cancel, the arrival confirmation link, the PWA — in Bahasa Indonesia and English."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from browser_support import ADULT_BIRTH, Stack, accessible, installed, new_nik, shot, until
from playwright.async_api import Page, expect
from sambang_contracts.values import generate_receipt_number


async def fill_birth(page: Page, prefix: str, day: dt.date) -> None:
    """The three birth date fields."""
    await page.fill(f"#{prefix}-d", str(day.day))
    await page.select_option(f"#{prefix}-m", str(day.month))
    await page.fill(f"#{prefix}-y", str(day.year))


async def fill_person(page: Page, n: int, name: str, birth: dt.date, email: str | None = None) -> None:
    """One person of the booking form."""
    await page.fill(f"#p{n}-name", name)
    await page.fill(f"#p{n}-nik", new_nik())
    await fill_birth(page, f"p{n}-birth", birth)
    if email:
        await page.fill(f"#p{n}-email", email)


async def choose_first_session(page: Page) -> None:
    """The first day on offer and its first session with places."""
    await expect(page.locator('input[name="slot"]').first).to_be_visible()
    await page.locator('input[name="slot"]:not([disabled])').first.check()


def qr_texts_of_pdf(data: bytes) -> tuple[list[str], str]:
    """Every QR code on the PDF's first page (rendered by PDFium), and the page's text."""
    pdf = pdfium.PdfDocument(io.BytesIO(data))
    first = pdf[0]
    image = first.render(scale=3).to_pil()
    text = first.get_textpage().get_text_range()
    return [r.text for r in zxingcpp.read_barcodes(image)], text


async def test_an_applicant_books_sees_the_bill_and_the_status_moves_on_when_the_bank_pays(
    page: Page, stack: Stack
) -> None:
    await page.goto("/")
    await expect(page.locator("#office option")).not_to_have_count(0)
    await accessible(page, "booking form")
    await shot(page, "applicant-1-booking")
    await choose_first_session(page)
    await fill_person(page, 1, "Siti Rahayu", ADULT_BIRTH, "siti@example.id")
    await page.click("#book-submit")

    receipt_el = page.locator(".receipt-number").first
    await expect(receipt_el).to_have_text(re.compile(r"^BLT[0-9]{13}$"))
    receipt = (await receipt_el.text_content() or "").strip()
    # Straight on to the status: booked, and the bill appears by itself once payment issued it.
    await expect(page.locator("#current-status")).to_have_text("Terdaftar — menunggu pembayaran")
    await expect(page.locator("#billing-code")).to_have_text(re.compile(r"^[0-9]{15}$"), timeout=15000)
    await expect(page.locator("#bill-state")).to_have_text("Belum dibayar")
    await expect(page.locator(".bill h4")).to_have_text("Cara membayar")
    await expect(page.locator("svg.qr").first).to_have_attribute("aria-label", f"Kode QR nomor tanda terima {receipt}")
    await accessible(page, "status with bill")
    await shot(page, "applicant-2-bill")

    # The bank pays; the page was never reloaded (the marker survives) and shows it.
    await page.evaluate("() => { window.__notReloaded = true; }")
    paid = stack.api.pay(receipt, ADULT_BIRTH)
    assert paid["outcome"] == "APPLIED"
    started = time.monotonic()
    await expect(page.locator("#current-status")).to_have_text(
        re.compile("Sudah dibayar|Kedatangan sudah dikonfirmasi"), timeout=15000
    )
    await expect(page.locator("#bill-state")).to_have_text("Lunas")
    assert await page.evaluate("() => window.__notReloaded === true")
    assert time.monotonic() - started < 15
    await expect(page.locator("ol.timeline")).to_contain_text("Pembayaran diterima")
    await shot(page, "applicant-3-paid")

    # The arrival confirmation sheet: a PDF whose QR code is the receipt number.
    async with page.expect_download() as download_info:
        await page.click("#sheet-pdf")
    download = await download_info.value
    assert download.suggested_filename == f"konfirmasi-kedatangan-{receipt}.pdf"
    data = Path(await download.path()).read_bytes()
    assert data.startswith(b"%PDF-")
    codes, text = qr_texts_of_pdf(data)
    assert codes == [receipt]
    assert receipt in text and "LEMBAR KONFIRMASI KEDATANGAN" in text and "Lunas" in text


async def test_a_family_books_one_session_together_and_each_member_gets_a_receipt(page: Page) -> None:
    await page.goto("/")
    await choose_first_session(page)
    await page.check('input[name="who"][value="family"]')
    await expect(page.locator("#person-2")).to_be_visible()
    await page.click("#add-person")
    await expect(page.locator("#person-3")).to_be_visible()
    await fill_person(page, 1, "Budi Santoso", dt.date(1980, 1, 2))
    await fill_person(page, 2, "Ani Santoso", dt.date(1983, 3, 4))
    await fill_person(page, 3, "Dewi Santoso", dt.date(2015, 5, 6))
    await page.select_option("#p3-priority", "NONE")
    await page.click("#book-submit")
    await expect(page.locator(".receipt-number")).to_have_count(3)
    receipts = [r.strip() for r in await page.locator(".receipt-number").all_text_contents()]
    assert len(set(receipts)) == 3 and all(re.fullmatch(r"BLT[0-9]{13}", r) for r in receipts)
    await accessible(page, "family receipts")
    await shot(page, "applicant-4-family")
    # A member's status from their card.
    await page.locator(".receipt-card button").nth(1).click()
    await expect(page.locator("#status-heading")).to_contain_text(receipts[1])


async def test_the_pages_speak_english_and_an_unknown_receipt_says_so_plainly(page: Page) -> None:
    await page.goto("/#status")
    await page.click('button[data-lang="en"]')
    await expect(page.locator("#status-title")).to_have_text("Check your application")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.fill("#status-receipt", generate_receipt_number("BLT", dt.date(2026, 1, 1)))
    await fill_birth(page, "status-birth", ADULT_BIRTH)
    await page.click("#status-submit")
    # The service's own words, in the language asked for (Accept-Language).
    await expect(page.locator("#status-message")).to_contain_text("No application matches")
    await accessible(page, "status form in English")
    await shot(page, "applicant-5-english")
    await page.click('button[data-lang="id"]')
    await expect(page.locator("#status-title")).to_have_text("Cek status permohonan")


async def test_an_applicant_cancels_and_the_place_is_given_back(page: Page, stack: Stack) -> None:
    await page.goto("/")
    await choose_first_session(page)
    await fill_person(page, 1, "Joko Widodo", ADULT_BIRTH)
    await page.click("#book-submit")
    await expect(page.locator("#cancel")).to_be_visible()
    receipt = (await page.locator(".receipt-number").first.text_content() or "").strip()
    await page.click("#cancel")
    await expect(page.locator("dialog")).to_be_visible()
    await accessible(page, "cancel dialog")
    await page.click("#cancel-yes")
    await expect(page.locator("#current-status")).to_have_text("Dibatalkan")
    await expect(page.locator("#cancel")).to_have_count(0)
    assert stack.api.status(receipt)["status"] == "CANCELLED"


async def test_the_applicant_pages_install_as_an_app(page: Page) -> None:
    await page.goto("/")
    manifest = await page.evaluate("async () => (await fetch('/manifest.webmanifest')).json()")
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    assert {"192x192", "512x512"} <= {i["sizes"] for i in manifest["icons"]}
    scope = await page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope.endswith("/")


@pytest.mark.skipif(not installed("notifier"), reason="the arrival link is e-mailed by the notifier")
async def test_the_emailed_arrival_link_confirms_and_gives_the_sheet(page: Page, stack: Stack, today_slot: int) -> None:
    booked = stack.api.book(today_slot)
    stack.api.pay(booked.receipt, booked.birth_date)

    async def link() -> str | None:
        for mail in stack.api.mailbox(booked.email):
            found = re.search(r"/arrival\?receipt=[A-Z0-9]+&(amp;)?token=[^\s\"'<]+", mail["text"])
            if found:
                return found.group(0).replace("&amp;", "&")
        return None

    path = await until(link, 15, "the arrival e-mail")
    await page.goto(path)
    await expect(page.locator("#arrival-intro")).to_contain_text(booked.receipt)
    await accessible(page, "arrival confirmation")
    await page.click("#arrival-confirm")
    await expect(page.locator("#arrival-message")).to_have_text("Terima kasih. Kedatangan Anda sudah dikonfirmasi.")
    assert "token=" not in page.url
    await fill_birth(page, "arrival-birth", booked.birth_date)
    await page.click("#arrival-status")
    await expect(page.locator("#current-status")).to_have_text("Kedatangan sudah dikonfirmasi")
    await shot(page, "applicant-6-arrival")
    assert stack.api.status(booked.receipt)["arrival_confirmed_at"] is not None
