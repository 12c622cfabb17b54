"""Control plane: apps, API keys and tracking links, in SQLite (embedded) or PostgreSQL."""

from attribo.control.errors import AppExists, ControlError, UnknownApp
from attribo.control.keys import ROLES, Role, hash_key, new_key
from attribo.control.repository import (
    AppInfo,
    ControlPlane,
    CreatedApp,
    KeyInfo,
    LinkInfo,
)

__all__ = [
    "ROLES",
    "AppExists",
    "AppInfo",
    "ControlError",
    "ControlPlane",
    "CreatedApp",
    "KeyInfo",
    "LinkInfo",
    "Role",
    "UnknownApp",
    "hash_key",
    "new_key",
]
