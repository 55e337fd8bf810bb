"""Payment partners (banks) and their signing keys; secrets are stored only encrypted."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sambang_runtime.crypto import DecryptionError
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import or_, select, update

from ..domain.offices import as_utc
from ..models import PARTNER, PARTNER_KEY

# Development only (embedded mode demo): recognisable, never seeded in test or production.
DEV_PARTNER_ID = "BANKDEMO"
DEV_PARTNER_KEY_ID = "BANKDEMO-dev"
DEV_PARTNER_SECRET = "sambang-dev-bank-secret-not-for-production"  # noqa: S105 - public dev secret


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key: the secret is returned this once and stored only encrypted."""

    partner_id: str
    key_id: str
    secret: str


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A key as a notification is checked against it; ``secret`` None if it cannot be decrypted."""

    key_id: str
    partner_id: str
    secret: str | None
    valid_until: dt.datetime | None
    revoked_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class KeyView:
    """A key as an admin lists it: never its secret."""

    key_id: str
    created_at: dt.datetime
    valid_until: dt.datetime | None
    revoked_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class PartnerView:
    """A partner and its keys, oldest key first."""

    partner_id: str
    name: str
    keys: list[KeyView]


def _secret_context(key_id: str) -> str:
    # Binds an encrypted secret to its key id: a secret copied onto another key does not decrypt.
    return f"partner_key.secret:{key_id}"


def _new_secret() -> str:
    # 256 bits as URL-safe text: banks paste it into configuration.
    return secrets.token_urlsafe(32)


async def partner_exists(uow: UnitOfWork, partner_id: str) -> bool:
    """Whether a partner with this id is registered."""
    conn = await uow.session.connection()
    found = await conn.execute(select(PARTNER.c.partner_id).where(PARTNER.c.partner_id == partner_id))
    return found.first() is not None


async def add_partner(uow: UnitOfWork, partner_id: str, name: str, *, now: dt.datetime) -> bool:
    """Register a partner; False if the id is taken."""
    conn = await uow.session.connection()
    values = {"partner_id": partner_id, "name": name, "created_at": now}
    inserted = await upsert(conn, PARTNER, values, key=("partner_id",))
    return bool(inserted.rowcount)


async def add_key(
    uow: UnitOfWork, partner_id: str, *, now: dt.datetime, key_id: str | None = None, secret: str | None = None
) -> IssuedKey:
    """A new signing key for a partner (a fresh id and secret unless given)."""
    conn = await uow.session.connection()
    key_id = key_id or f"{partner_id}-{secrets.token_hex(4)}"
    secret = secret or _new_secret()
    await conn.execute(
        PARTNER_KEY.insert().values(
            key_id=key_id,
            partner_id=partner_id,
            secret_enc=uow.cipher.encrypt(secret, context=_secret_context(key_id)),
            created_at=now,
        )
    )
    return IssuedKey(partner_id, key_id, secret)


async def end_open_keys(uow: UnitOfWork, partner_id: str, *, until: dt.datetime) -> None:
    """Every key of the partner still open stops working at ``until`` (a key ending earlier keeps its end)."""
    conn = await uow.session.connection()
    await conn.execute(
        update(PARTNER_KEY)
        .where(
            PARTNER_KEY.c.partner_id == partner_id,
            PARTNER_KEY.c.revoked_at.is_(None),
            or_(PARTNER_KEY.c.valid_until.is_(None), PARTNER_KEY.c.valid_until > until),
        )
        .values(valid_until=until)
    )


async def revoke_key(uow: UnitOfWork, partner_id: str, key_id: str, *, now: dt.datetime) -> bool:
    """Refuse a key from now on; False if the partner has no such key."""
    conn = await uow.session.connection()
    result = await conn.execute(
        update(PARTNER_KEY)
        .where(PARTNER_KEY.c.partner_id == partner_id, PARTNER_KEY.c.key_id == key_id)
        .values(revoked_at=now)
    )
    return bool(result.rowcount)


async def signing_key(uow: UnitOfWork, key_id: str) -> SigningKey | None:
    """A key with its decrypted secret, or None for an unknown key id."""
    conn = await uow.session.connection()
    row = (
        await conn.execute(
            select(
                PARTNER_KEY.c.partner_id, PARTNER_KEY.c.secret_enc, PARTNER_KEY.c.valid_until, PARTNER_KEY.c.revoked_at
            ).where(PARTNER_KEY.c.key_id == key_id)
        )
    ).first()
    if row is None:
        return None
    try:
        secret: str | None = uow.cipher.decrypt(row.secret_enc, context=_secret_context(key_id))
    except DecryptionError:
        secret = None
    return SigningKey(
        key_id=key_id,
        partner_id=row.partner_id,
        secret=secret,
        valid_until=as_utc(row.valid_until) if row.valid_until is not None else None,
        revoked_at=as_utc(row.revoked_at) if row.revoked_at is not None else None,
    )


async def partners_with_keys(uow: UnitOfWork) -> list[PartnerView]:
    """Every partner and its keys, never a secret."""
    conn = await uow.session.connection()
    partners = (await conn.execute(select(PARTNER.c.partner_id, PARTNER.c.name).order_by(PARTNER.c.partner_id))).all()
    keys = (
        await conn.execute(
            select(
                PARTNER_KEY.c.partner_id,
                PARTNER_KEY.c.key_id,
                PARTNER_KEY.c.created_at,
                PARTNER_KEY.c.valid_until,
                PARTNER_KEY.c.revoked_at,
            ).order_by(PARTNER_KEY.c.created_at)
        )
    ).all()
    by_partner: dict[str, list[KeyView]] = {}
    for k in keys:
        by_partner.setdefault(k.partner_id, []).append(
            KeyView(
                key_id=k.key_id,
                created_at=as_utc(k.created_at),
                valid_until=as_utc(k.valid_until) if k.valid_until is not None else None,
                revoked_at=as_utc(k.revoked_at) if k.revoked_at is not None else None,
            )
        )
    return [PartnerView(p.partner_id, p.name, by_partner.get(p.partner_id, [])) for p in partners]


async def seed_dev_partner(uow: UnitOfWork, *, now: dt.datetime) -> bool:
    """The demo bank of embedded mode (development only); returns whether it was added."""
    if not await add_partner(uow, DEV_PARTNER_ID, "Bank Demo (development)", now=now):
        return False
    await add_key(uow, DEV_PARTNER_ID, now=now, key_id=DEV_PARTNER_KEY_ID, secret=DEV_PARTNER_SECRET)
    return True
