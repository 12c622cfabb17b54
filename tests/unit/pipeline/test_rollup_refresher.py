"""The rollup refresher calls its refresh again and again, survives errors and stops."""

from __future__ import annotations

import threading
import time

from attribo.pipeline.rollup_refresher import RollupRefresher


def test_refreshes_until_stopped_and_survives_errors() -> None:
    calls = 0
    enough = threading.Event()

    def refresh() -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("a failed refresh")
        if calls >= 4:
            enough.set()

    refresher = RollupRefresher(refresh, every_s=0.01)
    refresher.start()
    assert enough.wait(5), "kept refreshing after an error"
    refresher.stop()
    stopped_at = calls
    assert refresher.errors == 1
    time.sleep(0.05)
    assert calls == stopped_at, "no refresh after stop() returned"


def test_stop_before_start_is_harmless() -> None:
    RollupRefresher(lambda: None).stop()
