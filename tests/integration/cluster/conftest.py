"""Cluster-profile fixtures: one namespace per test on the machine's real services."""

from __future__ import annotations

import secrets

import pytest


@pytest.fixture
def namespace() -> str:
    """A namespace of its own, so test runs share servers without meeting."""
    return f"t{secrets.token_hex(5)}"
