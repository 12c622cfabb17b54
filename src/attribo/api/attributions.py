"""`GET /v1/attributions`: one row per install as decided live, JSON lines or CSV.

Columns are exactly the contract's: install_event_id, status, network, campaign, match,
touch_event_id, ctit_s, fraud_score, fraud_verdict, fraud_reasons (fraud fields stay empty
until installs are scored). `since` and `until` bound the install time.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import msgspec
import pyarrow as pa
from pyarrow import csv as pa_csv
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from attribo.api.auth import readable_app
from attribo.api.export import parse_time
from attribo.collector.http import bad_field
from attribo.control import ControlPlane
from attribo.store.base import Store

COLUMNS = (
    "install_event_id",
    "status",
    "network",
    "campaign",
    "match",
    "touch_event_id",
    "ctit_s",
    "fraud_score",
    "fraud_verdict",
    "fraud_reasons",
)
_SQL = """
SELECT event_id AS install_event_id, coalesce(attribution, 'organic') AS status,
       attributed_network AS network, attributed_campaign AS campaign, match_type AS match,
       touch_event_id, ctit_ms / 1000.0 AS ctit_s, CAST(NULL AS DOUBLE) AS fraud_score,
       CAST(NULL AS VARCHAR) AS fraud_verdict, CAST(NULL AS VARCHAR) AS fraud_reasons
FROM events
WHERE app_id = ? AND type = 'install' {time}
ORDER BY seq, event_id
"""
_json = msgspec.json.Encoder()


def attributions_routes(control: ControlPlane, store: Store) -> list[Route]:
    """The attribution export route."""

    async def export_attributions(request: Request) -> Response:
        app_id = readable_app(control, request)
        params = request.query_params
        fmt = params.get("format") or (
            "csv" if "text/csv" in request.headers.get("accept", "") else "jsonl"
        )
        if fmt not in ("jsonl", "csv"):
            raise bad_field("format", "expected jsonl or csv")
        clauses: list[str] = []
        args: list[object] = [app_id]
        since = parse_time("since", params.get("since"))
        until = parse_time("until", params.get("until"))
        if since is not None:
            clauses.append("AND event_time >= make_timestamp(? * 1000)")
            args.append(since)
        if until is not None:
            clauses.append("AND event_time < make_timestamp(? * 1000)")
            args.append(until)
        table = store.query(_SQL.format(time=" ".join(clauses)), args)
        if fmt == "csv":
            buffer = io.BytesIO()
            pa_csv.write_csv(table, buffer)
            return Response(buffer.getvalue(), media_type="text/csv")
        return StreamingResponse(_lines(table), media_type="application/x-ndjson")

    return [Route("/v1/attributions", export_attributions, methods=["GET"])]


def _lines(table: pa.Table) -> Iterator[bytes]:
    for batch in table.to_batches(10_000):
        yield b"".join(_json.encode(row) + b"\n" for row in batch.to_pylist())
