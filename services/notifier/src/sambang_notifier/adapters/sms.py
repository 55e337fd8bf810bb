"""SMS through an HTTP provider: one JSON POST per message, bearer key from settings."""

from __future__ import annotations

import httpx

from ..domain.delivery import SendResult, Verdict, http_verdict


async def send_sms(
    client: httpx.AsyncClient, *, url: str, api_key: str | None, to: str, text: str, reference: str
) -> SendResult:
    """POST ``{to, text, reference}``: 2xx sent; 408/425/429/5xx and network errors transient; other 4xx permanent."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = await client.post(url, json={"to": to, "text": text, "reference": reference}, headers=headers)
    except httpx.HTTPError as exc:
        return SendResult(Verdict.TRANSIENT, f"SMS provider {type(exc).__name__}")
    verdict = http_verdict(response.status_code)
    return SendResult(verdict, "" if verdict == Verdict.SENT else f"SMS provider HTTP {response.status_code}")
