"""The watch list (daftar cekal) and the register of passports in force, by blind index of the NIK."""

from __future__ import annotations

from collections.abc import Iterable

from sambang_runtime.uow import UnitOfWork
from sqlalchemy import delete, insert, select

from ..models import active_passport, watchlist_entry


async def replace_watchlist(uow: UnitOfWork, nik_indexes: Iterable[str]) -> int:
    """Replace the whole watch list; returns its size."""
    conn = await uow.session.connection()
    rows = [{"nik_index": i} for i in sorted(set(nik_indexes))]
    await conn.execute(delete(watchlist_entry))
    if rows:
        await conn.execute(insert(watchlist_entry), rows)
    return len(rows)


async def on_watchlist(uow: UnitOfWork, nik_index: str) -> bool:
    """Whether a NIK is on the watch list."""
    conn = await uow.session.connection()
    found = await conn.execute(select(watchlist_entry.c.nik_index).where(watchlist_entry.c.nik_index == nik_index))
    return found.first() is not None


async def replace_passports(uow: UnitOfWork, passports: Iterable[tuple[str, str]]) -> int:
    """Replace the register of passports in force (NIK index, passport number); returns its size."""
    conn = await uow.session.connection()
    rows = [{"nik_index": i, "passport_number": n} for i, n in dict(passports).items()]
    await conn.execute(delete(active_passport))
    if rows:
        await conn.execute(insert(active_passport), rows)
    return len(rows)


async def has_active_passport(uow: UnitOfWork, nik_index: str) -> bool:
    """Whether the NIK holds a passport in force."""
    conn = await uow.session.connection()
    found = await conn.execute(select(active_passport.c.nik_index).where(active_passport.c.nik_index == nik_index))
    return found.first() is not None
