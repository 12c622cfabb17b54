"""Validation of postback templates before they are stored, with errors naming the field."""

from __future__ import annotations

from urllib.parse import urlsplit

from attribo.postbacks.macros import UnknownMacro, check_template, macros_in
from attribo.postbacks.ssrf import UnsafeTarget, split_target


class TemplateError(ValueError):
    """A template the dispatcher refuses to store; `field` is the request field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def validate_template(url: str, method: str, body: str | None) -> None:
    """Refuse unknown macros, non-http(s) URLs and macros that would choose the host."""
    if method not in ("GET", "POST"):
        raise TemplateError("method", f"method must be GET or POST, got {method!r}")
    try:
        check_template("url", url)
        if body is not None:
            check_template("body", body)
    except UnknownMacro as exc:
        raise TemplateError(exc.field, str(exc)) from None
    parts = urlsplit(url)
    # A value chosen by a click must never pick where the request goes.
    if macros_in(parts.scheme) or macros_in(parts.netloc):
        raise TemplateError("url", "macros are not allowed in the scheme, host or port")
    try:
        split_target(url)
    except UnsafeTarget as exc:
        raise TemplateError("url", str(exc)) from None
