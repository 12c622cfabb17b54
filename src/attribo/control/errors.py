"""Errors the control plane raises, so callers can map them to CLI or HTTP answers."""

from __future__ import annotations


class ControlError(Exception):
    """Base class for control-plane failures that callers are expected to handle."""


class AppExists(ControlError):
    """Raised when creating an app whose id is already taken."""

    def __init__(self, app_id: str) -> None:
        super().__init__(f"app {app_id!r} already exists")
        self.app_id = app_id


class UnknownApp(ControlError):
    """Raised when an operation names an app that does not exist."""

    def __init__(self, app_id: str) -> None:
        super().__init__(f"unknown app {app_id!r}")
        self.app_id = app_id
