"""The capture adapter: the biometric bundle from ``GET /internal/v1/captures/{receipt}/bundle``.

The only way biometrics leave capture (ARCHITECTURE.md §5); the call carries a ``service`` token.
"""

from __future__ import annotations

import httpx
from pydantic import ValidationError
from sambang_contracts.bundles import CaptureBundle

from ..settings import GatewaySettings


class CaptureUnavailable(Exception):
    """Capture did not answer usefully (timeout, connection, 5xx): retry later."""


class BundleUnavailable(Exception):
    """Capture refused or has no bundle for this receipt (4xx): retrying as it is cannot help."""


def capture_http_client(settings: GatewaySettings) -> httpx.AsyncClient:
    """The HTTP client towards capture, with timeouts."""
    timeout = httpx.Timeout(settings.request_timeout_seconds, connect=settings.connect_timeout_seconds)
    limits = httpx.Limits(max_connections=settings.concurrency * 2, max_keepalive_connections=settings.concurrency)
    return httpx.AsyncClient(base_url=settings.capture_base_url, timeout=timeout, limits=limits)


class CaptureClient:
    """The one call the gateway makes to capture."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def bundle(self, receipt_number: str, token: str) -> CaptureBundle:
        """Every biometric item of one application, with its bytes and sha256."""
        try:
            response = await self.http.get(
                f"/internal/v1/captures/{receipt_number}/bundle",
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
        except httpx.TimeoutException as exc:
            raise CaptureUnavailable(f"capture timeout ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise CaptureUnavailable(f"capture unreachable ({type(exc).__name__})") from None
        # A refused token is a configuration fault operators fix, not a property of the application: retry.
        if response.status_code >= 500 or response.status_code in (401, 403, 408, 429):
            raise CaptureUnavailable(f"capture HTTP {response.status_code}")
        if response.status_code >= 400:
            raise BundleUnavailable(f"capture HTTP {response.status_code}")
        try:
            bundle = CaptureBundle.model_validate_json(response.content)
        except ValidationError:
            raise BundleUnavailable("capture sent a bundle that is not valid") from None
        if bundle.receipt_number != receipt_number:
            raise BundleUnavailable("capture sent the bundle of another receipt")
        return bundle
