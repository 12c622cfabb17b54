"""`POST /v1/fraud/rescan` (admin) and `GET /v1/reports/fraud`: the post-attribution pass.

A rescan reads an app's stored events, judges every install against the whole window and
keeps the verdicts; installs it newly rejects are written to the audit log (one entry per
rescan, with their ids and reasons), so a network can be shown why a credit was withdrawn.
The report sums blocked installs and blocked spend by network, campaign, site and reason,
with per-source CTIT histograms. Rescans also run by themselves every
`fraud_rescan_minutes` while the server runs with `fraud_live`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.api.auth import audit, readable_app, require_app_scope, require_key
from attribo.collector.http import bad_field, json_response
from attribo.control import ControlPlane
from attribo.fraud.rescan import Rescan, fraud_report, rescan
from attribo.fraud.scoring import FraudScorer
from attribo.store.base import EventQuery, Store

if TYPE_CHECKING:
    from attribo.api.runtime import Runtime

MAX_IDS_IN_AUDIT = 1000


class FraudService:
    """Rescans of stored events and their latest verdicts, per app."""

    def __init__(self, control: ControlPlane, store: Store, scorer: FraudScorer) -> None:
        self.control = control
        self.store = store
        self.scorer = scorer
        self.latest: dict[str, tuple[float, Rescan]] = {}
        self._lock = threading.Lock()  # one rescan at a time: it reads the whole window

    @classmethod
    def from_models(cls, control: ControlPlane, store: Store, models_dir: Path) -> FraudService:
        """Rules plus the newest trained model under `models_dir`, if any."""
        from attribo.fraud.model import FraudModel, latest_model  # LightGBM: only if needed

        path = latest_model(models_dir) if models_dir.is_dir() else None
        model = FraudModel.load(path) if path is not None else None
        return cls(control, store, FraudScorer(model=model))

    def rescan(self, app_id: str) -> Rescan:
        """Judge the app's stored installs against all its stored events (blocking)."""
        with self._lock:
            chunks = self.store.iter_records(EventQuery(app_id))  # in arrival order
            records = [record for chunk in chunks for record in chunk]
            result = rescan(records, self.scorer)
            previous = self.latest.get(app_id)
            self.latest[app_id] = (time.time(), result)
        known = set(previous[1].newly_blocked) if previous else set()
        fresh = [i for i in result.newly_blocked if i not in known]
        block = getattr(self.store, "block_installs", None)
        if callable(block) and result.newly_blocked:  # stored: export and reports show them
            block(app_id, result.newly_blocked)
        return result if not fresh else self._audited(app_id, result, fresh)

    def _audited(self, app_id: str, result: Rescan, fresh: list[str]) -> Rescan:
        reasons = {i: list(result.verdicts[i].reasons[:2]) for i in fresh[:MAX_IDS_IN_AUDIT]}
        self.control.audit.record(
            "fraud.relabel",
            actor_key=None,
            actor_role=None,
            app_id=app_id,
            details={"blocked": len(fresh), "installs": reasons},
        )
        return result

    def report(self, app_id: str) -> dict[str, Any]:
        """The fraud report of the latest rescan (rescanning first if there is none)."""
        found = self.latest.get(app_id)
        if found is None:
            self.rescan(app_id)
            found = self.latest[app_id]
        at, result = found
        spend = self._spend(app_id)
        return {"app_id": app_id, "rescanned_at": int(at * 1000), **fraud_report(result, spend)}

    def _spend(self, app_id: str) -> dict[tuple[str, str], float]:
        try:
            table = self.store.query(
                "SELECT network, campaign, sum(spend_usd) AS spend FROM costs "
                "WHERE app_id = ? GROUP BY network, campaign",
                [app_id],
            )
        except Exception:  # a store with no cost table yet: no spend to report
            return {}
        return {(r["network"], r["campaign"]): float(r["spend"]) for r in table.to_pylist()}

    async def run_every(self, minutes: float) -> None:
        """Rescan every app with stored events every `minutes` (a background task)."""
        while True:
            await asyncio.sleep(minutes * 60)
            for app in self.control.list_apps():
                await run_in_threadpool(self.rescan, app.app_id)


def fraud_api(
    runtime: Runtime,
) -> tuple[list[Route], Callable[[], Coroutine[Any, Any, None]] | None]:
    """The routes, and the periodic rescan to run in the background (with `fraud_live`)."""
    gate = runtime.collector.fraud
    if gate is not None:
        service = FraudService(runtime.control, runtime.store, gate.scorer)
    else:
        models = runtime.settings.data_dir / "fraud-models"
        service = FraudService.from_models(runtime.control, runtime.store, models)
    minutes = runtime.settings.fraud_rescan_minutes
    periodic = (lambda: service.run_every(minutes)) if runtime.settings.fraud_live else None
    return fraud_routes(service), periodic


def fraud_routes(service: FraudService) -> list[Route]:
    """The rescan and report routes."""
    control = service.control

    async def rescan_now(request: Request) -> Response:
        key = require_key(control, request, "admin")
        app_id = request.query_params.get("app_id")
        if not app_id:
            raise bad_field("app_id", "app_id is required")
        require_app_scope(key, app_id)
        if control.get_app(app_id) is None:
            raise bad_field("app_id", f"no app {app_id!r}", 404, "not_found")
        result = await run_in_threadpool(service.rescan, app_id)
        audit(control, request, "fraud.rescan", app_id=app_id)
        verdicts = list(result.verdicts.values())
        return json_response(
            {
                "app_id": app_id,
                "installs": len(verdicts),
                "rejected": sum(v.verdict == "rejected" for v in verdicts),
                "suspicious": sum(v.verdict == "suspicious" for v in verdicts),
                "newly_blocked": len(result.newly_blocked),
            }
        )

    async def report(request: Request) -> Response:
        app_id = readable_app(control, request)
        return json_response(await run_in_threadpool(service.report, app_id))

    return [
        Route("/v1/fraud/rescan", rescan_now, methods=["POST"]),
        Route("/v1/reports/fraud", report, methods=["GET"]),
    ]
