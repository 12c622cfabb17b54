"""Run the server: open the runtime, serve HTTP with uvicorn, close cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal

import uvicorn

from attribo.api.app import build_app
from attribo.api.runtime import Runtime
from attribo.config import Settings


def serve(settings: Settings, runtime: Runtime | None = None) -> None:
    """Serve until stopped; acknowledged events are on disk whatever happens.

    `runtime`, if given, is an already opened runtime (the demo prepares its apps first);
    it is closed on the way out either way.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    runtime = runtime or Runtime.open(settings)
    logging.getLogger("attribo").info(
        "data in %s; %d recent event ids remembered for dedup",
        settings.data_dir.resolve(),
        runtime.recovered_ids,
    )
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal to the
    # handler that was in place before it started; a quiet one lets us close the runtime
    # (drain the log into the store) and exit 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        uvicorn.run(
            build_app(runtime),
            host=settings.host,
            port=settings.port,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=10,
            proxy_headers=False,  # no proxy by default: skip its middleware on every request
        )
    finally:
        runtime.close()
