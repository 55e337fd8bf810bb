"""No personal data in any log line: the embedded stack (`make run`: every service and the front door in
one process) logs at DEBUG to a file while two applicants go from booking to the passport in hand (the
steps of test_journey_scenarios), one of them also looking up their application and bill with their
birth date; then no line of the log may carry either applicant's NIK, full name, phone number, e-mail
address or birth date (in any of the forms a log could spell them).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import string
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import steps as j
from stack import Launched, embedded, serving

#: As the journey scenarios set them: time-dependent steps run at once, look-ups are not throttled.
ENV = {
    "SAMBANG_ENVIRONMENT": "development",
    "SAMBANG_LOG_LEVEL": "DEBUG",
    "SAMBANG_LOG_JSON": "true",
    "SAMBANG_PAYMENT_SWEEP_INTERVAL_SECONDS": "1",
    "SAMBANG_SIMKIM_GATEWAY_ISSUANCE_POLL_SECONDS": "1",
    "SAMBANG_SIMKIM_SIMULATOR_ISSUANCE_DELAY_SECONDS": "0",
    "SAMBANG_QUEUE_LOOKUP_BURST": "1000",
    "SAMBANG_PAYMENT_LOOKUP_BURST": "1000",
}


@dataclass
class PhoneApplicant(j.Applicant):
    """An applicant who also gives a phone number on the booking form."""

    phone: str = ""

    def body(self) -> dict[str, Any]:
        return {**super().body(), "phone": self.phone}


def applicant(full_name: str, birth_date: str) -> PhoneApplicant:
    return PhoneApplicant(
        full_name=full_name,
        nik="35" + "".join(random.choices(string.digits, k=14)),
        birth_date=birth_date,
        email=f"pii-{uuid.uuid4().hex[:10]}@example.test",
        phone="+62812" + "".join(random.choices(string.digits, k=8)),
    )


def spellings(person: PhoneApplicant) -> dict[str, list[str]]:
    """Each personal value as a log line could spell it."""
    born = dt.date.fromisoformat(person.birth_date)
    local = person.phone.removeprefix("+62")
    return {
        "NIK": [person.nik],
        "full name": [person.full_name, person.full_name.upper()],
        "phone": [person.phone, "0" + local, "62" + local],
        "e-mail": [person.email],
        "birth date": [
            person.birth_date,
            born.strftime("%d-%m-%Y"),
            born.strftime("%d/%m/%Y"),
            born.strftime("%Y%m%d"),
        ],
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launched]:
    with embedded(tmp_path_factory.mktemp("pii"), env=ENV) as launched:
        yield launched


@pytest.fixture(scope="module")
async def client(run: Launched) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as c:
        await serving(run)
        yield c


@dataclass
class JourneyLog:
    """The applicants of the journey and every line the stack logged meanwhile."""

    people: list[PhoneApplicant]
    lines: list[str]

    def leaks(self) -> list[tuple[str, str]]:
        """(logger, what) for each line carrying an applicant's personal value."""
        found = []
        for person in self.people:
            for what, values in spellings(person).items():
                for value in values:
                    for line in self.lines:
                        if value.casefold() in line.casefold():
                            match = re.search(r'"logger": ?"([^"]+)"', line)
                            found.append((match.group(1) if match else "?", f"{what} ({value}) in: {line[:300]}"))
        return found


#: The development SMTP sink (aiosmtpd, `make run` and `make up` only; production sends through a relay)
#: logs each line of each message it receives at DEBUG under this logger: names and links of applicants.
DEV_SINK_LOGGER = "mail.log"


@pytest.fixture(scope="module")
async def journey(run: Launched, client: httpx.AsyncClient) -> JourneyLog:
    base = run.front_door
    people = [applicant("Ratna Kusumawardani", "1987-03-29"), applicant("Bagus Hadiwijaya", "1979-11-08")]
    slot_id = await j.prepare_office(client, base)
    for person in people:
        await j.ordinary_journey(client, base, person, slot_id)
    # The applicant's own look-ups: the birth date travels in the body, and is no log's business either.
    first = people[0]
    for path in (f"/v1/applications/{first.receipt}/lookup", f"/v1/bills/{first.receipt}/lookup"):
        resp = await client.post(f"{base}{path}", json={"birth_date": first.birth_date})
        assert resp.status_code == 200, resp.text
    lines = run.output(tail=None).splitlines()
    assert len(lines) > 100, f"too little was logged to prove anything ({len(lines)} lines): is DEBUG on?"
    assert any(re.search(r'"level": ?"debug"', line) for line in lines), "no DEBUG line was logged"
    return JourneyLog(people, lines)


@pytest.mark.timeout(600)
def test_the_services_log_no_personal_data(journey: JourneyLog) -> None:
    leaks = [what for logger, what in journey.leaks() if logger != DEV_SINK_LOGGER]
    assert not leaks, f"{len(leaks)} log lines carry personal data:\n" + "\n".join(leaks[:40])


def test_the_development_mail_sink_logs_no_personal_data_either(journey: JourneyLog) -> None:
    leaks = [what for logger, what in journey.leaks() if logger == DEV_SINK_LOGGER]
    assert not leaks, f"{len(leaks)} lines of the development mail sink carry personal data:\n" + "\n".join(leaks[:10])
