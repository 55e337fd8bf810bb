"""Personal data at rest: AES-GCM tokens, tampering, contexts, rotation and blind indexes."""

from __future__ import annotations

import base64

import pytest
from sambang_runtime.crypto import (
    DEV_BLIND_INDEX_KEY,
    DEV_PII_KEYS,
    DecryptionError,
    PiiCipher,
    cipher_from_settings,
    generate_key,
)

NIK = "3505123412341234"
# The same NIK in full-width digits, as some Indonesian input methods type it.
FULLWIDTH_NIK = "".join(chr(ord(digit) + 0xFEE0) for digit in NIK)


@pytest.fixture
def cipher() -> PiiCipher:
    return cipher_from_settings(DEV_PII_KEYS, DEV_BLIND_INDEX_KEY)


def _flip_last_payload_char(token: str) -> str:
    version, key_id, payload = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw[-1] ^= 0x01
    return f"{version}.{key_id}." + base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_text_round_trips_and_the_token_names_version_and_key(cipher: PiiCipher) -> None:
    token = cipher.encrypt("Siti Rahayu", context="application.full_name")

    assert token.startswith("v1.dev1.")
    assert "Siti" not in token
    assert cipher.decrypt(token, context="application.full_name") == "Siti Rahayu"


def test_unicode_and_empty_text_round_trip(cipher: PiiCipher) -> None:
    for value in ("", "Ñoño — Jl. Merdeka № 5, Blitar", "日本"):
        assert cipher.decrypt(cipher.encrypt(value)) == value


def test_same_plaintext_encrypts_to_different_tokens(cipher: PiiCipher) -> None:
    assert cipher.encrypt(NIK) != cipher.encrypt(NIK)


def test_tampered_ciphertext_is_refused(cipher: PiiCipher) -> None:
    token = cipher.encrypt(NIK, context="application.nik")

    with pytest.raises(DecryptionError):
        cipher.decrypt(_flip_last_payload_char(token), context="application.nik")


def test_ciphertext_moved_to_another_context_is_refused(cipher: PiiCipher) -> None:
    token = cipher.encrypt(NIK, context="application.nik:BLT2612010421738")

    with pytest.raises(DecryptionError):
        cipher.decrypt(token, context="application.nik:BLT2612010421739")


def test_malformed_tokens_and_unknown_keys_are_decryption_errors(cipher: PiiCipher) -> None:
    token = cipher.encrypt(NIK)
    _, _, payload = token.split(".")

    for bad in ("", "plain text", "v2.dev1." + payload, "v1.nokey." + payload, "v1.dev1.AAAA", "v1.dev1.%%%"):
        with pytest.raises(DecryptionError):
            cipher.decrypt(bad)
    assert issubclass(DecryptionError, ValueError)


def test_old_key_still_decrypts_after_a_new_active_key_is_added() -> None:
    old_spec = "k1:" + generate_key()
    old = cipher_from_settings(old_spec, DEV_BLIND_INDEX_KEY)
    written_before = old.encrypt(NIK, context="nik")

    rotated = cipher_from_settings(f"{old_spec}, k2:{generate_key()}", DEV_BLIND_INDEX_KEY)
    written_after = rotated.encrypt(NIK, context="nik")

    assert rotated.active_key_id == "k2"
    assert written_after.startswith("v1.k2.")
    assert rotated.decrypt(written_before, context="nik") == NIK
    with pytest.raises(DecryptionError, match="unknown key"):
        old.decrypt(written_after, context="nik")


def test_bytes_round_trip_and_tampering_is_refused(cipher: PiiCipher) -> None:
    photo = bytes(range(256)) * 100
    envelope = cipher.encrypt_bytes(photo, context="photo:BLT2612010421738")

    assert photo not in envelope
    assert cipher.decrypt_bytes(envelope, context="photo:BLT2612010421738") == photo
    with pytest.raises(DecryptionError):
        cipher.decrypt_bytes(envelope[:-1] + bytes([envelope[-1] ^ 1]), context="photo:BLT2612010421738")
    with pytest.raises(DecryptionError):
        cipher.decrypt_bytes(envelope, context="signature:BLT2612010421738")
    with pytest.raises(DecryptionError):
        cipher.decrypt_bytes(b"\x01\x09dev")


def test_blind_index_is_deterministic_normalised_and_differs_by_purpose(cipher: PiiCipher) -> None:
    first = cipher.blind_index(NIK, purpose="application.nik")

    assert first == cipher.blind_index(NIK, purpose="application.nik")
    assert first == cipher.blind_index(" 3505 1234 1234 1234 ", purpose="application.nik")
    assert first == cipher.blind_index(FULLWIDTH_NIK, purpose="application.nik")
    assert first != cipher.blind_index(NIK, purpose="pickup.proxy_nik")
    assert first != cipher.blind_index("3505123412341235", purpose="application.nik")
    assert len(first) == 64
    assert int(first, 16) >= 0


def test_blind_index_depends_on_the_key() -> None:
    other = PiiCipher({"k": b"k" * 32}, "k", b"another-blind-index-key-32-bytes")
    dev = cipher_from_settings(DEV_PII_KEYS, DEV_BLIND_INDEX_KEY)

    assert other.blind_index(NIK, purpose="nik") != dev.blind_index(NIK, purpose="nik")


def test_settings_with_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        cipher_from_settings("k1:" + base64.b64encode(b"short").decode(), DEV_BLIND_INDEX_KEY)
    with pytest.raises(ValueError, match="base64"):
        cipher_from_settings("k1:not base64!", DEV_BLIND_INDEX_KEY)
    with pytest.raises(ValueError, match="twice"):
        key = generate_key()
        cipher_from_settings(f"k1:{key},k1:{key}", DEV_BLIND_INDEX_KEY)
    with pytest.raises(ValueError):
        cipher_from_settings("", DEV_BLIND_INDEX_KEY)
    with pytest.raises(ValueError):
        cipher_from_settings(DEV_PII_KEYS, base64.b64encode(b"short").decode())


def test_generated_keys_are_random_32_byte_base64() -> None:
    first, second = generate_key(), generate_key()

    assert first != second
    assert len(base64.b64decode(first, validate=True)) == 32
