"""Postback URL and body templates: `{macro}` placeholders filled with URL-encoded values."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

MACROS: Final[frozenset[str]] = frozenset(
    {
        "click_id",
        "idfa",
        "gaid",
        "idfv",
        "android_id",
        "event_name",
        "revenue",
        "currency",
        "campaign",
        "campaign_id",
        "adset",
        "ad",
        "site_id",
        "network",
        "install_time",
        "event_time",
        "country",
        "platform",
        "ip",
        "app_id",
        "event_id",
        "match",
    }
)

# Only identifier-shaped braces are placeholders, so JSON bodies such as {"id": "{click_id}"}
# keep their own braces.
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class UnknownMacro(ValueError):
    """A template names a placeholder attribo cannot fill; `field` is the template field."""

    def __init__(self, field: str, names: list[str]) -> None:
        listed = ", ".join("{" + n + "}" for n in names)
        super().__init__(f"unknown macro(s) {listed}; known: {', '.join(sorted(MACROS))}")
        self.field = field
        self.names = names


def macros_in(template: str) -> list[str]:
    """The placeholder names in `template`, in order of appearance, each once."""
    return list(dict.fromkeys(_PLACEHOLDER.findall(template)))


def check_template(field: str, template: str) -> None:
    """Raise `UnknownMacro` naming `field` when the template uses a placeholder we lack."""
    unknown = [name for name in macros_in(template) if name not in MACROS]
    if unknown:
        raise UnknownMacro(field, unknown)


def format_value(value: object) -> str:
    """The text form of a macro value before encoding; missing values render as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return repr(value) if value != int(value) else str(int(value))
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def render(template: str, values: Mapping[str, object]) -> str:
    """Fill every placeholder with its percent-encoded value (all reserved characters escaped)."""

    def fill(match: re.Match[str]) -> str:
        return quote(format_value(values.get(match.group(1))), safe="")

    return _PLACEHOLDER.sub(fill, template)
