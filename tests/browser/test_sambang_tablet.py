"""The sambang officer's tablet at /tablet/: a new priority applicant appears without a reload,
the officer claims and captures at the seat (the fake camera films a face; fingerprints and a photo
are uploaded fixtures), completes, and the capture service holds it — also through a dropped
connection, from the outbox in IndexedDB."""

from __future__ import annotations

import importlib.util
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio
from browser_support import CHROMIUM_ARGS, Stack, accessible, bearer, installed, shot, token, until, write_y4m
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

pytestmark = pytest.mark.skipif(
    not (installed("notifier") and installed("capture")), reason="the tablet needs the notifier's stream and capture"
)
ROOT = Path(__file__).resolve().parents[2]


def capture_images() -> ModuleType:
    """The capture service's own test images (a face that passes its photo checks, synthetic prints)."""
    path = ROOT / "services" / "capture" / "tests" / "capture_images.py"
    spec = importlib.util.spec_from_file_location("capture_images", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Files the officer picks: a photo, ten fingerprints; and the camera's video of a face."""
    images = capture_images()
    folder = tmp_path_factory.mktemp("tablet-fixtures")
    photo = folder / "photo.jpg"
    photo.write_bytes(images.portrait_jpeg())
    out = {"photo": photo}
    for p in range(1, 11):
        out[f"fp{p}"] = folder / f"finger-{p}.png"
        out[f"fp{p}"].write_bytes(images.fingerprint_png(seed=p))
    face = Image.open(io.BytesIO(images.portrait_jpeg())).convert("RGB")
    width, height = face.size
    face = face.resize((width - width % 2, height - height % 2))
    out["video"] = folder / "face.y4m"
    write_y4m(face, out["video"])
    return out


@pytest_asyncio.fixture(scope="module")
async def camera_browser(browser: Browser, fixtures: dict[str, Path]) -> AsyncIterator[Browser]:
    """A chromium whose fake camera films the face (getUserMedia gets these frames)."""
    launched = await browser.browser_type.launch(
        executable_path="/usr/bin/chromium",
        args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={fixtures['video']}"],
    )
    yield launched
    await launched.close()


@pytest_asyncio.fixture
async def tablet(camera_browser: Browser, stack: Stack) -> AsyncIterator[tuple[BrowserContext, Page]]:
    """A tablet-sized page, signed in as a sambang officer."""
    context = await camera_browser.new_context(base_url=stack.url, viewport={"width": 1024, "height": 1366})
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto("/tablet/")
    await accessible(page, "tablet sign-in")
    await page.fill("#token", token("sambang_officer", "officer-ani"))
    await page.click("#signin-submit")
    await expect(page.locator("#worklist")).to_be_visible()
    await expect(page.locator("#stream-state")).to_have_attribute("data-state", "live", timeout=10000)
    yield context, page
    await context.close()
    assert not errors, f"script errors on the tablet: {errors}"


async def claim_new_walk_in(page: Page, stack: Stack) -> dict[str, Any]:
    """A priority walk-in arrives; its card appears by itself; the officer claims it."""
    visit = stack.api.walk_in()
    card = page.locator(f'[data-visit="{visit["visit_id"]}"]')
    await expect(card).to_be_visible(timeout=5000)
    await expect(card).to_contain_text(f"Kursi {visit['seat']}")
    await expect(card).to_contain_text("Lansia")
    await card.locator("button.claim").click()
    await expect(page.locator("#capture-title")).to_have_text(f"Layanan di {visit['seat']}")
    return visit


async def capture_everything(page: Page, fixtures: dict[str, Path], *, camera: bool) -> None:
    """Documents, photo, fingerprints (one exception), signature, interview; then complete."""
    # 1. documents: everything shown and matching (the checklist comes with capture's summary)
    await expect(page.locator("#panel h2")).to_have_text("Dokumen")
    await expect(page.locator('#panel input[type="radio"][value="OK"]').first).to_be_visible()
    for radio in await page.locator('#panel input[type="radio"][value="OK"]').all():
        await radio.check()
    await page.click("#save-documents")
    # 2. photo
    await expect(page.locator("#panel h2")).to_have_text("Foto")
    if camera:
        await expect(page.locator("#take-photo")).to_be_enabled(timeout=10000)
        await page.wait_for_function("() => document.querySelector('#panel video').videoWidth > 0")
        await page.click("#take-photo")
    else:
        await page.set_input_files("#photo-file", str(fixtures["photo"]))
    await page.click('#panel button:has-text("Lanjut")')
    # 3. fingerprints: nine from files, the tenth bandaged (a supervisor approves)
    await page.fill("#approval", token("supervisor", "supervisor-budi", ttl_seconds=600))
    for p in range(1, 10):
        await page.set_input_files(f"#fp-file-{p}", str(fixtures[f"fp{p}"]))
    await page.locator(".finger").nth(9).locator("summary").click()
    await page.select_option("#fp-reason-10", "BANDAGED")
    await page.click("#fp-except-10")
    await page.click('#panel > .actions button:has-text("Lanjut")')
    # 4. signature drawn with the finger
    box = await page.locator("canvas.signature").bounding_box()
    assert box
    await page.mouse.move(box["x"] + 40, box["y"] + 120)
    await page.mouse.down()
    for i in range(1, 30):
        await page.mouse.move(box["x"] + 40 + i * 15, box["y"] + 120 + (25 if i % 2 else -25))
    await page.mouse.up()
    await page.click("#save-signature")
    # 5. interview
    await page.check('input[name="decision"][value="APPROVED"]')
    await page.fill("#int-notes", "Pemohon lansia, dokumen lengkap.")
    await page.click("#save-interview")
    # 6. complete
    await expect(page.locator("#panel h2")).to_have_text("Selesai")
    await page.click("#complete")


def held_by_capture(stack: Stack, receipt: str) -> dict[str, Any]:
    """What the capture service holds for the receipt."""
    resp = stack.api.client.get(f"/v1/captures/{receipt}", headers=bearer("interviewer"))
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_an_officer_sees_a_new_priority_applicant_claims_captures_and_completes(
    tablet: tuple[BrowserContext, Page], stack: Stack, fixtures: dict[str, Path]
) -> None:
    _, page = tablet
    await shot(page, "tablet-1-worklist")
    visit = await claim_new_walk_in(page, stack)
    receipt = visit["receipt_number"]
    await accessible(page, "tablet documents step")
    await shot(page, "tablet-2-documents")
    await capture_everything(page, fixtures, camera=True)
    await expect(page.locator("#capture-message")).to_have_text("Layanan selesai. Data sudah tersimpan.", timeout=20000)
    await accessible(page, "tablet complete step")
    await shot(page, "tablet-3-complete")
    # The photo from the camera passed the checks, shown in words.
    await page.click('#steps button[data-step="photo"]')
    await expect(page.locator('[data-item="photo"] .checks')).to_contain_text("Satu wajah terlihat")
    await shot(page, "tablet-4-photo-checks")
    held = held_by_capture(stack, receipt)
    assert held["completion"] is not None and held["completion"]["mode"] == "SAMBANG"
    assert held["completion"]["seat"] == visit["seat"]
    assert held["interview"]["decision"] == "APPROVED"
    kinds = sorted(i["kind"] for i in held["items"])
    assert kinds.count("FINGERPRINT") == 9 and "PHOTO" in kinds and "SIGNATURE" in kinds
    assert [(e["kind"], e["position"]) for e in held["exceptions"]] == [("FINGERPRINT", 10)]


async def test_the_tablet_going_offline_mid_capture_and_back_loses_nothing(
    tablet: tuple[BrowserContext, Page], stack: Stack, fixtures: dict[str, Path]
) -> None:
    context, page = tablet
    visit = await claim_new_walk_in(page, stack)
    receipt = visit["receipt_number"]
    await context.set_offline(True)
    await expect(page.locator("#net-state")).to_have_attribute("data-state", "offline")
    await capture_everything(page, fixtures, camera=False)
    await expect(page.locator("#pending")).to_contain_text("menunggu dikirim")
    await expect(page.locator('#steps button[data-step="photo"]')).to_have_attribute("data-state", "queued")
    await shot(page, "tablet-5-offline")
    assert held_by_capture(stack, receipt)["completion"] is None  # nothing reached the service yet

    await context.set_offline(False)
    await expect(page.locator("#pending")).to_be_hidden(timeout=30000)
    await expect(page.locator("#capture-message")).to_have_text("Layanan selesai. Data sudah tersimpan.")

    async def completed() -> dict[str, Any] | None:
        held = held_by_capture(stack, receipt)
        return held if held["completion"] else None

    held = await until(completed, 10, "the capture to be completed")
    assert held["documents"]["complete"] is True
    assert sum(1 for i in held["items"] if i["kind"] == "FINGERPRINT") == 9
    assert {i["kind"] for i in held["items"]} == {"PHOTO", "FINGERPRINT", "SIGNATURE"}
    assert held["interview"]["decision"] == "APPROVED" and held["missing"] == []


async def test_a_capture_not_yet_known_to_capture_shows_the_checklist_capture_served(
    tablet: tuple[BrowserContext, Page], stack: Stack
) -> None:
    """The tablet keeps no checklist of its own: before capture has heard of an application (a walk-in
    registered moments ago), the documents step lists what capture's checklist endpoint served."""
    context, page = tablet
    served = [{"requirement": "KK", "kinds": ["KK"], "holder": "APPLICANT"}]
    asked: list[str] = []

    async def checklist(route: Route) -> None:
        asked.append(route.request.url)
        await route.fulfill(status=200, content_type="application/json", body=json.dumps(served))

    async def not_known_yet(route: Route) -> None:
        problem = {"type": "about:blank", "title": "Not found", "status": 404, "code": "application_not_found"}
        await route.fulfill(status=404, content_type="application/problem+json", body=json.dumps(problem))

    await context.route("**/v1/captures/checklists/NEW", checklist)
    await context.route(re.compile(r".*/v1/captures/[A-Z]{3}[0-9]{13}$"), not_known_yet)
    await page.reload()  # signed in again from the session: the checklist is asked anew
    await expect(page.locator("#worklist")).to_be_visible()
    await claim_new_walk_in(page, stack)
    await expect(page.locator("#panel h2")).to_have_text("Dokumen")
    await expect(page.locator("#panel .doc-row")).to_have_count(1)
    await expect(page.locator("#panel .doc-row h3")).to_have_text("Kartu Keluarga")
    assert asked, "the tablet never asked capture for the checklist"
