"""The OpenAPI 3.1 document, generated from the same msgspec types that validate requests."""

from __future__ import annotations

from typing import Any

import msgspec

from attribo import __version__
from attribo.api.management import AppCreate, KeyCreate, LinkCreate
from attribo.api.postback_routes import TemplateCreate
from attribo.events.types import Batch, Event


class ErrorDetail(msgspec.Struct):
    """One field at fault; `index` is the event's position in a batch."""

    field: str
    message: str
    index: int | None = None


class ErrorBody(msgspec.Struct):
    """Every 4xx answer."""

    error: str
    detail: list[ErrorDetail]


class IngestAnswer(msgspec.Struct, omit_defaults=True):
    """`accepted`: valid events received; `duplicates`: of those, already stored."""

    accepted: int
    duplicates: int
    rejected: int | None = None
    detail: list[ErrorDetail] | None = None


class AppCreated(msgspec.Struct):
    """The new app's ingest key and signing secret, shown once."""

    app_id: str
    ingest_key: str
    signing_secret: str


class LinkCreated(msgspec.Struct):
    """Tracking URLs of a new link."""

    link_id: str
    click_url: str
    impression_url: str


class KeyCreated(msgspec.Struct):
    """A new API key: the only answer that carries it in clear."""

    key: str
    prefix: str
    role: str
    app_id: str | None


class Health(msgspec.Struct):
    """Liveness and a few gauges."""

    status: str


_SCHEMAS = [
    TemplateCreate,
    Event,
    Batch,
    AppCreate,
    LinkCreate,
    KeyCreate,
    ErrorBody,
    IngestAnswer,
    AppCreated,
    LinkCreated,
    KeyCreated,
    Health,
]


def _ref(struct: type) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{struct.__name__}"}


def _json(struct: type) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": _ref(struct)}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"description": "error", **_json(ErrorBody)} for code in codes}


def _query(name: str, description: str, required: bool = False) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": {"type": "string"},
    }


def openapi_document() -> dict[str, Any]:
    """The whole API description served at `/openapi.json`."""
    _, components = msgspec.json.schema_components(
        _SCHEMAS, ref_template="#/components/schemas/{name}"
    )
    secured: list[dict[str, list[str]]] = [{"bearer": []}]
    link_params = [
        {"name": "link_id", "in": "path", "required": True, "schema": {"type": "string"}},
        *(
            _query(p, f"overrides or adds `{p}`")
            for p in ("click_id", "idfa", "gaid", "campaign", "adset", "ad", "site_id")
        ),
    ]
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "summary": "Liveness: 200 once the server accepts events",
                "responses": {"200": {"description": "ok", **_json(Health)}, **_errors(503)},
            }
        },
        "/v1/events": {
            "post": {
                "summary": "Send one event",
                "security": secured,
                "requestBody": {"required": True, **_json(Event)},
                "responses": {
                    "200": {"description": "stored", **_json(IngestAnswer)},
                    **_errors(400, 401, 403, 413),
                },
            }
        },
        "/v1/events/batch": {
            "post": {
                "summary": "Send up to 1000 events (1 MiB); valid ones are kept",
                "security": secured,
                "requestBody": {"required": True, **_json(Batch)},
                "responses": {
                    "200": {"description": "stored", **_json(IngestAnswer)},
                    **_errors(400, 401, 403, 413),
                },
            }
        },
        "/c/{link_id}": {
            "get": {
                "summary": "Tracking link click: records a click and redirects to the store",
                "parameters": link_params,
                "responses": {"302": {"description": "redirect to the store"}, **_errors(400, 404)},
            }
        },
        "/i/{link_id}": {
            "get": {
                "summary": "Tracking link impression: records an impression",
                "parameters": link_params,
                "responses": {"204": {"description": "recorded"}, **_errors(400, 404)},
            }
        },
        "/v1/apps": {
            "post": {
                "summary": "Create an app (admin)",
                "security": secured,
                "requestBody": {"required": True, **_json(AppCreate)},
                "responses": {
                    "201": {"description": "created", **_json(AppCreated)},
                    **_errors(400, 401, 403, 409, 413),
                },
            },
            "get": {
                "summary": "Apps the key reaches, with settings and effective windows",
                "security": secured,
                "responses": {"200": _ok("apps"), **_errors(401, 403)},
            },
        },
        "/v1/links": {
            "post": {
                "summary": "Create a tracking link (admin)",
                "security": secured,
                "requestBody": {"required": True, **_json(LinkCreate)},
                "responses": {
                    "201": {"description": "created", **_json(LinkCreated)},
                    **_errors(400, 401, 403, 404, 413),
                },
            },
            "get": {
                "summary": "Tracking links of an app with their click and impression URLs",
                "security": secured,
                "parameters": [_query("app_id", "the app", required=True)],
                "responses": {"200": _ok("links"), **_errors(400, 401, 403, 404)},
            },
        },
        "/v1/keys": {
            "get": {
                "summary": "API keys by display prefix, role and app; never the keys (admin)",
                "security": secured,
                "parameters": [_query("app_id", "only keys of this app")],
                "responses": {"200": _ok("keys"), **_errors(400, 401, 403)},
            },
            "post": {
                "summary": "Create an API key, answered once in clear (admin; audited)",
                "security": secured,
                "requestBody": {"required": True, **_json(KeyCreate)},
                "responses": {
                    "201": {"description": "created", **_json(KeyCreated)},
                    **_errors(400, 401, 403, 404, 413),
                },
            },
        },
        "/v1/live": {
            "get": {
                "summary": "Stored events and their attribution as Server-Sent Events",
                "security": secured,
                "parameters": [
                    _query("app_id", "the app", required=True),
                    _query("max_s", "seconds before the stream ends (1-3600, default 300)"),
                ],
                "responses": {
                    "200": _ok("event stream", "text/event-stream"),
                    **_errors(400, 401, 403, 404),
                },
            }
        },
        "/v1/events/export": {
            "get": {
                "summary": "Raw events of one app as JSON lines (admin or the app's analyst)",
                "security": secured,
                "parameters": [
                    _query("app_id", "the app", required=True),
                    _query("type", "comma-separated event types"),
                    _query("since", "received at or after: epoch ms or RFC 3339"),
                    _query("until", "received before: epoch ms or RFC 3339"),
                ],
                "responses": {
                    "200": {
                        "description": "events",
                        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                    },
                    **_errors(400, 401, 403),
                },
            }
        },
        **_later_paths(secured),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "attribo", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _ok(description: str, media: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": {"type": "object"}}}}


def _later_paths(secured: list[dict[str, list[str]]]) -> dict[str, Any]:
    """Attribution, SKAdNetwork, postbacks and reports."""
    app = _query("app_id", "the app", required=True)
    period = [_query("since", "epoch ms or RFC 3339"), _query("until", "epoch ms or RFC 3339")]
    obj = {"content": {"application/json": {"schema": {"type": "object"}}}}
    report_filters = [
        _query("dimensions", "comma-separated, see /v1/metrics"),
        _query("filter", "dimension:value1,value2 (repeatable)"),
        _query("limit", "rows, at most 10,000"),
        _query("as_of", "RFC 3339 time young installs are judged at; default now"),
        _query("format", "json or csv"),
    ]
    return {
        "/v1/attributions": {
            "get": {
                "summary": "One row per install as decided live (JSON lines or CSV)",
                "security": secured,
                "parameters": [app, *period, _query("format", "jsonl or csv")],
                "responses": {
                    "200": _ok("attributions", "application/x-ndjson"),
                    **_errors(400, 401, 403),
                },
            }
        },
        "/v1/reports/multitouch": {
            "get": {
                "summary": "Multi-touch credit per channel; model settings as parameters",
                "security": secured,
                "parameters": [
                    app,
                    _query(
                        "model",
                        "first_touch, last_touch, linear, time_decay, "
                        "position_based, markov or shapley",
                    ),
                    *period,
                    _query("split", "true: channels are network:click / network:impression"),
                ],
                "responses": {"200": _ok("credit"), **_errors(400, 401, 403)},
            }
        },
        "/v1/skan/postbacks": {
            "post": {
                "summary": "An Apple SKAdNetwork postback (ingest key); 202 if unverifiable",
                "security": secured,
                "parameters": [_query("app_id", "the app (defaults to the key's)")],
                "requestBody": {"required": True, **obj},
                "responses": {
                    "200": _ok("verified and stored"),
                    "202": _ok("stored apart, not counted"),
                    **_errors(400, 401, 403, 413),
                },
            }
        },
        "/v1/fraud/rescan": {
            "post": {
                "summary": "Judge an app's stored installs against its whole window (admin)",
                "security": secured,
                "parameters": [app],
                "responses": {"200": _ok("verdict counts"), **_errors(400, 401, 403, 404)},
            }
        },
        "/v1/reports/fraud": {
            "get": {
                "summary": "Blocked installs and spend by network, campaign, site and reason",
                "security": secured,
                "parameters": [app],
                "responses": {"200": _ok("fraud report"), **_errors(400, 401, 403)},
            }
        },
        "/v1/reports/skan": {
            "get": {
                "summary": "Verified SKAdNetwork installs, revenue ranges and events",
                "security": secured,
                "parameters": [app, *period],
                "responses": {"200": _ok("summary"), **_errors(400, 401, 403)},
            }
        },
        "/v1/apps/{app_id}/settings": {
            "put": {
                "summary": "Replace an app's settings: attribution, SKAN schema, postbacks",
                "security": secured,
                "parameters": [
                    {"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {"required": True, **obj},
                "responses": {"200": _ok("stored"), **_errors(400, 401, 403, 404, 413)},
            }
        },
        "/v1/postbacks": {
            "post": {
                "summary": "Create a postback template (admin)",
                "security": secured,
                "requestBody": {"required": True, **_json(TemplateCreate)},
                "responses": {"201": _ok("created"), **_errors(400, 401, 403, 404, 413)},
            },
            "get": {
                "summary": "Postback templates of an app",
                "security": secured,
                "parameters": [app],
                "responses": {"200": _ok("templates"), **_errors(400, 401, 403)},
            },
        },
        "/v1/postbacks/{template_id}": {
            "delete": {
                "summary": "Delete a template and cancel its pending deliveries",
                "security": secured,
                "parameters": [
                    {
                        "name": "template_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "integer"},
                    }
                ],
                "responses": {"204": {"description": "deleted"}, **_errors(400, 401, 403, 404)},
            }
        },
        "/v1/costs": {
            "post": {
                "summary": "Daily spend rows (JSON or CSV); idempotent per natural key",
                "security": secured,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "responses": {"200": _ok("stored"), **_errors(400, 401, 403, 413, 415)},
            },
            "get": {
                "summary": "Stored spend rows of an app",
                "security": secured,
                "parameters": [app, _query("from", "YYYY-MM-DD"), _query("to", "YYYY-MM-DD")],
                "responses": {"200": _ok("rows"), **_errors(400, 401, 403)},
            },
        },
        "/v1/reports/aggregate": {
            "get": {
                "summary": "Metrics by dimensions over an install-date range (JSON or CSV)",
                "security": secured,
                "parameters": [
                    app,
                    _query("metrics", "comma-separated, see /v1/metrics"),
                    _query("dimensions", "comma-separated, see /v1/metrics"),
                    _query("from", "first install date, YYYY-MM-DD"),
                    _query("to", "last install date, YYYY-MM-DD"),
                    _query("filter", "dimension:value1,value2 (repeatable)"),
                    _query("sort", "metric or dimension, '-' for descending"),
                    _query("limit", "rows, at most 10,000"),
                    _query("as_of", "RFC 3339 time young installs are judged at; default now"),
                    _query("format", "json or csv"),
                ],
                "responses": {"200": _ok("rows and totals"), **_errors(400, 401, 403)},
            }
        },
        "/v1/reports/timeseries": {
            "get": {
                "summary": "Metrics by date (install or event date), optionally by dimensions",
                "security": secured,
                "parameters": [
                    app,
                    _query("metrics", "comma-separated, see /v1/metrics"),
                    _query("from", "first date, YYYY-MM-DD"),
                    _query("to", "last date, YYYY-MM-DD"),
                    _query("granularity", "day, week or month"),
                    _query("by", "install (cohort view, default) or event (date it happened)"),
                    *report_filters,
                ],
                "responses": {"200": _ok("rows by date and totals"), **_errors(400, 401, 403)},
            }
        },
        "/v1/reports/cohort": {
            "get": {
                "summary": "Install-date cohorts x days since install for one metric",
                "security": secured,
                "parameters": [
                    app,
                    _query("metric", "retention, revenue, roas, arpu, sessions, paying_users"),
                    _query("from", "first install date, YYYY-MM-DD"),
                    _query("to", "last install date, YYYY-MM-DD"),
                    _query("days", "days since install, 0-30, comma-separated"),
                    _query("granularity", "cohort period: day, week or month"),
                    *report_filters,
                ],
                "responses": {"200": _ok("cells; null until observable"), **_errors(400, 401, 403)},
            }
        },
        "/v1/reports/retention": {
            "get": {
                "summary": "Installs and day-N retention by dimensions (young installs left out)",
                "security": secured,
                "parameters": [
                    app,
                    _query("from", "first install date, YYYY-MM-DD"),
                    _query("to", "last install date, YYYY-MM-DD"),
                    _query("days", "days 0-30, comma-separated (default 1,3,7,14,30)"),
                    *report_filters,
                ],
                "responses": {"200": _ok("rows and totals"), **_errors(400, 401, 403)},
            }
        },
        "/v1/reports/funnel": {
            "get": {
                "summary": "Installs reaching ordered steps within a window",
                "security": secured,
                "parameters": [
                    app,
                    _query("steps", "install (first only), open, event:<name>; 2-10, in order"),
                    _query("from", "first install date, YYYY-MM-DD"),
                    _query("to", "last install date, YYYY-MM-DD"),
                    _query("window_hours", "from the first step, 1-2160 (default 168)"),
                    *report_filters,
                ],
                "responses": {"200": _ok("step counts and totals"), **_errors(400, 401, 403)},
            }
        },
        "/v1/metrics": {
            "get": {
                "summary": "The metric and dimension catalogue",
                "security": secured,
                "responses": {"200": _ok("catalogue"), **_errors(401, 403)},
            }
        },
        "/v1/audit": {
            "get": {
                "summary": "Management actions, newest first (admin)",
                "security": secured,
                "parameters": [
                    _query("app_id", "one app"),
                    _query("since", "date or time"),
                    _query("limit", "1-1000"),
                ],
                "responses": {"200": _ok("entries"), **_errors(400, 401, 403)},
            }
        },
        "/v1/postbacks/deliveries": {
            "get": {
                "summary": "The delivery log",
                "security": secured,
                "parameters": [
                    app,
                    _query("status", "pending, delivered, failed ..."),
                    _query("limit", "rows"),
                ],
                "responses": {"200": _ok("deliveries"), **_errors(400, 401, 403)},
            }
        },
    }


DOCS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>attribo API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css">
</head><body><div id="ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script>
<noscript>The API description is at <a href="/openapi.json">/openapi.json</a>.</noscript>
</body></html>"""
