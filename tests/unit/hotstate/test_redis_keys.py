"""Redis URLs and key naming: which URL means a cluster, and one app's keys in one slot."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("redis", reason="redis-py is in the cluster extra")

from redis.crc import key_slot

from attribo.hotstate.redis_client import app_tag, cluster_url


def test_only_the_cluster_schemes_mean_a_cluster() -> None:
    assert cluster_url("redis+cluster://10.0.0.1:7000") == "redis://10.0.0.1:7000"
    assert cluster_url("REDISS+cluster://h:6380/0") == "rediss://h:6380/0"
    assert cluster_url("redis://127.0.0.1:6379/0") is None
    assert cluster_url("rediss://h:6380") is None
    assert cluster_url("redis+cluster") is None  # no scheme separator: not a URL


@given(app=st.text(min_size=1, max_size=64), keys=st.lists(st.text(max_size=40), min_size=2))
def test_every_key_of_one_app_shares_a_slot(app: str, keys: list[str]) -> None:
    slots = {key_slot(f"ns:dedup:{app_tag(app)}:{key}".encode()) for key in keys}
    slots |= {key_slot(f"ns:touch:{app_tag(app)}{key}".encode()) for key in keys}
    assert len(slots) == 1


def test_apps_spread_over_the_slots() -> None:
    slots = {key_slot(f"ns:dedup:{app_tag(f'com.app{i}')}:e".encode()) for i in range(200)}
    assert len(slots) > 150  # not every app on one shard
