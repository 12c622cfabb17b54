"""The SKAN postback sink contract: one row per postback, verified copies win, verified counts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from skan_records import T0, record


def test_a_repeat_is_stored_once_per_app(skan_sink: Any) -> None:
    assert skan_sink.write_postback(record(conversion_value=1)) is True
    assert skan_sink.write_postback(record(conversion_value=1)) is False
    assert skan_sink.write_postback(record(postback_sequence_index=1)) is True
    assert skan_sink.write_postback(record(app_id="app2")) is True
    summary = skan_sink.summary("app1")
    assert (summary.postbacks, summary.installs) == (2, 1)
    assert skan_sink.summary("app2").postbacks == 1


def test_verified_copies_replace_unverified_ones_never_the_reverse(skan_sink: Any) -> None:
    assert skan_sink.write_postback(record("a", verified=False)) is True
    assert skan_sink.summary("app1").unverified == 1
    assert skan_sink.write_postback(record("a", verified=True, conversion_value=7)) is True
    assert skan_sink.write_postback(record("a", verified=False)) is False
    assert skan_sink.write_postback(record("a", verified=True)) is False
    summary = skan_sink.summary("app1")
    assert (summary.postbacks, summary.unverified) == (1, 0)
    assert (summary.revenue_min, summary.revenue_max) == (1.0, 5.0)  # conversion value 7


def test_summary_counts_verified_postbacks_by_network_in_a_time_range(skan_sink: Any) -> None:
    for i in range(4):
        skan_sink.write_postback(
            record(f"t{i}", received_at=T0 + timedelta(hours=i), conversion_value=32 + i)
        )
    skan_sink.write_postback(record("lost", did_win=False))
    skan_sink.write_postback(record("forged", verified=False))
    summary = skan_sink.summary("app1")
    assert (summary.postbacks, summary.installs, summary.non_winning) == (5, 4, 1)
    assert summary.unverified == 1
    assert summary.events == {"purchase": 4}
    assert [g.network for g in summary.by_network] == [summary.by_network[0].network]
    window = skan_sink.summary("app1", T0 + timedelta(hours=1), T0 + timedelta(hours=3))
    assert window.postbacks == 2
    assert skan_sink.summary("nobody").postbacks == 0
