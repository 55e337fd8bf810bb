"""The relay's linger grows with the size of its rounds: a trickle waits little, a rush shares rounds."""

from __future__ import annotations

from sambang_runtime.bus.memory import InMemoryBroker
from sambang_runtime.db import create_engine
from sambang_runtime.outbox import OutboxRelay, define_bus_tables
from sqlalchemy import MetaData


def relay(**kwargs: float) -> OutboxRelay:
    tables = define_bus_tables(MetaData())
    return OutboxRelay(create_engine("sqlite+aiosqlite://"), tables, InMemoryBroker(), service="t", **kwargs)


def test_a_trickle_lingers_one_step_and_a_rush_lingers_up_to_the_cap() -> None:
    r = relay(linger_seconds=0.003, linger_max_seconds=0.02)
    assert r.linger() == 0.003  # before any round
    r._last_round_rows = 1
    assert r.linger() == 0.003
    r._last_round_rows = 4
    assert r.linger() == 0.012
    r._last_round_rows = 400
    assert r.linger() == 0.02
    r._last_round_rows = 0  # an empty round: back to one step
    assert r.linger() == 0.003


def test_no_linger_stays_no_linger_and_the_cap_is_never_below_one_step() -> None:
    assert relay(linger_seconds=0, linger_max_seconds=0.02).linger() == 0
    r = relay(linger_seconds=0.005, linger_max_seconds=0.001)
    r._last_round_rows = 10
    assert r.linger() == 0.005
