"""Shipped templates on start: a new one is added, one still as shipped takes this version's wording (the
near-turn message's estimated wait), one an admin edited stays as the admin left it."""

from __future__ import annotations

import datetime as dt

from sambang_contracts import Language
from sambang_notifier.app import spec
from sambang_notifier.domain.defaults import DEFAULTS
from sambang_notifier.stores import templates
from sambang_runtime.testing import memory_uow

NOW = dt.datetime(2026, 8, 13, 2, 0, tzinfo=dt.UTC)


async def test_a_template_still_as_shipped_takes_the_new_wording_and_an_edited_one_stays() -> None:
    older = {key: dict(fields) for key, fields in DEFAULTS.items() if key[0] != "visit_reminder"}
    older[("near_turn", Language.ID)]["sms"] = "Antrean {{ ticket }}: giliran Anda segera tiba."
    older[("near_turn", Language.EN)]["sms"] = "Ticket {{ ticket }}: your turn is near."
    async with memory_uow(spec()) as uow:
        assert await templates.seed(uow, older, now=NOW) == len(older)
        edited = {**older[("near_turn", Language.EN)], "sms": "Ticket {{ ticket }}: come to the counters."}
        await templates.replace(uow, "near_turn", Language.EN, edited, by="admin-1", now=NOW)

        written = await templates.seed(uow, DEFAULTS, now=NOW + dt.timedelta(days=1))

        assert written == 3, "the two reminder templates added, the unedited near-turn one refreshed"
        shipped = await templates.get(uow, "near_turn", Language.ID)
        assert shipped is not None and shipped.sms == DEFAULTS[("near_turn", Language.ID)]["sms"]
        assert "estimated_wait" in shipped.sms and shipped.updated_by is None
        kept = await templates.get(uow, "near_turn", Language.EN)
        assert kept is not None and kept.sms == edited["sms"] and kept.updated_by == "admin-1"
        assert await templates.get(uow, "visit_reminder", Language.EN) is not None
        assert await templates.seed(uow, DEFAULTS, now=NOW + dt.timedelta(days=2)) == 0, "nothing left to write"
