"""SKAdNetwork install-validation postbacks: parse, verify Apple's signature, decode values."""

from attribo.attribution.skan.decode import DecodedPostback, PostbackRecord, decode, to_record
from attribo.attribution.skan.networks import KNOWN_NETWORKS, network_name
from attribo.attribution.skan.postback import (
    SUPPORTED_VERSIONS,
    Postback,
    check_postback,
    decode_postback,
)
from attribo.attribution.skan.schema import (
    SETTINGS_KEY,
    WINDOW_DAYS,
    CoarseMap,
    ConversionSchema,
    FineRange,
    Meaning,
    check_schema,
    load_schema,
    schema_from_settings,
    schema_to_settings,
)
from attribo.attribution.skan.verify import signed_fields, signed_message, verify_postback

__all__ = [
    "KNOWN_NETWORKS",
    "SETTINGS_KEY",
    "SUPPORTED_VERSIONS",
    "WINDOW_DAYS",
    "CoarseMap",
    "ConversionSchema",
    "DecodedPostback",
    "FineRange",
    "Meaning",
    "Postback",
    "PostbackRecord",
    "check_postback",
    "check_schema",
    "decode",
    "decode_postback",
    "load_schema",
    "network_name",
    "schema_from_settings",
    "schema_to_settings",
    "signed_fields",
    "signed_message",
    "to_record",
    "verify_postback",
]
