"""Bill look-ups are counted per client seen through the trusted proxies (SAMBANG_TRUSTED_PROXIES)."""

from __future__ import annotations

import httpx
from payment_support import ADULT, HarnessFactory
from sambang_payment.settings import PaymentSettings

#: The in-process client connects from 127.0.0.1, here the front door.
PROXY = "127.0.0.1/32"


def via_proxy(*hops: str) -> dict[str, str]:
    """Headers of a request the front door passed on: what the client sent, then its address."""
    return {"X-Forwarded-For": ", ".join(hops)}


async def test_clients_behind_the_trusted_proxy_each_have_their_own_budget(payment_harness: HarnessFactory) -> None:
    h = await payment_harness(
        payment=PaymentSettings(sweep_interval_seconds=3600, lookup_burst=3), trusted_proxies=PROXY
    )
    receipt = await h.register()
    url = f"/v1/bills/{receipt}/lookup"
    wrong = {"birth_date": "1990-01-01"}
    first = [(await h.client.post(url, json=wrong, headers=via_proxy("203.0.113.10"))).status_code for _ in range(4)]
    assert first == [404, 404, 404, 429]
    limited = await h.client.post(url, json=wrong, headers=via_proxy("203.0.113.10"))
    assert limited.json()["code"] == "rate_limited"
    # Another applicant in the same office, behind the same proxy, is counted alone.
    other = await h.client.post(url, json={"birth_date": ADULT.isoformat()}, headers=via_proxy("203.0.113.11"))
    assert other.status_code == 200 and other.json()["receipt_number"] == receipt
    # The limited client cannot buy a new budget by writing addresses before the one the proxy appended.
    for forged in ("198.51.100.1", "203.0.113.11", "127.0.0.1"):
        again = await h.client.post(url, json=wrong, headers=via_proxy(forged, "203.0.113.10"))
        assert again.status_code == 429


async def test_a_forged_header_from_an_untrusted_peer_changes_nothing(payment_harness: HarnessFactory) -> None:
    h = await payment_harness(
        payment=PaymentSettings(sweep_interval_seconds=3600, lookup_burst=3), trusted_proxies=PROXY
    )
    receipt = await h.register()
    direct = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=h.app, client=("198.51.100.7", 4000)), base_url="http://t"
    )
    async with direct:
        codes = [
            (
                await direct.post(
                    f"/v1/bills/{receipt}/lookup",
                    json={"birth_date": "1990-01-01"},
                    headers=via_proxy(f"203.0.113.{i}"),
                )
            ).status_code
            for i in range(5)
        ]
    assert codes == [404, 404, 404, 429, 429]
    # The addresses it claimed were never charged: a client behind the proxy using one is not limited.
    behind = await h.client.post(
        f"/v1/bills/{receipt}/lookup", json={"birth_date": "1990-01-01"}, headers=via_proxy("203.0.113.0")
    )
    assert behind.status_code == 404
