"""Each application's data key (DEK): envelope encryption of its biometrics, and crypto-shredding.

An application's images are sealed with AES-256-GCM under a random 256-bit key of its own. That key is
stored only wrapped (sealed under the service's PII key, ``biometric_key.key_id`` naming which), one row
per application. Deleting the row destroys the key: every copy of the images' ciphertext (a dump of
``biometric_item``, a backup restored later) is then unreadable for good, the service included.

Rotating the PII key re-wraps the data keys (32 bytes each) and leaves the images as they are: that is
the point of envelope encryption, a 5 MiB photo need not be rewritten because the key above its key
changed.

(Backups of ``biometric_key`` itself must age out within the retention period for a restore to stay
shredded; it is a small table, kept apart from the images, so that is cheap to arrange.)
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sambang_runtime.crypto import DecryptionError
from sambang_runtime.entropy import token_bytes
from sambang_runtime.sql import upsert
from sambang_runtime.uow import UnitOfWork
from sqlalchemy import delete, select, update

from ..models import biometric_key

#: ``biometric_item.key_id`` of an image sealed with its application's data key.
DEK = "dek"
_DEK_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
#: First byte of an image sealed with a data key; the PII cipher's own binary envelopes start with 1.
_ENVELOPE_VERSION = 2


@dataclass(frozen=True, slots=True)
class DataKey:
    """An application's data key, unwrapped (keep it in memory only, for one unit of work)."""

    receipt_number: str
    key: bytes


def _wrap_context(receipt_number: str) -> str:
    # Binds the wrapped key to its application: a row copied to another receipt does not unwrap.
    return f"biometric_key:{receipt_number}"


def _associated_data(context: str) -> bytes:
    return b"sambang-biometric-dek-v1\x00" + context.encode("utf-8")


def is_sealed_with_data_key(envelope: bytes) -> bool:
    """Whether an image's ciphertext is sealed with a data key (rather than the PII key, rows of before)."""
    return len(envelope) > 0 and envelope[0] == _ENVELOPE_VERSION


def seal(key: DataKey, data: bytes, *, context: str) -> bytes:
    """``data`` sealed with the application's data key, bound to ``context`` (its row)."""
    nonce = token_bytes(_NONCE_BYTES)
    sealed = AESGCM(key.key).encrypt(nonce, data, _associated_data(context))
    return struct.pack("!B", _ENVELOPE_VERSION) + nonce + sealed


def unseal(key: DataKey, envelope: bytes, *, context: str) -> bytes:
    """The bytes ``seal`` sealed; ``DecryptionError`` when altered, moved or under another key."""
    if not is_sealed_with_data_key(envelope) or len(envelope) < 1 + _NONCE_BYTES + _TAG_BYTES:
        raise DecryptionError("not an image sealed with a data key")
    nonce, sealed = envelope[1 : 1 + _NONCE_BYTES], envelope[1 + _NONCE_BYTES :]
    try:
        return AESGCM(key.key).decrypt(nonce, sealed, _associated_data(context))
    except InvalidTag:
        raise DecryptionError("the image was altered, moved, or its data key is not this one") from None


async def data_key(uow: UnitOfWork, receipt_number: str) -> DataKey | None:
    """The application's data key, unwrapped; None when it has none (nothing sealed yet, or shredded)."""
    conn = await uow.session.connection()
    row = (
        await conn.execute(select(biometric_key.c.wrapped_dek).where(biometric_key.c.receipt_number == receipt_number))
    ).first()
    if row is None:
        return None
    key = uow.cipher.decrypt_bytes(bytes(row.wrapped_dek), context=_wrap_context(receipt_number))
    return DataKey(receipt_number, key)


async def data_key_for_writing(uow: UnitOfWork, receipt_number: str, now: dt.datetime) -> DataKey:
    """The application's data key, made (random, wrapped under the active PII key) on its first image."""
    found = await data_key(uow, receipt_number)
    if found is not None:
        return found
    key = token_bytes(_DEK_BYTES)
    row = {
        "receipt_number": receipt_number,
        "key_id": uow.cipher.active_key_id,
        "wrapped_dek": uow.cipher.encrypt_bytes(key, context=_wrap_context(receipt_number)),
        "created_at": now,
    }
    conn = await uow.session.connection()
    await upsert(conn, biometric_key, row, key=["receipt_number"], update=None)
    # Another writer may have made one first (the application row lock makes that rare): use what is stored.
    stored = await data_key(uow, receipt_number)
    assert stored is not None
    return stored


async def shred(uow: UnitOfWork, receipt_numbers: list[str]) -> int:
    """Destroy these applications' data keys: their images can never be read again; how many went."""
    if not receipt_numbers:
        return 0
    conn = await uow.session.connection()
    result = await conn.execute(delete(biometric_key).where(biometric_key.c.receipt_number.in_(receipt_numbers)))
    return int(result.rowcount)


async def rewrap_batch(uow: UnitOfWork, limit: int) -> int:
    """Re-wrap up to ``limit`` data keys not yet under the active PII key; how many were."""
    cipher = uow.cipher
    conn = await uow.session.connection()
    rows = (
        await conn.execute(
            select(biometric_key.c.receipt_number, biometric_key.c.wrapped_dek)
            .where(biometric_key.c.key_id != cipher.active_key_id)
            .order_by(biometric_key.c.receipt_number)
            .limit(limit)
        )
    ).all()
    for r in rows:
        context = _wrap_context(r.receipt_number)
        await conn.execute(
            update(biometric_key)
            .where(biometric_key.c.receipt_number == r.receipt_number)
            .values(
                key_id=cipher.active_key_id, wrapped_dek=cipher.reencrypt_bytes(bytes(r.wrapped_dek), context=context)
            )
        )
    return len(rows)
