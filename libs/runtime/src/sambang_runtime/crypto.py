"""Personal data at rest: AES-256-GCM with key ids for rotation, and keyed blind indexes for lookups."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import unicodedata
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .entropy import token_bytes

__all__ = [
    "DEV_BLIND_INDEX_KEY",
    "DEV_PII_KEYS",
    "DecryptionError",
    "PiiCipher",
    "cipher_from_settings",
    "generate_key",
]

_KEY_BYTES = 32
_NONCE_BYTES = 12
_TAG_BYTES = 16
_TEXT_VERSION = "v1"
_BINARY_VERSION = 1
_KEY_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")

# Fixed, public development keys for embedded mode and tests; settings refuse them in production.
DEV_PII_KEYS = "dev1:" + base64.b64encode(b"sambang-dev-pii-key-1-not-secret").decode("ascii")
DEV_BLIND_INDEX_KEY = base64.b64encode(b"sambang-dev-blind-idx-not-secret").decode("ascii")


class DecryptionError(ValueError):
    """A ciphertext was tampered with, moved to another context, malformed, or under an unknown key."""


def _associated_data(context: str) -> bytes:
    # The context (e.g. "application.nik:BLT2612010421738") binds a ciphertext to its column and row.
    return b"sambang-pii-v1\x00" + context.encode("utf-8")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PiiCipher:
    """Encrypt and decrypt personal data with AES-256-GCM under rotating keys."""

    def __init__(self, keys: Mapping[str, bytes], active_key_id: str, blind_index_key: bytes) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        for key_id, key in keys.items():
            if not _KEY_ID_PATTERN.match(key_id):
                raise ValueError(f"key id {key_id!r} must be 1-32 characters of A-Z a-z 0-9 _ -")
            if len(key) != _KEY_BYTES:
                raise ValueError(f"key {key_id!r} must be {_KEY_BYTES} bytes, got {len(key)}")
        if active_key_id not in keys:
            raise ValueError(f"active key id {active_key_id!r} is not among the keys")
        if len(blind_index_key) < _KEY_BYTES:
            raise ValueError(f"the blind index key must be at least {_KEY_BYTES} bytes")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active_key_id = active_key_id
        self._blind_index_key = bytes(blind_index_key)

    @property
    def active_key_id(self) -> str:
        """The key id new ciphertexts are written under."""
        return self._active_key_id

    def _seal(self, data: bytes, context: str) -> tuple[bytes, bytes]:
        # A random 96-bit nonce per message; at our volumes the collision risk is negligible.
        nonce = token_bytes(_NONCE_BYTES)
        sealed = self._ciphers[self._active_key_id].encrypt(nonce, data, _associated_data(context))
        return nonce, sealed

    def _open(self, key_id: str, nonce_and_sealed: bytes, context: str) -> bytes:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise DecryptionError(f"unknown key id {key_id!r}")
        if len(nonce_and_sealed) < _NONCE_BYTES + _TAG_BYTES:
            raise DecryptionError("ciphertext is too short")
        nonce, sealed = nonce_and_sealed[:_NONCE_BYTES], nonce_and_sealed[_NONCE_BYTES:]
        try:
            return cipher.decrypt(nonce, sealed, _associated_data(context))
        except InvalidTag:
            raise DecryptionError("ciphertext was altered or belongs to another context") from None

    def encrypt(self, plaintext: str, *, context: str = "") -> str:
        """Encrypt text to a token `v1.<key_id>.<base64url nonce+ciphertext>`."""
        nonce, sealed = self._seal(plaintext.encode("utf-8"), context)
        payload = base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode("ascii")
        return f"{_TEXT_VERSION}.{self._active_key_id}.{payload}"

    def decrypt(self, token: str, *, context: str = "") -> str:
        """Decrypt a token from encrypt(), under whichever known key it names."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _TEXT_VERSION:
            raise DecryptionError("not a v1 ciphertext token")
        _, key_id, payload = parts
        try:
            raw = _b64url_decode(payload)
        except (binascii.Error, ValueError):
            raise DecryptionError("ciphertext token is not valid base64url") from None
        data = self._open(key_id, raw, context)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionError("plaintext is not UTF-8; was it written by encrypt_bytes?") from None

    def encrypt_bytes(self, data: bytes, *, context: str = "") -> bytes:
        """Encrypt binary data (biometrics) to a compact binary envelope for a bytes column."""
        # Binary, not text: base64 would grow 5 MiB photos by a third.
        key_id = self._active_key_id.encode("ascii")
        nonce, sealed = self._seal(data, context)
        return struct.pack("!BB", _BINARY_VERSION, len(key_id)) + key_id + nonce + sealed

    def decrypt_bytes(self, envelope: bytes, *, context: str = "") -> bytes:
        """Decrypt an envelope from encrypt_bytes(), under whichever known key it names."""
        if len(envelope) < 2 or envelope[0] != _BINARY_VERSION:
            raise DecryptionError("not a v1 binary ciphertext")
        key_id_length = envelope[1]
        key_id_bytes = envelope[2 : 2 + key_id_length]
        if len(key_id_bytes) != key_id_length:
            raise DecryptionError("binary ciphertext is truncated")
        try:
            key_id = key_id_bytes.decode("ascii")
        except UnicodeDecodeError:
            raise DecryptionError("binary ciphertext has a malformed key id") from None
        return self._open(key_id, envelope[2 + key_id_length :], context)

    @staticmethod
    def key_id_of(ciphertext: str | bytes) -> str:
        """The key id a ciphertext of ``encrypt`` (text) or ``encrypt_bytes`` (binary) was written under."""
        if isinstance(ciphertext, str):
            parts = ciphertext.split(".")
            if len(parts) != 3 or parts[0] != _TEXT_VERSION:
                raise DecryptionError("not a v1 ciphertext token")
            return parts[1]
        if len(ciphertext) < 2 or ciphertext[0] != _BINARY_VERSION:
            raise DecryptionError("not a v1 binary ciphertext")
        try:
            return ciphertext[2 : 2 + ciphertext[1]].decode("ascii")
        except UnicodeDecodeError:
            raise DecryptionError("binary ciphertext has a malformed key id") from None

    def is_current(self, ciphertext: str | bytes) -> bool:
        """Tell whether a ciphertext is already under the active key (``make rotate-data-key`` skips it)."""
        return self.key_id_of(ciphertext) == self._active_key_id

    def reencrypt(self, token: str, *, context: str = "") -> str:
        """A text ciphertext under the active key (the same token when it already is)."""
        return token if self.is_current(token) else self.encrypt(self.decrypt(token, context=context), context=context)

    def reencrypt_bytes(self, envelope: bytes, *, context: str = "") -> bytes:
        """A binary ciphertext under the active key (the same envelope when it already is)."""
        if self.is_current(envelope):
            return envelope
        return self.encrypt_bytes(self.decrypt_bytes(envelope, context=context), context=context)

    def blind_index(self, value: str, *, purpose: str) -> str:
        """Keyed hash (hex HMAC-SHA256) of a normalised value, to look rows up without decrypting."""
        if not purpose or "\x00" in purpose:
            raise ValueError("purpose must be a non-empty string without NUL")
        # The purpose separates indexes, so equal values in two columns cannot be linked.
        message = purpose.encode("utf-8") + b"\x00" + _normalise(value).encode("utf-8")
        return hmac.new(self._blind_index_key, message, hashlib.sha256).hexdigest()


def _normalise(value: str) -> str:
    # A NIK typed with spaces or full-width digits must find the same row as the plain one.
    folded = unicodedata.normalize("NFKC", value).casefold()
    return "".join(folded.split())


def _decode_key(text: str, what: str) -> bytes:
    text = text.strip()
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not valid base64") from None


def cipher_from_settings(keys_spec: str, blind_index_key_b64: str) -> PiiCipher:
    """Build a cipher from `"k1:<base64>,k2:<base64>"` (the last key is active) and a base64 index key."""
    keys: dict[str, bytes] = {}
    for entry in keys_spec.split(","):
        if not entry.strip():
            continue
        key_id, separator, encoded = entry.strip().partition(":")
        if not separator or not key_id:
            raise ValueError("each key must be written as <key_id>:<base64 key>")
        if key_id in keys:
            raise ValueError(f"key id {key_id!r} is listed twice")
        keys[key_id] = _decode_key(encoded, f"key {key_id!r}")
    if not keys:
        raise ValueError("no encryption keys given")
    active_key_id = list(keys)[-1]
    return PiiCipher(keys, active_key_id, _decode_key(blind_index_key_b64, "blind index key"))


def generate_key() -> str:
    """Return a fresh random 32-byte key, base64-encoded, for the settings."""
    return base64.b64encode(os.urandom(_KEY_BYTES)).decode("ascii")
