"""The web clients in a real browser: Debian's chromium driven by Playwright (Python) against the
embedded stack (``python -m sambang_runtime.launcher run``) started as a process on a random port
offset. Chromium is installed with apt-get when /usr/bin/chromium is missing (never
``playwright install``). Screenshots go to tests/browser/screenshots/ (git-ignored)."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from browser_support import CHROMIUM_ARGS, Api, Stack, ensure_chromium
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from sambang_runtime.launcher import FRONT_DOOR_PORT


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every service and the front door in one process (``make run``), SQLite, in-memory bus."""
    tmp = tmp_path_factory.mktemp("browser-stack")
    offset = 20000 + random.randrange(0, 900) * 10
    url = f"http://127.0.0.1:{FRONT_DOOR_PORT + offset}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMBANG_")}
    env.update(
        {
            "SAMBANG_VAR_DIR": str(tmp / "var"),
            "SAMBANG_LOG_LEVEL": "WARNING",
            "SAMBANG_PUBLIC_BASE_URL": url,
            # Every page in these tests comes from 127.0.0.1: one applicant as far as the limits know.
            "SAMBANG_QUEUE_LOOKUP_BURST": "100000",
            "SAMBANG_PAYMENT_LOOKUP_BURST": "100000",
            # Short stream tickets, so that a reconnection after a cut needs a new one (display test).
            "SAMBANG_NOTIFIER_STREAM_TICKET_SECONDS": "5",
        }
    )
    log = tmp / "stack.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sambang_runtime.launcher", "run", "--port-offset", str(offset)],
            env=env,
            cwd=tmp,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, log.read_text()[-3000:]
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{url}/readyz", timeout=3).status_code == 200:
                        break
                assert time.monotonic() < deadline, "the embedded stack was not ready in 120 s"
                time.sleep(0.3)
            api = Api(url)
            yield Stack(url, api, log)
            api.close()
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="session")
def today_slot(stack: Stack) -> int:
    """A whole-day slot today: a booking that can check in now."""
    slot = stack.api.today_slot()
    if slot is None:
        pytest.skip("today is a public holiday: no slot can be planned for a check-in today")
    return slot


@pytest_asyncio.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One chromium for the session."""
    path = ensure_chromium()
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture
async def context(browser: Browser, stack: Stack) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (storage, service workers) per test."""
    ctx = await browser.new_context(base_url=stack.url, viewport={"width": 1024, "height": 1280}, accept_downloads=True)
    yield ctx
    await ctx.close()


@pytest_asyncio.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A page that fails the test on an uncaught script error."""
    p = await context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    yield p
    assert not errors, f"script errors on the page: {errors}"
