"""HTTP plumbing shared by the collector and the API: JSON errors, bounded bodies, keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from attribo.events.validate import FieldError

_json = msgspec.json.Encoder()


class HTTPError(Exception):
    """An error answer: status, a short code, and the fields at fault."""

    def __init__(self, status: int, code: str, detail: Iterable[FieldError] = (), headers=None):
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = list(detail)
        self.headers = headers or {}

    def response(self) -> Response:
        """The wire form: `{"error": code, "detail": [{"index", "field", "message"}]}`."""
        body = {"error": self.code, "detail": [d.as_dict() for d in self.detail]}
        return json_response(body, self.status, self.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPError)
    return exc.response()


async def _routing_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    field = "path" if exc.status_code == 404 else "method"
    detail = [FieldError(field, str(exc.detail))]
    return HTTPError(exc.status_code, code, detail, dict(exc.headers or {})).response()


# Starlette's exception handlers of every server process: our errors and routing errors
# (unknown path, wrong method) answer in the same JSON shape.
ERROR_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    HTTPError: _http_error,
    HTTPException: _routing_error,
}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response encoded by msgspec (faster than the stdlib for our shapes)."""
    return Response(_json.encode(body), status, headers, media_type="application/json")


def bad_field(field: str, message: str, status: int = 400, code: str = "invalid_request"):
    """An error about one field."""
    return HTTPError(status, code, [FieldError(field, message)])


def check_declared_length(declared: str | None, limit: int) -> None:
    """400 for a malformed Content-Length, 413 for one over `limit`, before reading."""
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise bad_field("Content-Length", "not a number")
        if int(declared) > limit:
            raise too_large(limit)


def too_large(limit: int) -> HTTPError:
    """The 413 answer naming the body."""
    return bad_field("body", f"body is larger than {limit} bytes", 413, "body_too_large")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    check_declared_length(request.headers.get("content-length"), limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def bearer_key(request: Request) -> str:
    """The API key from `Authorization: Bearer <key>`, or 401 naming the header."""
    header = request.headers.get("authorization")
    if not header:
        raise bad_field("Authorization", "missing API key", 401, "unauthorized")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise bad_field("Authorization", "expected 'Bearer <key>'", 401, "unauthorized")
    return key.strip()
