"""Control plane: apps, keys, links, postbacks, audit log, in SQLite (embedded) or PostgreSQL."""

from attribo.control.audit import AuditInfo, AuditRepository
from attribo.control.errors import AppExists, ControlError, UnknownApp
from attribo.control.keys import ROLES, Role, hash_key, new_key
from attribo.control.postbacks import (
    DeliveryInfo,
    NewDelivery,
    PostbackRepository,
    PostbackTemplateInfo,
)
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
    "AuditInfo",
    "AuditRepository",
    "ControlError",
    "ControlPlane",
    "CreatedApp",
    "DeliveryInfo",
    "KeyInfo",
    "LinkInfo",
    "NewDelivery",
    "PostbackRepository",
    "PostbackTemplateInfo",
    "Role",
    "UnknownApp",
    "hash_key",
    "new_key",
]
