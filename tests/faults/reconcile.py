"""After the faults: did every event reach every consumer, did every effect happen exactly once, and do
the services agree on each application?

Events: a durable quorum queue of the suite's own (``probe``), bound to ``#`` on the events exchange
before any service started, holds a copy of every event the broker accepted. Each service's
``outbox_message`` must be empty (nothing committed and left unpublished) and, for every event whose
type a service's queue binds, that service's ``inbox_message`` must hold its id, or the event must be
in that service's parking queue (counted, and expected to be none).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg
from sambang_contracts import parse_event
from sambang_runtime.bus.nodes import connect_nodes
from sambang_runtime.bus.transport import parked_queue_name
from sambang_runtime.crypto import DEV_BLIND_INDEX_KEY, DEV_PII_KEYS, cipher_from_settings
from sambang_runtime.db import asyncpg_dsn
from sambang_runtime.sealing import open_body
from sambang_runtime.service import discover_services

PROBE_QUEUE = "faults.probe"


async def declare_quorum_queue(amqp_url: str, exchange: str, name: str, key: str) -> None:
    """A durable quorum queue of the suite's own, ``name``, bound to ``key`` on ``exchange`` (declared
    here first, as the services do): unlike a ``BusProbe``'s, it keeps what it got across the broker's
    restarts and the suite's reconnections."""
    connection = await connect_nodes(amqp_url, shuffle=False)
    async with connection:
        channel = await connection.channel()
        ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
        await queue.bind(ex, key)


async def declare_probe(amqp_url: str, exchange: str) -> None:
    """The probe queue, bound to every event of ``exchange``."""
    await declare_quorum_queue(amqp_url, exchange, PROBE_QUEUE, "#")


async def drain(amqp_url: str, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Every message now in ``queue`` (taken and acknowledged)."""
    taken = []
    connection = await connect_nodes(amqp_url, shuffle=False)
    async with connection:
        channel = await connection.channel()
        try:
            q = await channel.declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return []
        while (msg := await q.get(no_ack=True, fail=False, timeout=10)) is not None:
            taken.append(msg)
    return taken


async def queue_depth(amqp_url: str, queue: str) -> int:
    connection = await connect_nodes(amqp_url, shuffle=False)
    async with connection:
        channel = await connection.channel()
        try:
            q = await channel.declare_queue(queue, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return 0
        return int(q.declaration_result.message_count or 0)


def dsn(pg_base: str, database: str) -> str:
    """An asyncpg DSN of ``database`` on the server of ``pg_base`` (a SQLAlchemy URL)."""
    from sqlalchemy.engine import make_url

    return asyncpg_dsn(make_url(pg_base).set(database=database))


async def rows(pg_base: str, database: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn(pg_base, database))
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


@dataclass
class Report:
    """The reconciliation's numbers; ``problems`` must be empty."""

    numbers: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)


async def settled(amqp_url: str, pg_base: str, databases: dict[str, str], queue_prefix: str, timeout: float) -> None:
    """Wait until every outbox is empty and every service queue is drained (the system at rest)."""
    services = [d for d in discover_services() if d.spec is not None and d.spec().handlers]
    deadline = asyncio.get_running_loop().time() + timeout
    quiet = 0
    while asyncio.get_running_loop().time() < deadline:
        pending = 0
        for db in databases.values():
            with contextlib.suppress(asyncpg.UndefinedTableError):
                pending += (await rows(pg_base, db, "SELECT count(*) AS n FROM outbox_message"))[0]["n"]
        for d in services:
            pending += await queue_depth(amqp_url, f"{queue_prefix}.{d.name}")
            pending += await queue_depth(amqp_url, f"{queue_prefix}.{d.name}.retry")
        quiet = quiet + 1 if pending == 0 else 0
        if quiet >= 3:
            return
        await asyncio.sleep(1)


async def unsent_settled(pg_base: str, notifier_db: str, timeout: float) -> None:
    """Wait until the notifier has no message left due or in flight (interrupted ones fail after the lease)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        left = await rows(
            pg_base, notifier_db, "SELECT count(*) AS n FROM notification WHERE status IN ('PENDING', 'SENDING')"
        )
        if left[0]["n"] == 0:
            return
        await asyncio.sleep(2)


async def reconcile(
    amqp_url: str, pg_base: str, databases: dict[str, str], queue_prefix: str, receipts: list[str]
) -> Report:
    """Compare the probe's events with every outbox and inbox; count effects; compare states."""
    report = Report()
    n = report.numbers
    # -- events: published (probe) vs consumed (inboxes) ------------------------------------------------
    events: dict[str, Any] = {}
    copies = 0
    # The probe reads as any consumer outside the services would: with the PII key (the stack's, the
    # development one), personal fields being sealed on the wire.
    cipher = cipher_from_settings(DEV_PII_KEYS, DEV_BLIND_INDEX_KEY)
    for msg in await drain(amqp_url, PROBE_QUEUE):
        ev = parse_event(open_body(msg.body, cipher))
        copies += 1
        events[ev.id] = ev
    n["events_published"] = len(events)
    n["event_copies_published"] = copies  # > published: a relay republished after a crash (inboxes drop them)
    leftover = {}
    for service, db in databases.items():
        with contextlib.suppress(asyncpg.UndefinedTableError):
            leftover[service] = (await rows(pg_base, db, "SELECT count(*) AS n FROM outbox_message"))[0]["n"]
    n["outbox_left"] = leftover
    report.check(not any(leftover.values()), f"events committed but never published: {leftover}")
    deliveries: dict[str, dict[str, int]] = {}
    for d in discover_services():
        if d.spec is None or not d.spec().handlers or d.name not in databases:
            continue
        binds = set(d.spec().handlers)
        expected = {eid for eid, ev in events.items() if ev.type in binds}
        inbox = {r["event_id"] for r in await rows(pg_base, databases[d.name], "SELECT event_id FROM inbox_message")}
        parked_ids = set()
        for msg in await drain(amqp_url, parked_queue_name(f"{queue_prefix}.{d.name}")):
            with contextlib.suppress(Exception):
                parked_ids.add(parse_event(open_body(msg.body, cipher)).id)
        missing = expected - inbox - parked_ids
        deliveries[d.name] = {
            "expected": len(expected),
            "in_inbox": len(expected & inbox),
            "parked": len(parked_ids),
            "missing": len(missing),
        }
        report.check(not missing, f"{d.name} never consumed {len(missing)} events, e.g. {sorted(missing)[:3]}")
        report.check(not parked_ids, f"{d.name} parked {len(parked_ids)} events, e.g. {sorted(parked_ids)[:3]}")
    n["deliveries"] = deliveries

    # -- effects exactly once ---------------------------------------------------------------------------
    mine = set(receipts)

    async def of_mine(service: str, columns: str, table: str, tail: str = "") -> list[asyncpg.Record]:
        """``columns`` of the journeys' rows of ``table`` in ``service``'s database (``tail``: GROUP BY...)."""
        sql = f"SELECT {columns} FROM {table} WHERE receipt_number = ANY($1::text[]) {tail}"
        return await rows(pg_base, databases[service], sql, list(mine))

    async def by_receipt(service: str, columns: str, table: str) -> dict[str, asyncpg.Record]:
        return {r["receipt_number"]: r for r in await of_mine(service, f"receipt_number, {columns}", table)}

    per_type: dict[str, Counter[str]] = defaultdict(Counter)
    for ev in events.values():
        if str(ev.subject) in mine:
            per_type[ev.type][str(ev.subject)] += 1
    once = [
        "queue.application.registered",
        "payment.bill.issued",
        "payment.confirmed",
        "queue.visit.checked_in",
        "capture.completed",
        "simkim.submission.accepted",
        "simkim.passport.issued",
        "queue.passport.collected",
    ]
    for t in once:
        wrong = {r: per_type[t][r] for r in mine if per_type[t][r] != 1}
        report.check(not wrong, f"{t}: not exactly one event for {len(wrong)} receipts, e.g. {list(wrong.items())[:3]}")
    n["distinct_events_per_receipt_ok"] = {t: sum(1 for r in mine if per_type[t][r] == 1) for t in once}

    pay = await of_mine("payment", "receipt_number, ntpn, outcome", "payment")
    per_receipt = Counter(r["receipt_number"] for r in pay if r["outcome"] == "APPLIED")
    per_ntpn = Counter(r["ntpn"] for r in pay)
    n["payments"] = {"rows": len(pay), "receipts_paid_once": sum(1 for r in mine if per_receipt[r] == 1)}
    report.check(all(per_receipt[r] == 1 for r in mine), "a receipt without exactly one applied payment")
    report.check(all(v == 1 for v in per_ntpn.values()), "an NTPN counted twice")

    slots = await rows(
        pg_base,
        databases["queue"],
        # A place is given back on cancellation, bill expiry and no-show only (a collected passport keeps it).
        "SELECT s.id, s.quota, s.booked, (SELECT count(*) FROM application a WHERE a.slot_id = s.id "
        "AND a.status NOT IN ('CANCELLED', 'EXPIRED', 'NO_SHOW')) AS live FROM slot s WHERE s.booked > 0",
    )
    columns = "receipt_number, status, bill_status, ntpn, simkim_reference, nik_hash"
    apps = await of_mine("queue", columns, "application")
    n["bookings"] = {"applications": len(apps), "slots_checked": len(slots)}
    report.check(len(apps) == len(mine), f"{len(mine) - len(apps)} journeys without their application")
    report.check(
        all(s["booked"] == s["live"] and s["booked"] <= s["quota"] for s in slots),
        f"a slot whose counter disagrees with its bookings: {[dict(s) for s in slots if s['booked'] != s['live']]}",
    )
    nik = Counter(a["nik_hash"] for a in apps)
    report.check(all(v == 1 for v in nik.values()), "an applicant booked twice")

    tries = "receipt_number, count(*) AS n"
    sim = await of_mine("simkim-simulator", tries, "simkim_application", "GROUP BY receipt_number")
    sim_n = {r["receipt_number"]: r["n"] for r in sim}
    n["simkim_applications"] = {"receipts": len(sim_n), "exactly_once": sum(1 for r in mine if sim_n.get(r) == 1)}
    report.check(all(sim_n.get(r) == 1 for r in mine), "an application not submitted to SIMKIM exactly once")

    notes = await of_mine("notifier", "event_id, channel, recipient_key, status, last_error", "notification")
    by_status = Counter(r["status"] for r in notes)
    sent = Counter((r["event_id"], r["channel"]) for r in notes if r["status"] == "SENT")
    interrupted = [r for r in notes if r["status"] == "FAILED" and "interrupted" in (r["last_error"] or "")]
    n["notifications"] = {"rows": len(notes), "by_status": dict(by_status), "interrupted_by_a_kill": len(interrupted)}
    report.check(all(v == 1 for v in sent.values()), "an event told twice on one channel")
    # At most once: a send the notifier's SIGKILL interrupted is failed, never repeated; a dispatcher has
    # at most ``dispatch_concurrency`` (8) sends in flight, and the notifier is killed once.
    report.check(len(interrupted) <= 8, f"{len(interrupted)} sends interrupted by one kill (at most 8 in flight)")
    report.check(
        by_status["SENT"] + len(interrupted) == len(notes), f"messages neither sent nor interrupted: {dict(by_status)}"
    )

    # -- every service agrees on each receipt -------------------------------------------------------------
    bills = await by_receipt("payment", "status, ntpn", "bill")
    subs = await by_receipt("simkim-gateway", "state, simkim_reference", "submission")
    caps = await by_receipt("capture", "completed_at, issued_at", "application")
    disagree = []
    for a in apps:
        r = a["receipt_number"]
        b, s, c = bills.get(r), subs.get(r), caps.get(r)
        views = {
            "queue": (a["status"], a["bill_status"], a["ntpn"], a["simkim_reference"]),
            "payment": (b["status"], b["ntpn"]) if b else None,
            "gateway": (s["state"], s["simkim_reference"]) if s else None,
            "capture": (c["completed_at"] is not None, c["issued_at"] is not None) if c else None,
        }
        agree = (
            a["status"] == "COLLECTED"
            and b is not None
            and b["status"] == "PAID"
            and b["ntpn"] == a["ntpn"]
            and a["bill_status"] == "PAID"
            and s is not None
            and s["state"] == "ISSUED"
            and s["simkim_reference"] == a["simkim_reference"]
            and c is not None
            and c["completed_at"] is not None
            and c["issued_at"] is not None
        )
        if not agree:
            disagree.append((r, views))
    n["receipts_all_services_agree"] = len(apps) - len(disagree)
    report.check(not disagree, f"{len(disagree)} receipts on which the services disagree, e.g. {disagree[:2]}")
    return report
