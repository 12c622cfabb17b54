"""Outgoing postbacks: templates with macros, an SSRF guard, and a durable retrying dispatcher."""

from attribo.postbacks.dispatcher import ALLOW_PRIVATE_SETTING, PostbackDispatcher, dedup_key
from attribo.postbacks.macros import MACROS, UnknownMacro, render
from attribo.postbacks.settings import PostbackSettings, postback_settings_table
from attribo.postbacks.ssrf import UnsafeTarget, blocked_reason, check_target
from attribo.postbacks.templates import TemplateError, validate_template

__all__ = [
    "ALLOW_PRIVATE_SETTING",
    "MACROS",
    "PostbackDispatcher",
    "PostbackSettings",
    "TemplateError",
    "UnknownMacro",
    "UnsafeTarget",
    "blocked_reason",
    "check_target",
    "dedup_key",
    "postback_settings_table",
    "render",
    "validate_template",
]
