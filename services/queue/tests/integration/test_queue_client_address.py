"""Public look-ups are counted per client seen through the trusted proxies (SAMBANG_TRUSTED_PROXIES)."""

from __future__ import annotations

from typing import Any

import httpx
from sambang_queue.settings import QueueSettings

#: The in-process client connects from 127.0.0.1, here the front door.
PROXY = "127.0.0.1/32"
#: Counted per address here; the receipt's own lock (5 wrong birth dates) is another test's.
LIMITS = QueueSettings(lookup_burst=3, lookup_per_minute=6, office_cache_seconds=0, receipt_guess_limit=100)


def via_proxy(*hops: str) -> dict[str, str]:
    """Headers of a request the front door passed on: what the client sent, then its address."""
    return {"X-Forwarded-For": ", ".join(hops)}


async def test_applicants_behind_the_trusted_proxy_each_have_their_own_budget(queue_make_harness: Any) -> None:
    async with queue_make_harness(queue_settings=LIMITS, trusted_proxies=PROXY) as h:
        code, s = await h.office_with_slot()
        app = await h.booked(code, s["slot_id"])
        receipt = app["receipt_number"]
        guesses = [
            (await h.status(receipt, "2000-01-01", headers=via_proxy("203.0.113.10"))).status_code for _ in range(4)
        ]
        assert guesses == [404, 404, 404, 429]
        # Another applicant behind the same proxy is counted alone.
        own = await h.status(receipt, app["birth_date"], headers=via_proxy("203.0.113.11"))
        assert own.status_code == 200
        # Addresses written before the proxy's own entry are the client's word: ignored.
        for forged in ("198.51.100.1", "203.0.113.11", "127.0.0.1"):
            again = await h.status(receipt, "2000-01-01", headers=via_proxy(forged, "203.0.113.10"))
            assert again.status_code == 429 and again.json()["code"] == "rate_limited"
        # Cancel and arrival confirmation share the budget: the limited client is refused there too.
        cancel = await h.client.post(
            f"/v1/applications/{receipt}/cancel",
            json={"birth_date": app["birth_date"]},
            headers=via_proxy("203.0.113.10"),
        )
        assert cancel.status_code == 429

        # A client connecting directly (not through a trusted proxy) is its own address, whatever it claims.
        transport = httpx.ASGITransport(app=h.app, client=("198.51.100.7", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://queue.test") as direct:
            codes = [
                (
                    await direct.post(
                        f"/v1/applications/{receipt}/lookup",
                        json={"birth_date": "2000-01-01"},
                        headers=via_proxy(f"203.0.113.{20 + i}"),
                    )
                ).status_code
                for i in range(4)
            ]
        assert codes == [404, 404, 404, 429]
        assert (await h.status(receipt, "2000-01-01", headers=via_proxy("203.0.113.20"))).status_code == 404


async def test_without_trusted_proxies_every_request_through_a_proxy_is_the_proxy(queue_make_harness: Any) -> None:
    async with queue_make_harness(queue_settings=LIMITS) as h:
        code, s = await h.office_with_slot()
        app = await h.booked(code, s["slot_id"])
        codes = [
            (await h.status(app["receipt_number"], "2000-01-01", headers=via_proxy(f"203.0.113.{i}"))).status_code
            for i in range(4)
        ]
        assert codes == [404, 404, 404, 429]
