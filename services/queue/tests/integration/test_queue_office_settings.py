"""Office settings say what they did not take (issue #24): an unknown key is refused by name and
changes nothing; PATCH changes only the keys it is given and publishes the merged rules."""

from __future__ import annotations

from typing import Any

from conftest import QueueHarness, unique_office_code


async def settings_of(queue: QueueHarness, code: str) -> dict[str, Any]:
    r = await queue.client.get(f"/v1/offices/{code}/settings", headers=queue.auth("supervisor", office=code))
    assert r.status_code == 200, r.text
    return dict(r.json())


def updates_of(queue: QueueHarness, code: str) -> list[Any]:
    return [e for e in queue.events("queue.office.updated") if e.data.office == code]


async def test_an_unknown_setting_is_refused_by_name_in_both_languages_and_changes_nothing(
    queue: QueueHarness,
) -> None:
    code = await queue.office(reminder_hour=15, near_turn_position=4)
    await queue.wait_published()
    before = await settings_of(queue, code)
    published = len(updates_of(queue, code))
    admin = queue.auth("admin", office=code)
    body = {"settings": {"reminder_hour": 9, "reminder_houre": 10, "estimate_windows": 30}}
    r = await queue.client.put(f"/v1/offices/{code}/settings", json=body, headers=admin)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "unknown_setting"
    assert problem["keys"] == ["estimate_windows", "reminder_houre"]
    assert "tidak dikenal" in problem["detail"]  # Bahasa Indonesia by default
    en = await queue.client.put(f"/v1/offices/{code}/settings", json=body, headers={**admin, "Accept-Language": "en"})
    assert en.json()["code"] == "unknown_setting" and "Unknown office setting" in en.json()["detail"]
    # nothing changed: not the known key given beside it either, and nothing was published
    assert await settings_of(queue, code) == before
    assert before["settings"]["reminder_hour"] == 15
    await queue.wait_published()
    assert len(updates_of(queue, code)) == published


async def test_a_patch_of_one_key_leaves_the_others_as_they_were_and_publishes_the_merged_rules(
    queue: QueueHarness,
) -> None:
    code = await queue.office(reminder_hour=15, near_turn_position=5, priority_seats=["K1", "K2"], estimate_window=40)
    admin = queue.auth("admin", office=code)
    before = (await settings_of(queue, code))["settings"]
    r = await queue.client.patch(f"/v1/offices/{code}/settings", json={"settings": {"reminder_hour": 9}}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == f"Kantor Imigrasi {code}" and r.json()["timezone"] == "Asia/Jakarta"
    after = (await settings_of(queue, code))["settings"]
    assert after == {**before, "reminder_hour": 9}
    assert (after["near_turn_position"], after["priority_seats"], after["estimate_window"]) == (5, ["K1", "K2"], 40)
    assert r.json()["settings"] == after
    ev = await queue.event(
        "queue.office.updated", where=lambda e: e.data.office == code and e.data.settings.reminder_hour == 9
    )
    assert ev.data.settings.model_dump(mode="json") == after  # the whole rules, merged, not only the key
    # a PUT of the same single key, by contrast, resets the others to their defaults
    put = await queue.client.put(f"/v1/offices/{code}/settings", json={"settings": {"reminder_hour": 9}}, headers=admin)
    assert put.json()["settings"]["near_turn_position"] == 3


async def test_a_patch_with_an_unknown_key_or_out_of_bounds_changes_nothing(queue: QueueHarness) -> None:
    code = await queue.office(reminder_hour=15)
    await queue.wait_published()
    admin = queue.auth("admin", office=code)
    before = await settings_of(queue, code)
    published = len(updates_of(queue, code))
    unknown = await queue.client.patch(
        f"/v1/offices/{code}/settings", json={"settings": {"reminder_hour": 8, "remindr_enabled": False}}, headers=admin
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_setting"
    assert unknown.json()["keys"] == ["remindr_enabled"]
    for bad in ({"reminder_hour": 24}, {"estimate_window": 2}, {"estimate_min_served": 0}):
        r = await queue.client.patch(f"/v1/offices/{code}/settings", json={"settings": bad}, headers=admin)
        assert r.status_code == 422 and r.json()["code"] == "validation_failed", (bad, r.text)
        assert r.json()["errors"][0]["loc"][:2] == ["body", "settings"]
    assert await settings_of(queue, code) == before
    await queue.wait_published()
    assert len(updates_of(queue, code)) == published


async def test_a_patch_needs_an_admin_of_the_office_and_an_existing_office(queue: QueueHarness) -> None:
    code = await queue.office()
    body = {"settings": {"reminder_enabled": False}}
    assert (await queue.client.patch(f"/v1/offices/{code}/settings", json=body)).status_code == 401
    sup = await queue.client.patch(
        f"/v1/offices/{code}/settings", json=body, headers=queue.auth("supervisor", office=code)
    )
    assert sup.status_code == 403
    other = await queue.office()
    wrong = await queue.client.patch(
        f"/v1/offices/{code}/settings", json=body, headers=queue.auth("admin", office=other)
    )
    assert wrong.json()["code"] == "wrong_office"
    missing = unique_office_code()
    absent = await queue.client.patch(
        f"/v1/offices/{missing}/settings", json=body, headers=queue.auth("admin", office=missing)
    )
    assert absent.status_code == 404 and absent.json()["code"] == "office_not_found"
    ok = await queue.client.patch(
        f"/v1/offices/{code}/settings",
        json={"name": "Kantor Imigrasi Baru", **body},
        headers=queue.auth("admin", office=code),
    )
    assert ok.status_code == 200 and ok.json()["name"] == "Kantor Imigrasi Baru"
    assert ok.json()["settings"]["reminder_enabled"] is False
