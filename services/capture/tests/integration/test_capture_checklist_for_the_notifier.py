"""The checklist of a service type is also read by the notifier (a ``service`` token) for the reminder the day
before: the applicant is told the same list the verifier ticks. Other callers stay refused."""

from __future__ import annotations

from capture_support import CaptureHarness, unique_office


async def test_a_service_token_reads_the_same_checklist_an_officer_does_and_a_kiosk_none(
    capture: CaptureHarness,
) -> None:
    office = unique_office()
    for service_type, age in (("REPLACEMENT_LOST", 40), ("NEW", 9), ("REPLACEMENT_DAMAGED", 17)):
        params = {"age": age}
        path = f"/v1/captures/checklists/{service_type}"
        officer = await capture.client.get(path, params=params, headers=capture.auth("verifier", office=office))
        service = await capture.client.get(path, params=params, headers=capture.auth("service", office=office))
        assert officer.status_code == 200 and service.status_code == 200, service.text
        assert service.json() == officer.json()
    kiosk = await capture.client.get("/v1/captures/checklists/NEW", headers=capture.auth("kiosk", office=office))
    assert kiosk.status_code == 403
