"""Run the server: open the runtime, serve HTTP with uvicorn, close cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Callable

import uvicorn
from starlette.types import ASGIApp

from attribo.api.app import build_app
from attribo.api.runtime import Runtime
from attribo.config import Settings


def serve(settings: Settings, runtime: Runtime | None = None) -> None:
    """Serve until stopped; acknowledged events are on disk whatever happens.

    `runtime`, if given, is an already opened runtime (the demo prepares its apps first);
    it is closed on the way out either way.
    """
    configure_logging()
    runtime = runtime or Runtime.open(settings)
    logging.getLogger("attribo").info(
        "data in %s; %d recent event ids remembered for dedup",
        settings.data_dir.resolve(),
        runtime.recovered_ids,
    )
    run_asgi(build_app(runtime), settings, runtime.close)


def serve_split_api(settings: Settings, with_worker: bool = True) -> None:
    """`attribo api`: management, reports and the attributing worker (cluster profile)."""
    configure_logging()
    runtime = Runtime.open_split(settings, with_worker)
    logging.getLogger("attribo").info("api and worker for namespace %s", settings.namespace)
    run_asgi(build_app(runtime), settings, runtime.close)


def run_worker(settings: Settings, refresh_s: float = 5.0) -> None:
    """`attribo worker`: the attributing pipeline alone, until SIGTERM/SIGINT, then drain.

    It attributes the partitions it leases, writes them to the store, sends their
    outgoing postbacks and relays watched apps' records to the API's live feed; app
    settings changed through `attribo api` are picked up every `refresh_s` seconds.
    """
    import threading

    from attribo.api.live_feed import fan_out
    from attribo.api.live_relay import LiveRelay
    from attribo.api.postback_feed import BackgroundPostbacks
    from attribo.api.runtime import open_worker, refresh_attribution_settings
    from attribo.backends import open_control, open_live_interest, open_log, open_store

    configure_logging()
    if settings.profile != "cluster":
        raise ValueError("attribo worker runs in the cluster profile (--profile cluster)")
    stop = threading.Event()  # a SIGTERM while opening still ends in a clean drain
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    control, log = open_control(settings), open_log(settings)
    store = open_store(settings)
    worker = open_worker(settings, control, log, store)
    postbacks = BackgroundPostbacks(control)
    postbacks.start()
    relay = LiveRelay(open_live_interest(settings), log.publish_answers, settings.namespace)  # type: ignore[attr-defined]
    worker.on_attributed = fan_out(postbacks.offer, relay.offer)
    worker.start()
    logging.getLogger("attribo").info("worker for namespace %s started", settings.namespace)
    try:
        while not stop.wait(refresh_s):
            try:
                refresh_attribution_settings(control, worker.attributor)
            except Exception:  # the control plane is briefly away: keep the old settings
                logging.getLogger("attribo").exception("could not refresh app settings")
    finally:
        worker.stop(drain=True)
        postbacks.close()
        log.close()
        store.close()
        control.close()


def configure_logging() -> None:
    """Log lines with time, level and logger on stderr, for every server command."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def run_asgi(
    app: ASGIApp, settings: Settings, close: Callable[[], None], reuse_port: bool = False
) -> None:
    """Serve `app` on the settings' address until SIGTERM/SIGINT, then call `close`.

    `reuse_port` lets several processes listen on one port (SO_REUSEPORT): the kernel
    spreads new connections over them (cluster collectors).
    """
    # uvicorn shuts down gracefully on SIGTERM/SIGINT and then re-raises the signal to the
    # handler that was in place before it started; a quiet one lets us close the runtime
    # (drain the log into the store) and exit 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        timeout_graceful_shutdown=10,
        proxy_headers=False,  # no proxy by default: skip its middleware on every request
    )
    try:
        server = uvicorn.Server(config)
        if reuse_port:
            sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((settings.host, settings.port))
            sock.set_inheritable(True)
            server.run(sockets=[sock])
        else:
            server.run()
        if not server.started:
            raise SystemExit(3)  # as uvicorn.run: the port was taken or startup failed
    finally:
        close()
