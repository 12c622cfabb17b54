"""`POST /v1/costs` and `GET /v1/costs`: daily ad spend, uploaded as JSON or CSV.

An upload is all or nothing: if any row is invalid (or names an app the key cannot
write), nothing is stored and the answer names each bad row by index and field. A valid
upload is an upsert by natural key (date, app_id, network, campaign, adset, ad, country),
so re-uploading a network's cost report is safe and a changed row replaces the old one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any, Protocol

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.api.auth import readable_app, require_app_scope, require_key
from attribo.collector.http import HTTPError, bad_field, json_response, read_body
from attribo.control import ControlPlane, KeyInfo
from attribo.events.validate import FieldError
from attribo.store.costs import CostRow, check_cost_rows

MAX_ROWS = 50_000


class CostStore(Protocol):
    """Where cost rows go (`attribo.store.costs.CostSink` fits); called from a worker thread."""

    def upsert(self, rows: Sequence[CostRow]) -> tuple[int, int]:
        """Store `rows` in one transaction; (inserted, replaced)."""
        ...

    def read(
        self, app_id: str, date_from: dt.date | None = None, date_to: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """One app's rows with date_from <= date <= date_to."""
        ...


def costs_routes(control: ControlPlane, sink: CostStore, max_body_bytes: int) -> list[Route]:
    """The cost upload and read routes; bodies over `max_body_bytes` get 413.

    A full upload of 50,000 rows is about 10 MiB as JSON (3 MiB as CSV; parsed and stored
    in about a second), so give this a larger limit than the event routes, e.g. 16 MiB.
    """

    async def upload(request: Request) -> Response:
        try:
            key = require_key(control, request, "admin", "ingest")
            body = await read_body(request, max_body_bytes)
            content_type = request.headers.get("content-type", "")
            rows = await run_in_threadpool(_checked_rows, control, key, body, content_type)
            inserted, replaced = await run_in_threadpool(sink.upsert, rows)
        except HTTPError as exc:  # answered here so the routes work in any Starlette app
            return exc.response()
        return json_response({"rows": len(rows), "inserted": inserted, "replaced": replaced})

    async def read(request: Request) -> Response:
        try:
            app_id = readable_app(control, request)
            date_from = _date_param(request, "from")
            date_to = _date_param(request, "to")
            if date_from and date_to and date_from > date_to:
                raise bad_field("from", "from is after to")
        except HTTPError as exc:
            return exc.response()
        rows = await run_in_threadpool(sink.read, app_id, date_from, date_to)
        return json_response({"rows": rows})

    async def costs(request: Request) -> Response:
        # One route for both methods, so a 405 names both in its Allow header.
        return await (upload(request) if request.method == "POST" else read(request))

    return [Route("/v1/costs", costs, methods=["GET", "POST"])]


def _checked_rows(
    control: ControlPlane, key: KeyInfo, body: bytes, content_type: str
) -> list[CostRow]:
    """Decode and check every row; 400 naming each bad row, 403 for another app's rows."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "text/csv":
        items = _csv_items(body)
        checked = check_cost_rows(items, strict=False)
    elif media in ("application/json", ""):
        items = _json_items(body)
        checked = check_cost_rows(items)
    else:
        message = "expected application/json or text/csv"
        raise bad_field("Content-Type", message, 415, "unsupported_media_type")
    if checked and isinstance(checked[0], FieldError):
        raise HTTPError(400, "invalid_costs", checked)
    rows = [row for row in checked if isinstance(row, CostRow)]
    _check_apps(control, key, rows)
    return rows


def _json_items(body: bytes) -> list[Any]:
    """The rows of `{"rows": [...]}` or of a bare JSON array."""
    try:
        decoded = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise bad_field("body", f"not valid JSON: {exc}") from None
    if isinstance(decoded, dict):
        unknown = sorted(set(decoded) - {"rows"})
        if unknown:
            raise bad_field(unknown[0], 'unknown field; expected {"rows": [...]}')
        decoded = decoded.get("rows")
        if not isinstance(decoded, list):
            raise bad_field("rows", "expected an array of cost rows")
    if not isinstance(decoded, list):
        raise bad_field("body", 'expected {"rows": [...]} or an array of cost rows')
    _check_count(len(decoded))
    return decoded


def _csv_items(body: bytes) -> list[dict[str, str]]:
    """The rows of a CSV body with a header line; cells are trimmed, empty ones are missing."""
    try:
        text = body.decode("utf-8-sig")  # spreadsheet exports often start with a BOM
    except UnicodeDecodeError:
        raise bad_field("body", "CSV must be UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if not header:
            raise bad_field("body", "CSV needs a header line of column names")
        names = [name.strip() for name in header]
        items: list[dict[str, str]] = []
        for index, cells in enumerate(reader):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines, e.g. a trailing one
            if len(cells) > len(names):
                detail = FieldError("row", f"{len(cells)} cells for {len(names)} columns", index)
                raise HTTPError(400, "invalid_costs", [detail])
            items.append({n: c.strip() for n, c in zip(names, cells, strict=False) if c.strip()})
            _check_count(len(items))
    except csv.Error as exc:
        raise bad_field("body", f"malformed CSV: {exc}") from None
    return items


def _check_count(rows: int) -> None:
    """413 naming `rows` past `MAX_ROWS`."""
    if rows > MAX_ROWS:
        message = f"at most {MAX_ROWS} rows per upload"
        raise bad_field("rows", message, 413, "too_many_rows")


def _check_apps(control: ControlPlane, key: KeyInfo, rows: list[CostRow]) -> None:
    """403 for a row of an app the key cannot write; 400 for a row of an unknown app."""
    known: dict[str, bool] = {}
    for index, row in enumerate(rows):
        try:
            require_app_scope(key, row.app_id)
        except HTTPError as exc:
            message = f"rows[{index}].app_id: {exc.detail[0].message}"
            raise HTTPError(403, "forbidden", [FieldError("app_id", message, index)]) from None
        if row.app_id not in known:
            known[row.app_id] = control.get_app(row.app_id) is not None
        if not known[row.app_id]:
            message = f"rows[{index}].app_id: no app {row.app_id!r}"
            raise HTTPError(400, "invalid_costs", [FieldError("app_id", message, index)])


def _date_param(request: Request, name: str) -> dt.date | None:
    """An optional YYYY-MM-DD query parameter, or 400 naming it."""
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return msgspec.convert(value, dt.date)
    except msgspec.ValidationError:
        raise bad_field(name, "expected a date as YYYY-MM-DD") from None
