"""A per-app conversion-value schema: what the app's fine and coarse values mean.

The shape follows how growth teams configure SKAN in MMPs: the six bits of the fine
value are split between *event flags* (a bit set means the event happened, e.g. bit 5
for "purchase") and a *range table* read on the remaining bits (value 0-15 ->
revenue buckets, optionally with events of their own). Coarse values (`low`,
`medium`, `high`) map to revenue ranges and events, by default the same in every
window, with optional overrides for the later windows (sequence index 1 and 2).

It is plain JSON, stored in the app's settings under `SETTINGS_KEY`, for example:

    {"event_bits": {"purchase": 5, "subscribe": 4},
     "fine_ranges": [{"min_value": 0, "max_value": 0, "revenue_min": 0, "revenue_max": 0},
                     {"min_value": 1, "max_value": 3, "revenue_min": 0.01, "revenue_max": 4.99,
                      "events": ["tutorial_complete"]}],
     "coarse": {"low": {"revenue_min": 0, "revenue_max": 0},
                "high": {"revenue_min": 5, "revenue_max": 100, "events": ["purchase"]}},
     "coarse_by_window": {"2": {"high": {"revenue_min": 20, "revenue_max": 500}}}}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from attribo.attribution.skan.postback import CoarseValue
from attribo.events.validate import FieldError, decode_json

SETTINGS_KEY = "skan_conversion_schema"
FINE_BITS = 6
# Measurement windows of SKAdNetwork 4.0 postbacks, in days after install, by sequence index.
WINDOW_DAYS: dict[int, tuple[int, int]] = {0: (0, 2), 1: (3, 7), 2: (8, 35)}

_FineValue = Annotated[int, Meta(ge=0, le=63)]
_EventName = Annotated[str, Meta(min_length=1, max_length=64)]
_Bit = Annotated[int, Meta(ge=0, le=FINE_BITS - 1)]
_COARSE_VALUES: tuple[CoarseValue, ...] = ("low", "medium", "high")
_Window = Annotated[int, Meta(ge=0, le=2)]


class _Settings(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Strict about unknown fields (a typo must not silently mean nothing), compact as JSON."""


class Meaning(_Settings, frozen=True, kw_only=True):
    """What a value says: revenue in USD between the bounds, and the events that happened."""

    revenue_min: float | None = None
    revenue_max: float | None = None
    events: list[_EventName] = msgspec.field(default_factory=list)


class FineRange(Meaning, frozen=True, kw_only=True):
    """Fine values `min_value`..`max_value` (with event-flag bits cleared) mean this."""

    min_value: _FineValue
    max_value: _FineValue


class CoarseMap(_Settings, frozen=True, kw_only=True):
    """The meaning of each coarse value; an absent one says nothing beyond the install."""

    low: Meaning | None = None
    medium: Meaning | None = None
    high: Meaning | None = None

    def meaning(self, value: CoarseValue) -> Meaning | None:
        """The meaning configured for `value`."""
        found: Meaning | None = getattr(self, value)
        return found


class ConversionSchema(_Settings, frozen=True, kw_only=True):
    """An app's conversion-value schema; the empty schema decodes installs only."""

    event_bits: dict[_EventName, _Bit] = msgspec.field(default_factory=dict)
    fine_ranges: list[FineRange] = msgspec.field(default_factory=list)
    coarse: CoarseMap = msgspec.field(default_factory=CoarseMap)
    coarse_by_window: dict[_Window, CoarseMap] = msgspec.field(default_factory=dict)

    def flag_mask(self) -> int:
        """The fine-value bits used as event flags."""
        mask = 0
        for bit in self.event_bits.values():
            mask |= 1 << bit
        return mask

    def fine_meaning(self, value: int) -> Meaning:
        """Revenue and events of a fine value: its range's meaning plus the flagged events."""
        ranged = value & ~self.flag_mask()
        found = next(
            (r for r in self.fine_ranges if r.min_value <= ranged <= r.max_value), Meaning()
        )
        flagged = [name for name, bit in sorted(self.event_bits.items(), key=lambda kv: kv[1])]
        events = list(found.events)
        events += [n for n in flagged if value >> self.event_bits[n] & 1 and n not in events]
        return Meaning(revenue_min=found.revenue_min, revenue_max=found.revenue_max, events=events)

    def coarse_meaning(self, value: CoarseValue, sequence_index: int) -> Meaning:
        """Revenue and events of a coarse value in a window (a window override wins)."""
        override = self.coarse_by_window.get(sequence_index)
        found = override.meaning(value) if override is not None else None
        return found or self.coarse.meaning(value) or Meaning()


def _check_meaning(meaning: Meaning, where: str) -> FieldError | None:
    """Revenue bounds must be finite, non-negative and ordered."""
    low, high = meaning.revenue_min, meaning.revenue_max
    for name, bound in (("revenue_min", low), ("revenue_max", high)):
        if bound is not None and (not math.isfinite(bound) or bound < 0):
            return FieldError(f"{where}.{name}", "must be a finite amount of USD, 0 or more")
    if low is not None and high is not None and low > high:
        return FieldError(f"{where}.revenue_max", "must not be below revenue_min")
    return None


def check_schema(schema: ConversionSchema) -> FieldError | None:
    """Rules the types cannot say: ranges ordered and disjoint, one event per bit."""
    seen_bits: dict[int, str] = {}
    for name, bit in schema.event_bits.items():
        if bit in seen_bits:
            return FieldError(f"event_bits.{name}", f"bit {bit} is already {seen_bits[bit]!r}")
        seen_bits[bit] = name
    mask = schema.flag_mask()
    ordered = sorted(enumerate(schema.fine_ranges), key=lambda item: item[1].min_value)
    previous: FineRange | None = None
    for index, fine in ordered:
        where = f"fine_ranges[{index}]"
        if fine.min_value > fine.max_value:
            return FieldError(f"{where}.max_value", "must not be below min_value")
        if fine.min_value & mask or fine.max_value & mask:
            return FieldError(where, "range bounds must not use the event-flag bits")
        if previous is not None and fine.min_value <= previous.max_value:
            return FieldError(where, "overlaps another fine range")
        previous = fine
        problem = _check_meaning(fine, where)
        if problem:
            return problem
    maps = [("coarse", schema.coarse)]
    maps += [(f"coarse_by_window.{w}", m) for w, m in sorted(schema.coarse_by_window.items())]
    for where, coarse in maps:
        for value in _COARSE_VALUES:
            meaning = coarse.meaning(value)
            problem = None if meaning is None else _check_meaning(meaning, f"{where}.{value}")
            if problem:
                return problem
    return None


def load_schema(data: Any) -> ConversionSchema | FieldError:
    """Build a schema from JSON-like data (app settings), or the error naming the field."""
    try:
        body = msgspec.json.encode(data)
    except (TypeError, msgspec.EncodeError) as exc:
        return FieldError(SETTINGS_KEY, f"not JSON data: {exc}")
    # Through JSON so that errors name the field exactly as event errors do.
    schema = decode_json(body, ConversionSchema)
    if isinstance(schema, FieldError):
        # msgspec reports a bad dict key as "key` in `$.path"; keep just the path.
        field = schema.field.rpartition("`$.")[2]
        return FieldError(field, schema.message)
    return check_schema(schema) or schema


def schema_from_settings(settings: Mapping[str, Any]) -> ConversionSchema | FieldError:
    """The schema kept in an app's settings; the empty schema when none is configured."""
    data = settings.get(SETTINGS_KEY)
    return ConversionSchema() if data is None else load_schema(data)


def schema_to_settings(schema: ConversionSchema) -> dict[str, Any]:
    """The JSON form to store under `SETTINGS_KEY` in the app's settings."""
    data: dict[str, Any] = msgspec.to_builtins(schema, str_keys=True)
    return data
