"""Keyed hashes of the queue, all from the service's cipher (``uow.cipher``): the blind indexes of
NIK and birth date, and the MAC that signs arrival links. The key never leaves the cipher."""

from __future__ import annotations

import datetime as dt

from sambang_runtime.crypto import PiiCipher

from .domain.arrival import Mac


def nik_hash(cipher: PiiCipher, nik: str) -> str:
    """The blind index of a NIK (lookups and the one-active-application rule)."""
    return cipher.blind_index(nik, purpose="nik")


def birth_hash(cipher: PiiCipher, receipt_number: str, birth_date: dt.date) -> str:
    """A keyed hash of the birth date bound to the receipt, so equal birth dates are unlinkable."""
    return cipher.blind_index(f"{receipt_number}|{birth_date.isoformat()}", purpose="birth_date")


def mac(cipher: PiiCipher, purpose: str) -> Mac:
    """A keyed hash for signing (the blind-index key, separated by purpose)."""

    def sign(message: str) -> str:
        return cipher.blind_index(message, purpose=purpose)

    return sign
