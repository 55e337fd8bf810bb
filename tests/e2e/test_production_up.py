"""A production `launcher up` on generated secrets runs the whole journey (#16, "Done when").

`python -m sambang_runtime.launcher up` with ``SAMBANG_ENVIRONMENT=production`` and the keys `make
secrets` generates (``sambang_runtime.deployment.write_secrets`` into a temporary folder): no demo bank,
no development mailbox, no simulator behind the front door, no seeded office, no development key. What a
development stack gets for free comes from outside, as at a live office:

- SIMKIM is the simulator run as the outside system: its own process (development), the gateway's
  ``SAMBANG_SIMKIM_GATEWAY_SIMKIM_URL`` pointing to it;
- e-mail goes to an SMTP server this test runs (aiosmtpd), where the arrival link is read;
- the office is created by its admin through the API; the bank partner by one national admin with a
  second national admin's approval, its secret shown once and used to sign the bank's webhook;
- every officer's token is signed with the generated HS256 secret (a development-signed one is refused).

Then the journey: book, pay, confirm arrival, check in, documents, capture, interview, complete,
submission to SIMKIM, issued, handed over. And the front door answers 404 for ``/simkim/`` and
``/v1/dev/mailbox``.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stack as stack_module
import steps as j
from sambang_runtime.auth import DEV_HS256_SECRET, issue_dev_token
from sambang_runtime.deployment import read_env, write_secrets
from sambang_runtime.service import discover_services
from sambang_runtime.testing import Servers, wait_ready
from stack import OFFICE, Stack, launched, officer, until

PRODUCTION_SERVICES = [d for d in discover_services() if not d.development_only]
#: The bank partner the national admins register (not the development BANKDEMO, which production lacks).
PARTNER = "BANKE2E"
#: The variables of `make secrets`' deploy/.env the services read (the SIMKIM URL is set here).
SHARED = (
    "SAMBANG_ENVIRONMENT",
    "SAMBANG_AUTH_HS256_SECRET",
    "SAMBANG_PII_KEYS",
    "SAMBANG_BLIND_INDEX_KEY",
    "SAMBANG_APPROVAL_SECRET",
    "SAMBANG_SIMKIM_GATEWAY_CAPTURE_TOKEN",
    "SAMBANG_NOTIFIER_CAPTURE_TOKEN",
)


# -- the outside world: SMTP server, SIMKIM ---------------------------------------------------------


class Mailbox:
    """An SMTP server on 127.0.0.1 (aiosmtpd, its own thread): every message kept as subject, to, text."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self.controller = Controller(self, hostname="127.0.0.1", port=_free_port())

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(("plain", "html"))
        text = body.get_content() if body is not None else ""
        with self._lock:
            for to in envelope.rcpt_tos:
                self.messages.append({"to": to, "subject": str(message["subject"]), "text": text})
        return "250 OK"

    def to(self, address: str) -> list[dict[str, str]]:
        with self._lock:
            return [m for m in self.messages if m["to"].lower() == address.lower()]

    @property
    def port(self) -> int:
        return int(self.controller.port)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    try:
        yield box
    finally:
        box.controller.stop()


@pytest.fixture(scope="module")
def simkim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The SIMKIM simulator as the outside system: its own process in development, SQLite, no bus."""
    folder = tmp_path_factory.mktemp("simkim")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMBANG_")}
    env.update(
        {
            "SAMBANG_ENVIRONMENT": "development",
            "SAMBANG_HOST": "127.0.0.1",
            "SAMBANG_PORT": str(port),
            "SAMBANG_DATABASE_URL": f"sqlite+aiosqlite:///{folder}/simkim.db",
            "SAMBANG_AMQP_URL": "memory://",
            "SAMBANG_SIMKIM_SIMULATOR_ISSUANCE_DELAY_SECONDS": "0",
            "SAMBANG_LOG_LEVEL": "WARNING",
        }
    )
    log = folder / "simkim.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sambang_simkim_simulator"],
            env=env,
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(wait_ready(base, 60))
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- the production stack --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secrets_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What `make secrets` generates (deploy/.env), read as the services read it."""
    env_file = tmp_path_factory.mktemp("deploy") / ".env"
    write_secrets(env_file, discover_services())
    values = read_env(env_file)
    assert values["SAMBANG_ENVIRONMENT"] == "production"
    return {k: values[k] for k in SHARED}


@pytest.fixture(scope="module")
def production(
    servers: Servers,
    tmp_path_factory: pytest.TempPathFactory,
    secrets_env: dict[str, str],
    simkim: str,
    mailbox: Mailbox,
) -> Iterator[Stack]:
    env = {
        **secrets_env,
        "SAMBANG_SIMKIM_GATEWAY_SIMKIM_URL": simkim,
        "SAMBANG_SIMKIM_GATEWAY_ISSUANCE_POLL_SECONDS": "1",
        "SAMBANG_NOTIFIER_SMTP_HOST": "127.0.0.1",
        "SAMBANG_NOTIFIER_SMTP_PORT": str(mailbox.port),
        "SAMBANG_NOTIFIER_SMTP_TLS": "none",
        "SAMBANG_QUEUE_LOOKUP_BURST": "1000",
        "SAMBANG_PAYMENT_LOOKUP_BURST": "1000",
    }
    # Officers' tokens (stack.officer, used by every step) signed with the generated key, not the dev one.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stack_module, "DEV_HS256_SECRET", secrets_env["SAMBANG_AUTH_HS256_SECRET"])
        with launched(servers, tmp_path_factory.mktemp("production"), env=env) as up:
            yield up


@pytest.fixture(scope="module")
async def client(production: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as c:
        # Each production service's own /readyz, and the front door answering (its /readyz is checked
        # by test_the_front_door_is_ready_without_the_simulator).
        bases = [f"http://127.0.0.1:{d.port + production.offset}" for d in PRODUCTION_SERVICES]

        async def all_ready() -> bool:
            codes = [(await c.get(f"{b}/readyz")).status_code for b in bases]
            return all(code == 200 for code in codes) and (await c.get(production.url("/healthz"))).status_code == 200

        await until("every production service ready", all_ready, production, timeout=120)
        yield c


def _ok(resp: httpx.Response, *codes: int) -> Any:
    assert resp.status_code in (codes or (200,)), f"{resp.request.method} {resp.request.url.path}: {resp.text}"
    return resp.json() if resp.content else None


# -- the tests ----------------------------------------------------------------------------------------------


async def test_the_launcher_started_in_production(production: Stack, client: httpx.AsyncClient) -> None:
    log = production.output(None)
    assert "Sambang is running" in log
    # No development key anywhere: a token signed with the published development secret is refused.
    dev = issue_dev_token(DEV_HS256_SECRET, sub="intruder", office=OFFICE, roles=["national_admin"])
    resp = await client.get(production.url("/v1/partners"), headers={"Authorization": f"Bearer {dev}"})
    assert resp.status_code == 401, resp.text


async def test_the_production_banner_prints_no_token(production: Stack, client: httpx.AsyncClient) -> None:
    import re

    log = production.output(None)
    tokens = re.findall(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+", log)
    assert not tokens, f"{len(tokens)} bearer tokens in the production launcher's output"


async def test_the_front_door_is_ready_without_the_simulator(production: Stack, client: httpx.AsyncClient) -> None:
    resp = await client.get(production.url("/readyz"))
    assert resp.status_code == 200, resp.text
    assert "simkim-simulator" not in resp.json()["services"]


@pytest.mark.parametrize(
    "path",
    [
        "/simkim/_admin/applications",
        "/simkim/v1/applications",
        "/v1/dev/mailbox",
        "/v1/dev/mailbox?to=a@example.org",
        "/v1/captures/../../simkim/_admin/applications",
        "/v1/%2e%2e/simkim/v1/applications",
    ],
)
async def test_the_front_door_routes_neither_the_simulator_nor_the_mailbox(
    production: Stack, client: httpx.AsyncClient, path: str
) -> None:
    resp = await client.get(production.url(path))
    assert resp.status_code == 404, f"{path}: {resp.status_code} {resp.text[:200]}"


async def test_no_demo_bank_and_no_seeded_office(production: Stack, client: httpx.AsyncClient) -> None:
    partners = _ok(await client.get(production.url("/v1/partners"), headers=officer("national_admin")))
    assert "BANKDEMO" not in {p["partner_id"] for p in partners}
    raw = j.bank_notification("0000000000000000", 1000, j.ntpn())
    resp = await client.post(production.url("/v1/payments/notifications"), content=raw, headers=j.bank_headers(raw))
    assert resp.status_code in (401, 403), resp.text


async def _create_office(client: httpx.AsyncClient, base: str) -> int:
    body = {"name": "Kantor Imigrasi Kelas II Non TPI Blitar", "timezone": "Asia/Jakarta", "settings": {}}
    _ok(await client.put(f"{base}/v1/offices/{OFFICE}/settings", json=body, headers=officer("admin")))
    return await j.prepare_office(client, base)


async def _register_partner(client: httpx.AsyncClient, base: str) -> dict[str, Any]:
    """One national admin registers the bank, a second approves (four eyes); the secret is shown once."""
    consent = await j.approval(client, base, "partner_create", PARTNER, role="national_admin", sub="national-admin-2")
    created = _ok(
        await client.post(
            f"{base}/v1/partners",
            json={"partner_id": PARTNER, "name": "Bank E2E"},
            headers={**officer("national_admin", sub="national-admin-1"), **consent},
        ),
        201,
    )
    assert created["partner_id"] == PARTNER and created["secret"]
    return created  # type: ignore[no-any-return]


async def _pay(client: httpx.AsyncClient, base: str, receipt: str, partner: dict[str, Any]) -> dict[str, Any]:
    """The bank's webhook, signed with the partner's own secret."""
    issued = await j.bill(client, base, receipt)
    raw = j.bank_notification(issued["billing_code"], issued["amount"], j.ntpn())
    headers = {
        "X-Partner-Key": partner["key_id"],
        "X-Signature": j._sign(partner["secret"], int(time.time()), raw),
        "Content-Type": "application/json",
    }
    return _ok(await client.post(f"{base}/v1/payments/notifications", content=raw, headers=headers))  # type: ignore[no-any-return]


async def _confirm_arrival(client: httpx.AsyncClient, base: str, mailbox: Mailbox, applicant: j.Applicant) -> None:
    async def link() -> dict[str, str] | None:
        return next((m for m in mailbox.to(applicant.email) if "/arrival?" in m["text"]), None)

    message = await until(f"the arrival link of {applicant.receipt} by e-mail", link, timeout=60)
    receipt, token = j.arrival_token(message)
    assert receipt == applicant.receipt
    _ok(await client.post(f"{base}/v1/applications/{receipt}/arrival-confirmation", json={"token": token}))


async def test_the_journey_on_generated_secrets(production: Stack, client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    base = production.front_door
    slot_id = await _create_office(client, base)
    partner = await _register_partner(client, base)

    applicant = j.new_applicant()
    await j.book(client, base, applicant, slot_id)
    paid = await _pay(client, base, applicant.receipt, partner)
    assert paid, paid
    await _confirm_arrival(client, base, mailbox, applicant)
    await j.at_the_counters(client, base, applicant)  # check-in, documents, capture, interview, complete
    await j.wait_status(client, base, applicant, "ISSUED", timeout=90)  # submitted to SIMKIM, issued
    handed = await j.collect(client, base, applicant)
    assert handed, handed
    assert mailbox.to(applicant.email), "the applicant got no e-mail"
    assert Path(production.log).exists()
