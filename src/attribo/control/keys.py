"""API key generation and hashing.

Keys are 256-bit random tokens, so a single fast SHA-256 is enough to store them: there is no
low-entropy secret for a slow password hash (bcrypt, argon2) to protect, and resolving a key
runs on every HTTP request.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Final, Literal, get_args

Role = Literal["admin", "analyst", "ingest"]
ROLES: Final[frozenset[str]] = frozenset(get_args(Role))
KEY_PREFIX: Final = "atb_"
DISPLAY_PREFIX_LEN: Final = 8


def new_key() -> str:
    """Return a fresh plaintext API key; shown to the user once and never stored."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """Return the SHA-256 hex digest stored in place of the key (fast is fine: keys are random)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    """Return the leading characters kept in clear so people can tell their keys apart."""
    return key[:DISPLAY_PREFIX_LEN]
