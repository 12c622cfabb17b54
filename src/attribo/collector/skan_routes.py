"""`POST /v1/skan/postbacks`: SKAdNetwork postbacks forwarded by ad networks and partners.

Apple posts install-validation postbacks to the ad network, which forwards them here
with the app's ingest key (the same keys as event posts). A postback that fails the
schema is refused with 400 naming the field. One whose Apple signature does not verify
is still stored, for inspection, but answered 202 `{"verified": false}` and never
counted; a verified one is answered 200.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from attribo.attribution.skan.decode import PostbackRecord, decode, to_record
from attribo.attribution.skan.postback import decode_postback
from attribo.attribution.skan.schema import ConversionSchema, schema_from_settings
from attribo.attribution.skan.verify import verify_postback
from attribo.collector.http import HTTPError, bad_field, json_response, read_body
from attribo.collector.ingest_front import ingest_app
from attribo.collector.routes import CollectorContext
from attribo.events.validate import FieldError

_log = logging.getLogger(__name__)

SchemaLookup = Callable[[str], ConversionSchema | FieldError]


class PostbackSink(Protocol):
    """Where decoded postbacks go (the store); called from a worker thread."""

    def write_postback(self, record: PostbackRecord) -> bool:
        """Store `record`; True if it was not stored before."""
        ...


def settings_schema(ctx: CollectorContext) -> SchemaLookup:
    """Look up each app's conversion-value schema in its settings in the control plane."""

    def lookup(app_id: str) -> ConversionSchema | FieldError:
        app = ctx.control.get_app(app_id)
        return ConversionSchema() if app is None else schema_from_settings(app.settings)

    return lookup


def skan_routes(
    ctx: CollectorContext, sink: PostbackSink, schema_for: SchemaLookup | None = None
) -> list[Route]:
    """The SKAN postback route, bound to `ctx` (keys, limits) and `sink` (storage)."""
    lookup = schema_for or settings_schema(ctx)
    limit = ctx.settings.max_body_bytes

    async def receive(request: Request) -> Response:
        try:
            return await _receive(request)
        except HTTPError as exc:  # answered here so the route works in any Starlette app
            return exc.response()

    async def _receive(request: Request) -> Response:
        app_id = ingest_app(ctx, request.headers.get("authorization"))
        asked = request.query_params.get("app_id")
        if asked is not None and asked != app_id:
            message = f"this key cannot write postbacks for app {asked!r}"
            raise bad_field("app_id", message, 403, "forbidden")
        body = await read_body(request, limit)
        postback = decode_postback(body)
        if isinstance(postback, FieldError):
            raise HTTPError(400, "invalid_postback", [postback])
        schema = lookup(app_id)
        if isinstance(schema, FieldError):
            # The raw body is stored, so decoding can be redone once the schema is fixed;
            # refusing would make networks drop postbacks Apple will never resend.
            _log.warning("app %s: bad SKAN schema (%s): %s", app_id, schema.field, schema.message)
            schema = ConversionSchema()
        verified = verify_postback(postback)
        decoded = decode(postback, schema, verified=verified)
        record = to_record(decoded, app_id, datetime.now(UTC), body)
        new = await run_in_threadpool(sink.write_postback, record)
        answer = {
            "verified": verified,
            "duplicate": not new,
            "transaction_id": postback.transaction_id,
            "postback_sequence_index": postback.sequence_index,
        }
        return json_response(answer, 200 if verified else 202)

    return [Route("/v1/skan/postbacks", receive, methods=["POST"])]
