"""A background thread that keeps the store's report rollups close to the stored events.

Reports refresh the rollups themselves before reading, so this only keeps that catch-up
small. It runs at the store writer's lower CPU priority: acknowledging events comes first.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from attribo.pipeline.store_writer import lower_priority

_log = logging.getLogger(__name__)


class RollupRefresher:
    """Calls `refresh` every `every_s` seconds until stopped; errors are logged, not fatal."""

    def __init__(self, refresh: Callable[[], object], every_s: float = 2.0):
        self._refresh = refresh
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="attribo-rollups", daemon=True)
        self.errors = 0

    def start(self) -> None:
        """Start refreshing in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the refresh under way, if any."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        lower_priority()
        while not self._stop.wait(self._every_s):
            try:
                self._refresh()
            except Exception:  # a report would surface it; keep the loop alive
                self.errors += 1
                _log.exception("rollup refresh failed")
