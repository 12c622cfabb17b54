"""Apple install-validation postbacks (SKAdNetwork 2.1-4.0): wire type and schema checks.

Decoding happens in two steps so that an unsupported version is reported as such,
not as whichever of its (unknown) fields happens to be missing; then the version's
own rules (which fields it must, and must not, carry) are checked, because a field
that does not belong to the version is not covered by Apple's signature.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta, field

from attribo.events.validate import FieldError, decode_json

SUPPORTED_VERSIONS = ("2.1", "2.2", "3.0", "4.0")
CoarseValue = Literal["low", "medium", "high"]

_Text = Annotated[str, Meta(min_length=1, max_length=256)]
_AppleId = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class _VersionOnly(msgspec.Struct):
    """Just enough of a body to pick the rules that apply to it."""

    version: str


class Postback(msgspec.Struct, frozen=True, kw_only=True):
    """One install-validation postback as Apple sends it (fields a forwarder adds are ignored)."""

    version: str
    ad_network_id: _Text = field(name="ad-network-id")
    app_id: _AppleId = field(name="app-id")
    transaction_id: _Text = field(name="transaction-id")
    attribution_signature: Annotated[str, Meta(min_length=1, max_length=1024)] = field(
        name="attribution-signature"
    )
    redownload: bool | None = None
    campaign_id: Annotated[int, Meta(ge=0, le=100)] | None = field(default=None, name="campaign-id")
    source_identifier: Annotated[str, Meta(pattern=r"^[0-9]{1,4}$")] | None = field(
        default=None, name="source-identifier"
    )
    source_app_id: _AppleId | None = field(default=None, name="source-app-id")
    source_domain: _Text | None = field(default=None, name="source-domain")
    fidelity_type: Literal[0, 1] | None = field(default=None, name="fidelity-type")
    did_win: bool | None = field(default=None, name="did-win")
    conversion_value: Annotated[int, Meta(ge=0, le=63)] | None = field(
        default=None, name="conversion-value"
    )
    coarse_conversion_value: CoarseValue | None = field(
        default=None, name="coarse-conversion-value"
    )
    postback_sequence_index: Literal[0, 1, 2] | None = field(
        default=None, name="postback-sequence-index"
    )

    @property
    def sequence_index(self) -> int:
        """The postback's window: 0, 1 or 2 (versions before 4.0 only have the first)."""
        return self.postback_sequence_index or 0

    @property
    def won(self) -> bool:
        """Whether this network won the install (before 3.0 only the winner got a postback)."""
        return self.did_win is not False

    @property
    def campaign(self) -> str | None:
        """The campaign as the network set it: campaign-id (≤3.0) or source-identifier (4.0)."""
        if self.source_identifier is not None:
            return self.source_identifier
        return None if self.campaign_id is None else str(self.campaign_id)


# Wire name of every field that a version requires, and of every field it may not carry.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "2.1": ("campaign-id", "redownload"),
    "2.2": ("campaign-id", "redownload", "fidelity-type"),
    "3.0": ("campaign-id", "redownload", "fidelity-type", "did-win"),
    "4.0": (
        "source-identifier",
        "redownload",
        "fidelity-type",
        "did-win",
        "postback-sequence-index",
    ),
}
_FORBIDDEN: dict[str, tuple[str, ...]] = {
    "2.1": (
        "source-identifier",
        "source-domain",
        "fidelity-type",
        "did-win",
        "coarse-conversion-value",
        "postback-sequence-index",
    ),
    "2.2": (
        "source-identifier",
        "source-domain",
        "did-win",
        "coarse-conversion-value",
        "postback-sequence-index",
    ),
    "3.0": (
        "source-identifier",
        "source-domain",
        "coarse-conversion-value",
        "postback-sequence-index",
    ),
    "4.0": ("campaign-id",),
}
_ATTRIBUTE = {f.encode_name: f.name for f in msgspec.structs.fields(Postback)}


def _present(postback: Postback, wire_name: str) -> bool:
    """Whether the body carried the field (every optional field defaults to None)."""
    return getattr(postback, _ATTRIBUTE[wire_name]) is not None


def check_postback(postback: Postback) -> FieldError | None:
    """Rules the types cannot say: per-version fields and which values may appear together."""
    version = postback.version
    if version not in SUPPORTED_VERSIONS:
        return unsupported_version(version)
    for name in _REQUIRED[version]:
        if not _present(postback, name):
            return FieldError(name, f"required in version {version} postbacks")
    for name in _FORBIDDEN[version]:
        if _present(postback, name):
            return FieldError(name, f"not part of version {version} postbacks")
    if postback.source_app_id is not None and postback.source_domain is not None:
        return FieldError("source-domain", "carries source-app-id or source-domain, not both")
    if postback.conversion_value is not None and postback.coarse_conversion_value is not None:
        return FieldError(
            "coarse-conversion-value", "a postback has a fine or a coarse value, not both"
        )
    if postback.conversion_value is not None and postback.sequence_index > 0:
        return FieldError("conversion-value", "only the first postback (index 0) has a fine value")
    if not postback.won and (
        postback.conversion_value is not None or postback.coarse_conversion_value is not None
    ):
        return FieldError("did-win", "a non-winning postback carries no conversion value")
    return None


def decode_postback(body: bytes) -> Postback | FieldError:
    """Decode and check a postback body, or the first error naming the field at fault."""
    head = decode_json(body, _VersionOnly)
    if isinstance(head, FieldError):
        return head
    if head.version not in SUPPORTED_VERSIONS:
        return unsupported_version(head.version)
    postback = decode_json(body, Postback)
    if isinstance(postback, FieldError):
        return postback
    return check_postback(postback) or postback


def unsupported_version(version: str) -> FieldError:
    """The error for a version this module does not support."""
    supported = ", ".join(SUPPORTED_VERSIONS)
    return FieldError("version", f"unsupported version {version!r} (supported: {supported})")
