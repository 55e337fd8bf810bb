"""The web clients in a real browser: Debian's chromium driven by Playwright (Python) against the
embedded stack (``python -m sambang_runtime.launcher run``) started as a process on a random port
offset. Chromium is installed with apt-get when /usr/bin/chromium is missing (never
``playwright install``). Screenshots go to tests/browser/screenshots/ (git-ignored)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from browser_support import CHROMIUM_ARGS, Api, Stack, ensure_chromium
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from stack import embedded, wait_serving  # tests/e2e/stack.py (browser_support puts it on the path)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Every service and the front door in one process (``make run``), SQLite, in-memory bus."""
    tmp = tmp_path_factory.mktemp("browser-stack")
    settings = {
        "SAMBANG_LOG_LEVEL": "WARNING",
        # Every page in these tests comes from 127.0.0.1: one applicant as far as the limits know.
        "SAMBANG_QUEUE_LOOKUP_BURST": "100000",
        "SAMBANG_PAYMENT_LOOKUP_BURST": "100000",
        # Short stream tickets, so that a reconnection after a cut needs a new one (display test).
        "SAMBANG_NOTIFIER_STREAM_TICKET_SECONDS": "5",
    }
    with embedded(tmp, settings) as run:
        wait_serving(run, timeout=120)
        api = Api(run.front_door)
        yield Stack(run.front_door, api, run.log)
        api.close()


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
