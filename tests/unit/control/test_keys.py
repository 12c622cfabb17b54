"""API key generation and hashing are pure functions; pin their format."""

from __future__ import annotations

import hashlib
import re

from attribo.control.keys import KEY_PREFIX, ROLES, display_prefix, hash_key, new_key

URLSAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def test_new_key_has_prefix_and_256_bits_of_urlsafe_randomness() -> None:
    key = new_key()
    assert key.startswith(KEY_PREFIX) and KEY_PREFIX == "atb_"
    body = key.removeprefix(KEY_PREFIX)
    assert len(body) == 43  # token_urlsafe(32): 32 bytes, base64url without padding
    assert URLSAFE.match(body)


def test_new_keys_are_unique() -> None:
    assert len({new_key() for _ in range(1000)}) == 1000


def test_hash_key_is_sha256_hex() -> None:
    key = "atb_example"
    digest = hash_key(key)
    assert digest == hashlib.sha256(b"atb_example").hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert hash_key(key) == digest
    assert hash_key(key + "x") != digest


def test_display_prefix_is_first_eight_characters() -> None:
    key = new_key()
    assert display_prefix(key) == key[:8]
    assert display_prefix(key).startswith("atb_")


def test_roles() -> None:
    assert frozenset({"admin", "analyst", "ingest"}) == ROLES
