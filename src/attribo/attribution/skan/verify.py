"""Verify Apple's signature on an install-validation postback.

Apple signs the UTF-8 bytes of selected fields joined by U+2063 (INVISIBLE SEPARATOR),
booleans written `true`/`false`, with ECDSA over SHA-256. Which fields are signed
depends on the version; conversion values are never signed, so a changed conversion
value cannot be detected here (Apple's design, not an omission).
"""

from __future__ import annotations

import base64
import binascii
from functools import cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from attribo.attribution.skan.postback import SUPPORTED_VERSIONS, Postback

SEPARATOR = "\u2063"

# Apple's published verification keys (base64 DER SubjectPublicKeyInfo). Public keys:
# shipping them is how every verifier works. P-256 signs 2.1-4.0; P-192 signed 1.0/2.0.
APPLE_P256_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEWdp8GPcGqmhgzEFj9Z2nSpQVddayaPe4FMzqM9wib1+aHaaIzoHo"
    "LN9zW4K8y4SPykE3YVK3sVqW6Af0lfx3gg=="
)
APPLE_P192_KEY = (
    "MEkwEwYHKoZIzj0CAQYIKoZIzj0DAQEDMgAEMyHD625uvsmGq4C43cQ9BnfN2xslVT5V1nOmAMP6qaRRUll3PB1J"
    "YmgSm+62sosG"
)
# 1.0/2.0 postbacks (P-192) sign other fields and are refused by the schema check, so
# only the P-256 versions are mapped; the P-192 key is kept for anyone who adds them.
_KEY_BY_VERSION = {version: APPLE_P256_KEY for version in SUPPORTED_VERSIONS}


def _wire(value: object) -> str:
    """A field value as Apple writes it into the signed message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def signed_fields(postback: Postback) -> list[tuple[str, object]]:
    """The (wire name, value) pairs Apple signs for this postback's version, in order."""
    pb = postback
    if pb.version == "4.0":
        fields: list[tuple[str, object]] = [
            ("version", pb.version),
            ("ad-network-id", pb.ad_network_id),
            ("source-identifier", pb.source_identifier),
            ("app-id", pb.app_id),
            ("transaction-id", pb.transaction_id),
            ("redownload", pb.redownload),
        ]
        # Apple sends the app id or the web domain of the ad, whichever crowd anonymity allows.
        if pb.source_app_id is not None:
            fields.append(("source-app-id", pb.source_app_id))
        elif pb.source_domain is not None:
            fields.append(("source-domain", pb.source_domain))
        fields += [
            ("fidelity-type", pb.fidelity_type),
            ("did-win", pb.did_win),
            ("postback-sequence-index", pb.postback_sequence_index),
        ]
        return fields
    fields = [
        ("version", pb.version),
        ("ad-network-id", pb.ad_network_id),
        ("campaign-id", pb.campaign_id),
        ("app-id", pb.app_id),
        ("transaction-id", pb.transaction_id),
        ("redownload", pb.redownload),
    ]
    # Absent when Apple withheld it for privacy (e.g. every non-winning 3.0 postback).
    if pb.source_app_id is not None:
        fields.append(("source-app-id", pb.source_app_id))
    if pb.version in ("2.2", "3.0"):
        fields.append(("fidelity-type", pb.fidelity_type))
    if pb.version == "3.0":
        fields.append(("did-win", pb.did_win))
    return fields


def signed_message(postback: Postback) -> bytes:
    """The exact bytes Apple signed for this postback."""
    return SEPARATOR.join(_wire(value) for _, value in signed_fields(postback)).encode()


@cache
def _public_key(der_b64: str) -> ec.EllipticCurvePublicKey:
    """Parse an embedded key once."""
    key = load_der_public_key(base64.b64decode(der_b64))
    if not isinstance(key, ec.EllipticCurvePublicKey):  # only reachable if a constant is wrong
        raise TypeError("Apple's SKAdNetwork keys are elliptic-curve keys")
    return key


def verify_postback(postback: Postback) -> bool:
    """True only if Apple's signature covers this postback's signed fields; never raises."""
    key_b64 = _KEY_BY_VERSION.get(postback.version)
    if key_b64 is None:
        return False
    try:
        signature = base64.b64decode(postback.attribution_signature, validate=True)
        message = signed_message(postback)
        _public_key(key_b64).verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True
