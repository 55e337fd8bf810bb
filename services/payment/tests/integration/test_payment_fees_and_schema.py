"""Fee schedule API, migrations against the models, and the embedded mode on SQLite."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from payment_support import HarnessFactory
from sambang_payment.app import MIGRATIONS
from sambang_payment.models import metadata
from sambang_payment.stores.partners import DEV_PARTNER_ID, DEV_PARTNER_KEY_ID, DEV_PARTNER_SECRET
from sambang_payment.stores.schedules import shipped_schedule
from sambang_runtime.crypto import generate_key
from sambang_runtime.migrations import upgrade_to_head
from sqlalchemy.ext.asyncio import create_async_engine


async def test_fees_are_public_and_follow_pp45(payment_harness: HarnessFactory) -> None:
    h = await payment_harness()
    r = await h.client.get("/v1/fees")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "PP 45/2024" and body["effective_from"] == "2024-12-17"
    assert {(p["family"], p["validity_years"]): p["amount"] for p in body["passports"]} == {
        ("NON_ELECTRONIC", 5): 350_000,
        ("NON_ELECTRONIC", 10): 650_000,
        ("ELECTRONIC", 5): 650_000,
        ("ELECTRONIC", 10): 950_000,
    }
    assert {s["applies_to"]: s["amount"] for s in body["surcharges"]} == {
        "EXPRESS": 1_000_000,
        "REPLACEMENT_LOST": 1_000_000,
        "REPLACEMENT_DAMAGED": 500_000,
    }
    before = await h.client.get("/v1/fees", params={"on": "2024-01-01"})
    assert before.status_code == 404 and before.json()["code"] == "no_fee_schedule"


def next_schedule(effective_from: dt.date, electronic_10: int) -> dict[str, Any]:
    doc = shipped_schedule().model_dump(mode="json")
    doc.update(name="Tarif baru", effective_from=effective_from.isoformat())
    for p in doc["passports"]:
        if (p["family"], p["validity_years"]) == ("ELECTRONIC", 10):
            p["amount"] = electronic_10
    return doc


async def test_a_national_admin_loads_a_new_schedule_without_a_code_change_and_new_bills_use_it(
    payment_harness: HarnessFactory,
) -> None:
    h = await payment_harness()
    old = await h.register()
    today = h.clock().date()
    doc = next_schedule(today, 1_250_000)
    # Fees are national: neither a supervisor nor an office admin changes them.
    for role in ("supervisor", "admin", "head_of_office"):
        refused = await h.client.put("/v1/fees", json=doc, headers=h.token(role))
        assert refused.status_code == 403, role
    r = await h.client.put("/v1/fees", json=doc, headers=h.national())
    assert r.status_code == 201, r.text
    assert (await h.client.put("/v1/fees", json=doc, headers=h.national())).json()["code"] == "schedule_exists"
    past = await h.client.put("/v1/fees", json=next_schedule(today - dt.timedelta(days=400), 1), headers=h.national())
    assert past.status_code == 422 and past.json()["code"] == "effective_date_in_past"
    float_amount = next_schedule(today + dt.timedelta(days=30), 1)
    float_amount["passports"][0]["amount"] = 350000.5
    assert (await h.client.put("/v1/fees", json=float_amount, headers=h.national())).status_code == 422
    # Free text refuses control characters (a NUL would be a 500 from PostgreSQL otherwise).
    for field, value in (("name", "Tarif\x00baru"), ("description", "a\x1b[31m"), ("description", "x\x7f")):
        bad = next_schedule(today + dt.timedelta(days=60), 1) | {field: value}
        refused = await h.client.put("/v1/fees", json=bad, headers=h.national())
        assert refused.status_code == 422 and refused.json()["code"] == "validation_failed", (field, value)
    bad_line = next_schedule(today + dt.timedelta(days=60), 1)
    bad_line["passports"][0]["description"] = "Paspor\x00"
    assert (await h.client.put("/v1/fees", json=bad_line, headers=h.national())).status_code == 422
    new = await h.register()
    assert (await h.bill(old)).amount == 950_000  # issued bills keep their amount
    assert (await h.bill(new)).amount == 1_250_000
    assert (await h.client.get("/v1/fees")).json()["name"] == "Tarif baru"


async def test_fresh_postgres_migrated_to_head_matches_the_models(fresh_pg_url: str) -> None:
    await asyncio.to_thread(upgrade_to_head, MIGRATIONS, fresh_pg_url)
    engine = create_async_engine(fresh_pg_url)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), metadata)
            )
    finally:
        await engine.dispose()
    assert diffs == []


async def test_app_starts_on_sqlite_with_the_demo_bank_in_development(payment_harness: HarnessFactory) -> None:
    h = await payment_harness(backend="sqlite+memory", environment="development")
    assert (await h.client.get("/readyz")).status_code == 200
    assert (await h.client.get("/v1/fees")).status_code == 200
    assert h.settings.development
    listed = (await h.client.get("/v1/partners", headers=h.national())).json()
    assert [p["partner_id"] for p in listed] == [DEV_PARTNER_ID]
    receipt = await h.register()
    bill = await h.bill(receipt)
    r = await h.notify(DEV_PARTNER_KEY_ID, DEV_PARTNER_SECRET, h.payment_body(bill, "NTPN0000000000Q1"))
    assert r.status_code == 200 and r.json()["outcome"] == "APPLIED"


async def test_no_demo_bank_outside_development(payment_harness: HarnessFactory) -> None:
    production = {
        "auth_hs256_secret": base64.b64encode(os.urandom(40)).decode(),
        "pii_keys": f"k1:{generate_key()}",
        "blind_index_key": generate_key(),
        "approval_secret": base64.b64encode(os.urandom(40)).decode(),
    }
    for environment, keys in (("test", {}), ("production", production)):
        h = await payment_harness(backend="sqlite+memory", environment=environment, **keys)
        assert h.settings.environment == environment and not h.settings.development
        assert (await h.client.get("/v1/partners", headers=h.national())).json() == []
        # The published demo secret opens nothing.
        receipt = await h.register()
        bill = await h.bill(receipt)
        r = await h.notify(DEV_PARTNER_KEY_ID, DEV_PARTNER_SECRET, h.payment_body(bill, "NTPN0000000000Q2"))
        assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
        assert (await h.bill(receipt)).status == "UNPAID"
