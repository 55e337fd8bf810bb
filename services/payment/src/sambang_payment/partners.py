"""Payment partners (banks) and their signing keys: registration, rotation with grace, revocation."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sambang_runtime.crypto import DecryptionError, PiiCipher
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from .dialects import insert_ignoring_conflicts
from .domain import PaymentRuleError, as_utc
from .models import PARTNER, PARTNER_KEY

PARTNER_ID = re.compile(r"^[A-Z0-9_]{3,32}$")

# Development only (embedded mode demo): recognisable, never seeded in test or production.
DEV_PARTNER_ID = "BANKDEMO"
DEV_PARTNER_KEY_ID = "BANKDEMO-dev"
DEV_PARTNER_SECRET = "sambang-dev-bank-secret-not-for-production"  # noqa: S105 - public dev secret


def secret_context(key_id: str) -> str:
    """The cipher context binding an encrypted secret to its key id."""
    return f"partner_key.secret:{key_id}"


@dataclass(frozen=True)
class IssuedKey:
    """A new key: the secret is returned this once and stored only encrypted."""

    partner_id: str
    key_id: str
    secret: str
    previous_valid_until: dt.datetime | None = None


def new_secret() -> str:
    """A fresh 256-bit secret, URL-safe text (banks paste it into configuration)."""
    return secrets.token_urlsafe(32)


async def _add_key(
    conn: AsyncConnection,
    cipher: PiiCipher,
    partner_id: str,
    now: dt.datetime,
    *,
    key_id: str | None = None,
    secret: str | None = None,
) -> tuple[str, str]:
    key_id = key_id or f"{partner_id}-{secrets.token_hex(4)}"
    secret = secret or new_secret()
    await conn.execute(
        PARTNER_KEY.insert().values(
            key_id=key_id,
            partner_id=partner_id,
            secret_enc=cipher.encrypt(secret, context=secret_context(key_id)),
            created_at=now,
        )
    )
    return key_id, secret


async def register_partner(
    conn: AsyncConnection, cipher: PiiCipher, partner_id: str, name: str, *, now: dt.datetime
) -> IssuedKey:
    """Register a partner with its first key; 409 ``partner_exists`` if the id is taken."""
    inserted = await conn.execute(
        insert_ignoring_conflicts(conn, PARTNER, {"partner_id": partner_id, "name": name, "created_at": now})
    )
    if not inserted.rowcount:
        raise PaymentRuleError(
            "partner_exists", "A partner with this id already exists", "Mitra dengan id ini sudah terdaftar"
        )
    key_id, secret = await _add_key(conn, cipher, partner_id, now)
    return IssuedKey(partner_id, key_id, secret)


async def _ensure_partner(conn: AsyncConnection, partner_id: str) -> None:
    row = (await conn.execute(select(PARTNER.c.partner_id).where(PARTNER.c.partner_id == partner_id))).first()
    if row is None:
        raise PaymentRuleError("unknown_partner", "No partner has this id", "Tidak ada mitra dengan id ini")


async def rotate_key(
    conn: AsyncConnection, cipher: PiiCipher, partner_id: str, *, grace_seconds: int, now: dt.datetime
) -> IssuedKey:
    """A new key; every key still open keeps working for ``grace_seconds`` more (0: stops now)."""
    await _ensure_partner(conn, partner_id)
    until = now + dt.timedelta(seconds=grace_seconds)
    # Only shorten: a key already winding down keeps its earlier end.
    await conn.execute(
        update(PARTNER_KEY)
        .where(
            PARTNER_KEY.c.partner_id == partner_id,
            PARTNER_KEY.c.revoked_at.is_(None),
            or_(PARTNER_KEY.c.valid_until.is_(None), PARTNER_KEY.c.valid_until > until),
        )
        .values(valid_until=until)
    )
    key_id, secret = await _add_key(conn, cipher, partner_id, now)
    return IssuedKey(partner_id, key_id, secret, previous_valid_until=until)


async def revoke_key(conn: AsyncConnection, partner_id: str, key_id: str, *, now: dt.datetime) -> None:
    """Refuse a key from now on (a leaked secret)."""
    result = await conn.execute(
        update(PARTNER_KEY)
        .where(PARTNER_KEY.c.partner_id == partner_id, PARTNER_KEY.c.key_id == key_id)
        .values(revoked_at=now)
    )
    if not result.rowcount:
        raise PaymentRuleError("unknown_key", "This partner has no such key", "Mitra tidak memiliki kunci ini")


async def active_secret(
    conn: AsyncConnection, cipher: PiiCipher, key_id: str, *, now: dt.datetime
) -> tuple[str, str] | None:
    """``(partner_id, secret)`` of a key usable now; None for unknown, revoked or expired keys."""
    row = (
        await conn.execute(
            select(
                PARTNER_KEY.c.partner_id, PARTNER_KEY.c.secret_enc, PARTNER_KEY.c.valid_until, PARTNER_KEY.c.revoked_at
            ).where(PARTNER_KEY.c.key_id == key_id)
        )
    ).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.valid_until is not None and as_utc(row.valid_until) <= now:
        return None
    try:
        return row.partner_id, cipher.decrypt(row.secret_enc, context=secret_context(key_id))
    except DecryptionError:
        return None


async def list_partners(conn: AsyncConnection, *, now: dt.datetime) -> list[dict[str, object]]:
    """Partners and their keys' state, never their secrets."""
    partners = (await conn.execute(select(PARTNER).order_by(PARTNER.c.partner_id))).all()
    keys = (await conn.execute(select(PARTNER_KEY).order_by(PARTNER_KEY.c.created_at))).all()
    out: list[dict[str, object]] = []
    for p in partners:
        mine = []
        for k in keys:
            if k.partner_id != p.partner_id:
                continue
            until = as_utc(k.valid_until) if k.valid_until is not None else None
            state = "REVOKED" if k.revoked_at is not None else "EXPIRED" if until and until <= now else "ACTIVE"
            mine.append({"key_id": k.key_id, "created_at": as_utc(k.created_at), "valid_until": until, "state": state})
        out.append({"partner_id": p.partner_id, "name": p.name, "keys": mine})
    return out


async def seed_dev_partner(conn: AsyncConnection, cipher: PiiCipher, *, now: dt.datetime) -> bool:
    """The demo bank of embedded mode (development only); returns whether it was added."""
    inserted = await conn.execute(
        insert_ignoring_conflicts(
            conn, PARTNER, {"partner_id": DEV_PARTNER_ID, "name": "Bank Demo (development)", "created_at": now}
        )
    )
    if not inserted.rowcount:
        return False
    await _add_key(conn, cipher, DEV_PARTNER_ID, now, key_id=DEV_PARTNER_KEY_ID, secret=DEV_PARTNER_SECRET)
    return True
