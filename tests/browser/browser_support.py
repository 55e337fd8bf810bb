"""What the browser tests do through the API around the pages: tokens, a slot today, bookings,
signed bank notifications, walk-ins and counter calls — each as API.md describes it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from playwright.async_api import Page
from sambang_runtime.auth import DEV_HS256_SECRET, issue_dev_token
from sambang_runtime.service import discover_services

HERE = Path(__file__).resolve().parent
# tests/e2e: the stack (stack.py, conftest.py starts it) and the bank's notification (steps.py).
sys.path.insert(0, str(HERE.parent / "e2e"))
import steps  # noqa: E402

SCREENSHOTS = HERE / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
AXE = (HERE / "vendor" / "axe.min.js").read_text()


def installed(name: str) -> bool:
    """Whether a service is installed (notifier and capture arrive with their own issues)."""
    return any(d.name == name for d in discover_services())


def ensure_chromium() -> str:
    """Debian's chromium, installed with apt-get when missing (the tests run as root)."""
    if not Path(CHROMIUM).exists():
        apt = shutil.which("apt-get")
        assert apt and os.geteuid() == 0, "chromium is missing and cannot be installed (needs apt-get as root)"
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run([apt, "install", "-y", "-q", "chromium"], env=env, check=False).returncode != 0:
            subprocess.run([apt, "update", "-q"], env=env, check=True)
            subprocess.run([apt, "install", "-y", "-q", "chromium"], env=env, check=True)
    return CHROMIUM


OFFICE = "BLT"
ZONE = ZoneInfo("Asia/Jakarta")
ADULT_BIRTH = dt.date(1985, 4, 12)
ELDERLY_BIRTH = dt.date(1950, 8, 17)


def token(role: str, sub: str | None = None, *, ttl_seconds: int = 8 * 3600) -> str:
    """A dev token of office BLT (embedded mode verifies HS256 with the dev secret)."""
    return issue_dev_token(
        DEV_HS256_SECRET, sub=sub or f"test-{role}", office=OFFICE, roles=[role], ttl_seconds=ttl_seconds
    )


def bearer(role: str, sub: str | None = None) -> dict[str, str]:
    """The Authorization header of a dev token."""
    return {"Authorization": f"Bearer {token(role, sub)}"}


def new_nik() -> str:
    """A fresh 16-digit NIK (Blitar's region code), so tests never meet each other's applications."""
    return "3505" + "".join(random.choice("0123456789") for _ in range(12))


@dataclass
class Booked:
    """One booked application."""

    receipt: str
    birth_date: dt.date
    email: str


class Api:
    """The public API behind the front door."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.client = httpx.Client(base_url=base, timeout=15)

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def ok(self, resp: httpx.Response, *codes: int) -> Any:
        """The JSON body of an expected answer."""
        assert resp.status_code in (codes or (200, 201)), f"{resp.request.method} {resp.request.url}: {resp.text}"
        return resp.json() if resp.content else None

    def today_slot(self) -> int | None:
        """A slot today covering the whole day (check-in needs today's appointment), bookable at once;
        None when today is a public holiday (no slot can be planned)."""
        self.ok(
            self.client.put(
                f"/v1/offices/{OFFICE}/settings",
                json={"settings": {"first_bookable_offset_days": 0}},
                headers=bearer("admin"),
            )
        )
        today = dt.datetime.now(ZONE).date()
        plan = self.ok(
            self.client.put(
                f"/v1/offices/{OFFICE}/slots",
                json={
                    "date_from": today.isoformat(),
                    "date_to": today.isoformat(),
                    "weekdays": [1, 2, 3, 4, 5, 6, 7],
                    "sessions": [{"start": "00:00", "end": "23:59", "quota": 500}],
                },
                headers=bearer("supervisor"),
            )
        )
        if today.isoformat() in plan.get("skipped_holidays", []):
            return None
        slots = self.ok(self.client.get(f"/v1/offices/{OFFICE}/slots", params={"from": today, "to": today}))
        whole_day = [s for s in slots if s["start"].startswith("00:00")]
        return int(whole_day[0]["slot_id"]) if whole_day else None

    def book(self, slot_id: int, *, birth_date: dt.date = ADULT_BIRTH, priority: str = "NONE") -> Booked:
        """Book one applicant through the API."""
        email = f"t{random.randrange(10**9)}@example.id"
        body = {
            "office": OFFICE,
            "slot_id": slot_id,
            "service_type": "NEW",
            "passport_type": "ELECTRONIC",
            "priority_category": priority,
            "applicant": {
                "full_name": "Sri Wahyuni",
                "nik": new_nik(),
                "birth_date": birth_date.isoformat(),
                "email": email,
                "language": "id",
            },
        }
        made = self.ok(self.client.post("/v1/applications", json=body))
        return Booked(made["receipt_number"], birth_date, email)

    def bill(self, receipt: str, birth_date: dt.date, timeout: float = 15) -> dict[str, Any]:
        """The bill, once payment has issued it (it follows the registration over the bus)."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.client.post(f"/v1/bills/{receipt}/lookup", json={"birth_date": birth_date.isoformat()})
            if resp.status_code == 200:
                return dict(resp.json())
            assert time.monotonic() < deadline, f"no bill for {receipt}: {resp.text}"
            time.sleep(0.2)

    def pay(self, receipt: str, birth_date: dt.date) -> dict[str, Any]:
        """A signed bank notification paying the bill (as the dev partner BANKDEMO)."""
        bill = self.bill(receipt, birth_date)
        raw = steps.bank_notification(bill["billing_code"], bill["amount"], steps.ntpn())
        resp = self.client.post("/v1/payments/notifications", content=raw, headers=steps.bank_headers(raw))
        return dict(self.ok(resp, 200))

    def status(self, receipt: str) -> dict[str, Any]:
        """The application as an officer sees it."""
        return dict(self.ok(self.client.get(f"/v1/applications/{receipt}", headers=bearer("customer_care"))))

    def wait_status(self, receipt: str, *statuses: str, timeout: float = 15) -> dict[str, Any]:
        """Wait until the application reaches one of ``statuses``."""
        deadline = time.monotonic() + timeout
        while True:
            view = self.status(receipt)
            if view["status"] in statuses:
                return view
            assert time.monotonic() < deadline, f"{receipt} stayed {view['status']}, not {statuses}"
            time.sleep(0.2)

    def walk_in(self, category: str = "ELDERLY", birth_date: dt.date = ELDERLY_BIRTH) -> dict[str, Any]:
        """A priority applicant registered and checked in at once by customer care."""
        body = {
            "service_type": "NEW",
            "passport_type": "ELECTRONIC",
            "priority_category": category,
            "applicant": {
                "full_name": "Mbah Karto",
                "nik": new_nik(),
                "birth_date": birth_date.isoformat(),
                "language": "id",
            },
        }
        resp = self.client.post(f"/v1/offices/{OFFICE}/walk-ins", json=body, headers=bearer("customer_care"))
        return dict(self.ok(resp, 201))

    def check_in(self, receipt: str) -> dict[str, Any]:
        """Check in at the desk."""
        resp = self.client.post(
            f"/v1/offices/{OFFICE}/check-ins", json={"receipt_number": receipt}, headers=bearer("customer_care")
        )
        return dict(self.ok(resp, 200, 201))

    def call_next(self, counter: str, stage: str = "VERIFICATION") -> httpx.Response:
        """A counter calls its next ticket."""
        return self.client.post(
            f"/v1/offices/{OFFICE}/counters/{counter}/call-next", json={"stage": stage}, headers=bearer("verifier")
        )

    def mailbox(self, to: str) -> list[dict[str, Any]]:
        """Mail the embedded SMTP sink caught for one address."""
        return list(self.ok(self.client.get("/v1/dev/mailbox", params={"to": to})))


async def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot under tests/browser/screenshots/."""
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def accessible(page: Page, name: str) -> None:
    """axe-core in the page: no serious or critical violation (WCAG 2.x A/AA and best practice)."""
    # Evaluated through the DevTools protocol, which the pages' Content-Security-Policy does not cover.
    await page.evaluate(f"() => {{ {AXE}\n }}")
    result: dict[str, Any] = await page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert not bad, f"accessibility violations on {name}: {bad}"


async def until(predicate: Any, timeout: float = 10, what: str = "condition") -> Any:
    """Wait for an async predicate to return something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


@dataclass
class Stack:
    """The embedded stack: where its front door listens, and its API."""

    url: str
    api: Api
    log: Path


def write_y4m(image: Any, path: Path, frames: int = 10) -> None:
    """A still picture as a Y4M video (4:2:0), for chromium's --use-file-for-fake-video-capture."""
    width, height = image.size
    y, cb, cr = image.convert("YCbCr").split()
    half = (width // 2, height // 2)
    frame = b"FRAME\n" + y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)


class CuttableProxy:
    """A TCP relay in front of the front door whose open connections the test can cut at once, as a
    dropped Wi-Fi or a restarted replica would (Playwright's offline mode leaves open streams alone)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> str:
        """Listen on a free loopback port; the URL to open pages through."""
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> int:
        """Close every open connection; new ones are relayed again. Returns how many were cut."""
        writers = list(self._writers)
        for w in writers:
            w.close()
        return len(writers)

    async def stop(self) -> None:
        """Cut everything and stop listening."""
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
