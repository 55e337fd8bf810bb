"""The sambang officer's tablet at /tablet/: a new priority applicant appears without a reload,
the officer claims and captures at the seat (the fake camera films a face; fingerprints and a photo
are uploaded fixtures), completes, and the capture service holds it — also through a dropped
connection, from the outbox in IndexedDB."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jwt
import pytest
import pytest_asyncio
from browser_support import CHROMIUM_ARGS, Stack, accessible, bearer, installed, shot, token, until, write_y4m
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Page, Request, Response, Route, expect

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


def approval_of(stack: Stack, receipt: str, position: int, supervisor: str = "supervisor-budi") -> str:
    """An approval of a fingerprint exception, issued by a supervisor on their own device."""
    resp = stack.api.client.post(
        "/v1/approvals",
        json={"action": "fingerprint_exception", "subject": receipt, "position": position},
        headers=bearer("supervisor", supervisor),
    )
    return str(stack.api.ok(resp, 201)["token"])


async def capture_everything(
    page: Page, fixtures: dict[str, Path], *, camera: bool, approval: str | None = None
) -> None:
    """Documents, photo, fingerprints (one exception), signature, interview; then complete. The
    exception's approval: ``approval`` pasted, else the supervisor types their own token in."""
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
    for p in range(1, 10):
        await page.set_input_files(f"#fp-file-{p}", str(fixtures[f"fp{p}"]))
    await page.locator(".finger").nth(9).locator("summary").click()
    await page.select_option("#fp-reason-10", "BANDAGED")
    await page.fill("#approval", approval or token("supervisor", "supervisor-budi", ttl_seconds=600))
    await page.click("#fp-except-10")
    await expect(page.locator('[data-item="fp10"]')).to_have_attribute("data-state", re.compile("queued|done"))
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
    approval = approval_of(stack, receipt, 10)  # asked on the supervisor's device; the tablet is offline
    await context.set_offline(True)
    await expect(page.locator("#net-state")).to_have_attribute("data-state", "offline")
    await capture_everything(page, fixtures, camera=False, approval=approval)
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


# --- #16: the tablet leaves nothing behind, seals what waits, and never mixes officers ---------------

READ_OUTBOX = """async () => {
  const names = (await indexedDB.databases()).map((d) => d.name);
  if (!names.includes('sambang-tablet')) return null;
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open('sambang-tablet');
    r.onsuccess = () => ok(r.result);
    r.onerror = () => fail(r.error);
  });
  try {
    if (!db.objectStoreNames.contains('outbox')) return [];
    const rows = await new Promise((ok, fail) => {
      const q = db.transaction('outbox').objectStore('outbox').getAll();
      q.onsuccess = () => ok(q.result);
      q.onerror = () => fail(q.error);
    });
    const b64 = (buf) => {
      const bytes = new Uint8Array(buf);
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(s);
    };
    return rows.map((r) => ({
      fields: Object.keys(r).sort(),
      sub: r.sub, key: r.key, receipt: r.receipt, path: r.path,
      sealed: r.sealed instanceof ArrayBuffer ? b64(r.sealed) : null,
    }));
  } finally {
    db.close();
  }
}"""

WATCH_KEYS = """(() => {
  const original = SubtleCrypto.prototype.generateKey;
  window.__keysMade = [];
  SubtleCrypto.prototype.generateKey = async function (algorithm, extractable, usages) {
    const key = await original.call(this, algorithm, extractable, usages);
    window.__keysMade.push({ algorithm, asked: extractable, key });
    return key;
  };
})();"""

KEYS_MADE = """async () => Promise.all(window.__keysMade.map(async (k) => ({
  name: k.algorithm.name,
  length: k.algorithm.length,
  asked: k.asked,
  extractable: k.key.extractable,
  exported: await crypto.subtle.exportKey('raw', k.key).then(() => true, () => false),
})))"""

STORAGE = """() => ({
  session: Object.fromEntries(Object.keys(sessionStorage).map((k) => [k, sessionStorage.getItem(k)])),
  local: Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)])),
})"""


async def outbox(page: Page) -> list[dict[str, Any]]:
    """The outbox records as IndexedDB holds them (an absent database reads as empty)."""
    return list(await page.evaluate(READ_OUTBOX) or [])


def sub_of(request: Request) -> str | None:
    """The officer whose bearer token a request carries."""
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer "):
        return None
    return str(jwt.decode(auth[7:], options={"verify_signature": False}).get("sub"))


class CaptureWrites:
    """Every write to capture for one receipt the tablet makes (method, path, officer, approval header),
    and a switch for what the network does with them: let them through, drop them (the Wi-Fi is down at
    the seat), or refuse one officer's token with 401 (it expired or was revoked at the server)."""

    def __init__(self, receipt: str) -> None:
        self.receipt = receipt
        self.mode = "pass"
        self.refused_sub: str | None = None
        self.seen: list[tuple[str, str, str | None, str | None]] = []

    async def install(self, context: BrowserContext) -> None:
        """Route the receipt's capture calls through this switch."""
        await context.route(re.compile(rf".*/v1/captures/{self.receipt}/.*"), self.handle)

    async def handle(self, route: Route) -> None:
        request = route.request
        if request.method not in ("PUT", "POST"):
            await route.continue_()
            return
        who = sub_of(request)
        path = request.url.split("/v1/captures/", 1)[1]
        self.seen.append((request.method, path, who, request.headers.get("x-supervisor-approval")))
        if self.mode == "drop":
            await route.abort("internetdisconnected")
        elif self.mode == "refuse" and who == self.refused_sub:
            problem = {"type": "about:blank", "title": "Unauthorized", "status": 401, "code": "token_expired"}
            await route.fulfill(status=401, content_type="application/problem+json", body=json.dumps(problem))
        else:
            await route.continue_()

    def by(self, sub: str) -> list[tuple[str, str, str | None, str | None]]:
        """The writes made with one officer's token."""
        return [w for w in self.seen if w[2] == sub]


async def documents_and_photo(page: Page, fixtures: dict[str, Path]) -> None:
    """The first two steps: every document shown, the photo from a file."""
    await expect(page.locator("#panel h2")).to_have_text("Dokumen")
    for radio in await page.locator('#panel input[type="radio"][value="OK"]').all():
        await radio.check()
    await page.click("#save-documents")
    await expect(page.locator("#panel h2")).to_have_text("Foto")
    await page.set_input_files("#photo-file", str(fixtures["photo"]))
    await expect(page.locator('#steps button[data-step="photo"]')).to_have_attribute("data-state", "queued")


def nothing_captured(stack: Stack, receipt: str) -> None:
    """Capture holds nothing of the receipt: no item, no exception, no documents, no interview."""
    held = held_by_capture(stack, receipt)
    assert held["items"] == [] and held["exceptions"] == [] and held["interview"] is None, held
    assert not (held.get("documents") or {}).get("items"), held


async def sign_in(page: Page, who: str) -> str:
    """Sign in at the form as a sambang officer; the token used."""
    signed = token("sambang_officer", who)
    await page.fill("#token", signed)
    await page.click("#signin-submit")
    await expect(page.locator("#signin")).to_be_hidden()
    return signed


async def test_signing_out_leaves_nothing_behind(
    tablet: tuple[BrowserContext, Page], stack: Stack, fixtures: dict[str, Path]
) -> None:
    context, page = tablet
    visit = await claim_new_walk_in(page, stack)
    receipt = visit["receipt_number"]
    approval = approval_of(stack, receipt, 10)
    await context.set_offline(True)
    await documents_and_photo(page, fixtures)
    await page.click('#steps button[data-step="fingerprints"]')
    await page.set_input_files("#fp-file-1", str(fixtures["fp1"]))
    await page.locator(".finger").nth(9).locator("summary").click()
    await page.fill("#approval", approval)
    await page.click("#fp-except-10")
    await page.click('#steps button[data-step="interview"]')
    await page.check('input[name="decision"][value="APPROVED"]')
    await page.fill("#int-notes", "Catatan pribadi pemohon.")
    await page.click("#save-interview")
    await expect(page.locator("#pending")).to_have_text("5 langkah menunggu dikirim")
    rows = await outbox(page)
    assert len(rows) == 5 and {r["sub"] for r in rows} == {"officer-ani"}
    kept = await page.evaluate(STORAGE)
    assert kept["session"], "the tablet keeps its session in sessionStorage while signed in"

    await page.click("#sign-out")
    await expect(page.locator("#signin")).to_be_visible()
    await expect(page.locator("#signin-message")).to_have_text(
        "Anda sudah keluar. Tidak ada data yang tertinggal di tablet ini."
    )
    await expect(page.locator("#pending")).to_be_hidden()
    kept = await page.evaluate(STORAGE)
    assert kept["session"] == {}
    assert await outbox(page) == []
    # Nothing of the applicant or the tokens anywhere the page can reach (localStorage keeps the device id).
    html = await page.content()
    assert receipt not in html and visit["seat"] not in await page.locator("#main").inner_text()
    for value in kept["local"].values():
        assert receipt not in value and approval not in value and "eyJ" not in value
    await accessible(page, "tablet signed out")
    await shot(page, "tablet-6-signed-out")

    # Back online and signed in again: nothing taken before the sign-out is ever sent.
    await context.set_offline(False)
    await sign_in(page, "officer-ani")
    await expect(page.locator("#pending")).to_be_hidden()
    await page.wait_for_timeout(1500)
    nothing_captured(stack, receipt)


async def test_what_waits_offline_is_ciphertext_and_a_reload_discards_it_plainly(
    tablet: tuple[BrowserContext, Page], stack: Stack, fixtures: dict[str, Path]
) -> None:
    context, page = tablet
    await page.add_init_script(WATCH_KEYS)
    await page.reload()  # signed in again from the session, now with WebCrypto watched
    await expect(page.locator("#worklist")).to_be_visible()
    visit = await claim_new_walk_in(page, stack)
    receipt = visit["receipt_number"]
    writes = CaptureWrites(receipt)
    await writes.install(context)
    writes.mode = "drop"
    await expect(page.locator("#panel h2")).to_have_text("Dokumen")
    await page.click('#steps button[data-step="photo"]')
    await page.set_input_files("#photo-file", str(fixtures["photo"]))
    await expect(page.locator('#steps button[data-step="photo"]')).to_have_attribute("data-state", "queued")

    jpeg = fixtures["photo"].read_bytes()
    [row] = await outbox(page)
    assert row["key"] == "photo" and row["sub"] == "officer-ani"
    assert "body" not in row["fields"] and "headers" not in row["fields"], row["fields"]
    sealed = base64.b64decode(row["sealed"])
    assert len(sealed) == len(jpeg) + 16  # AES-GCM: the same length, plus its 16-byte tag
    assert not sealed.startswith(b"\xff\xd8\xff") and sealed != jpeg
    assert jpeg[:32] not in sealed and jpeg[-32:] not in sealed and jpeg[len(jpeg) // 2 :][:32] not in sealed
    # The key is WebCrypto's AES-GCM, made not extractable (exporting it fails), and in no storage.
    keys = await page.evaluate(KEYS_MADE)
    assert keys == [{"name": "AES-GCM", "length": 256, "asked": False, "extractable": False, "exported": False}]
    kept = await page.evaluate(STORAGE)
    assert all("AES" not in v and 'k":' not in v for v in [*kept["session"].values(), *kept["local"].values()])

    # A reload takes the key with it: the step can no longer be sent, and the page says so.
    await page.reload()
    await expect(page.locator("#outbox-notice")).to_have_text(
        "1 langkah yang diambil sebelum halaman dimuat ulang tidak dapat dikirim dan sudah dihapus: "
        "kuncinya hilang bersama halaman itu. Ambil lagi langkah tersebut."
    )
    await expect(page.locator("#capture-title")).to_have_text(f"Layanan di {visit['seat']}")
    await expect(page.locator('#steps button[data-step="photo"]')).to_have_attribute("data-state", "error")
    await expect(page.locator("#pending")).to_be_hidden()
    assert await outbox(page) == []
    await accessible(page, "tablet after a reload discarded a step")
    await shot(page, "tablet-7-discarded")
    writes.mode = "pass"
    await page.wait_for_timeout(1500)
    assert [w for w in writes.seen if w[1].endswith("/photo")] == [("PUT", f"{receipt}/photo", "officer-ani", None)]
    nothing_captured(stack, receipt)

    # Taken again, it goes.
    await page.click('#steps button[data-step="photo"]')
    await page.set_input_files("#photo-file", str(fixtures["photo"]))
    await expect(page.locator('#steps button[data-step="photo"]')).to_have_attribute(
        "data-state", "done", timeout=15000
    )


async def queue_and_end_session(
    context: BrowserContext, page: Page, stack: Stack, fixtures: dict[str, Path]
) -> tuple[str, CaptureWrites]:
    """officer-ani claims a walk-in and takes two steps that cannot go out; then the server refuses
    ani's token and the tablet goes back to its sign-in form, keeping the steps."""
    visit = await claim_new_walk_in(page, stack)
    receipt = visit["receipt_number"]
    writes = CaptureWrites(receipt)
    await writes.install(context)
    writes.mode = "drop"
    await documents_and_photo(page, fixtures)
    await expect(page.locator("#pending")).to_have_text("2 langkah menunggu dikirim")
    writes.mode, writes.refused_sub = "refuse", "officer-ani"
    await page.evaluate("() => window.dispatchEvent(new Event('online'))")  # try again now
    await expect(page.locator("#signin")).to_be_visible(timeout=10000)
    await expect(page.locator("#signin-message")).to_contain_text("Sesi Anda berakhir")
    assert [r["sub"] for r in await outbox(page)] == ["officer-ani", "officer-ani"]
    return receipt, writes


async def test_steps_of_one_officer_are_never_sent_with_another_officers_token(
    tablet: tuple[BrowserContext, Page], stack: Stack, fixtures: dict[str, Path]
) -> None:
    context, page = tablet
    receipt, writes = await queue_and_end_session(context, page, stack, fixtures)
    writes.mode = "pass"
    await sign_in(page, "officer-dewi")
    await expect(page.locator("#worklist")).to_be_visible()  # never ani's capture
    await expect(page.locator("#pending")).to_have_text(
        "2 langkah petugas lain disimpan, tidak dikirim dengan token Anda"
    )
    await expect(page.locator("#pending")).to_have_attribute("data-others", "2")
    for _ in range(2):  # the connection comes and goes: still nothing of ani's goes with dewi's token
        await page.evaluate("() => window.dispatchEvent(new Event('online'))")
        await page.wait_for_timeout(1000)
    assert writes.by("officer-dewi") == []
    assert [r["sub"] for r in await outbox(page)] == ["officer-ani", "officer-ani"]
    nothing_captured(stack, receipt)
    await accessible(page, "tablet holding another officer's steps")

    # dewi signs out: the tablet is cleared, ani's steps with it (their key is gone too).
    await page.click("#sign-out")
    assert await outbox(page) == []
    assert (await page.evaluate(STORAGE))["session"] == {}
    await page.wait_for_timeout(500)
    assert writes.by("officer-dewi") == []
    nothing_captured(stack, receipt)


async def test_the_same_officer_signing_in_again_sends_their_kept_steps(
    tablet: tuple[BrowserContext, Page], stack: Stack, fixtures: dict[str, Path]
) -> None:
    context, page = tablet
    receipt, writes = await queue_and_end_session(context, page, stack, fixtures)
    writes.mode = "pass"
    await sign_in(page, "officer-ani")  # a fresh token of the same officer
    await expect(page.locator("#capture-title")).to_be_visible()  # back at ani's capture
    await expect(page.locator("#pending")).to_be_hidden(timeout=15000)
    await expect(page.locator('#steps button[data-step="photo"]')).to_have_attribute("data-state", "done")
    assert {w[2] for w in writes.seen} == {"officer-ani"}
    held = held_by_capture(stack, receipt)
    assert [i["kind"] for i in held["items"]] == ["PHOTO"] and held["documents"]["complete"] is True


async def test_a_supervisor_approves_one_finger_once_and_the_tablet_keeps_nothing_of_it(
    tablet: tuple[BrowserContext, Page], stack: Stack
) -> None:
    context, page = tablet
    visit = await claim_new_walk_in(page, stack)
    receipt = visit["receipt_number"]
    writes = CaptureWrites(receipt)
    await writes.install(context)
    approvals: list[tuple[str | None, dict[str, Any], dict[str, Any]]] = []

    async def on_response(resp: Response) -> None:
        if resp.url.endswith("/v1/approvals") and resp.request.method == "POST":
            approvals.append((sub_of(resp.request), json.loads(resp.request.post_data or "{}"), await resp.json()))

    page.on("response", on_response)
    await page.click('#steps button[data-step="fingerprints"]')
    await page.locator(".finger").nth(9).locator("summary").click()
    await page.select_option("#fp-reason-10", "BANDAGED")

    # No approval, an interviewer's token, the officer's own: each refused on the tablet, in words.
    await page.click("#fp-except-10")
    await expect(page.locator("#capture-message")).to_have_text("Pengecualian perlu persetujuan supervisor.")
    await page.fill("#approval", token("interviewer", "interviewer-rudi"))
    await page.click("#fp-except-10")
    await expect(page.locator("#capture-message")).to_have_text("Ini bukan token supervisor atau token persetujuan.")
    await page.fill("#approval", approval_of(stack, receipt, 9))
    await page.click("#fp-except-10")
    await expect(page.locator("#capture-message")).to_have_text("Token persetujuan ini untuk pemohon atau jari lain.")
    assert writes.seen == [] and approvals == []
    await accessible(page, "tablet fingerprint approval")

    # The supervisor types their own token: the tablet asks for an approval of finger 10 of this receipt.
    supervisor = token("supervisor", "supervisor-budi", ttl_seconds=600)
    await page.fill("#approval", supervisor)
    await page.click("#fp-except-10")
    await expect(page.locator('[data-item="fp10"]')).to_have_attribute("data-state", "done", timeout=15000)
    await expect(page.locator("#approval")).to_have_value("")
    [(approver, asked, issued)] = approvals
    assert approver == "supervisor-budi"
    assert asked == {"action": "fingerprint_exception", "subject": receipt, "position": 10}
    claims = jwt.decode(issued["token"], options={"verify_signature": False})
    assert claims["aud"] == "sambang-approval" and claims["position"] == 10 and claims["subject"] == receipt
    # Sent once, in the header of that one step, with the officer's own token; never the supervisor's login.
    with_approval = [w for w in writes.seen if w[3]]
    assert with_approval == [("PUT", f"{receipt}/fingerprints/10/exception", "officer-ani", issued["token"])]
    assert all(w[3] != supervisor for w in writes.seen)
    held = held_by_capture(stack, receipt)
    assert [(e["kind"], e["position"]) for e in held["exceptions"]] == [("FINGERPRINT", 10)]

    # Nothing of either token is kept: not in storage, not in IndexedDB, not in the page.
    kept = await page.evaluate(STORAGE)
    for value in [*kept["session"].values(), *kept["local"].values()]:
        assert supervisor not in value and issued["token"] not in value
    assert await outbox(page) == []
    assert supervisor not in await page.content()

    # Never reused: the next exception needs an approval of its own.
    await page.locator(".finger").nth(8).locator("summary").click()
    await page.click("#fp-except-9")
    await expect(page.locator("#capture-message")).to_have_text("Pengecualian perlu persetujuan supervisor.")
    pasted = approval_of(stack, receipt, 9)  # issued on the supervisor's own device, pasted here
    await page.fill("#approval", pasted)
    await page.click("#fp-except-9")
    await expect(page.locator('[data-item="fp9"]')).to_have_attribute("data-state", "done", timeout=15000)
    assert len(approvals) == 1  # a pasted approval is used as it is
    assert [w[3] for w in writes.seen if w[3]] == [issued["token"], pasted]
