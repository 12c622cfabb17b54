"""Fixtures for the metrics reports: one simulated dataset per session (see metrics_data)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def report_data(tmp_path_factory: pytest.TempPathFactory):
    """The simulated data, stored by a real server; built once per session."""
    from metrics_data import build_report_data

    return build_report_data(tmp_path_factory.mktemp("metrics"))
