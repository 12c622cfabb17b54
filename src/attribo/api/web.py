"""The dashboard: the built single-page app under `/`, after every API route.

Hashed assets are cached for a year, `index.html` is revalidated every time, and any other
path without a file answers `index.html` so client-side routes survive a reload. Text
assets are gzipped once and kept in memory (a handful of files).
"""

from __future__ import annotations

import gzip
import mimetypes
import os
import re
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from attribo.collector.http import bad_field

WEB_DIR_ENV = "ATTRIBO_WEB_DIR"
DEFAULT_WEB_DIR = Path(__file__).resolve().parent / "web_dist"
# Paths the API owns (any version), so they keep the API's JSON 404s and 405s.
_API_PATH = re.compile(r"(v\d+(/|$)|c/|i/|health|docs|openapi\.json)")
_COMPRESSIBLE = (".js", ".css", ".html", ".svg", ".json", ".txt", ".map")
_IMMUTABLE = "public, max-age=31536000, immutable"
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>attribo</title>
<p>The dashboard is not built. Run <code>make web</code> (npm ci and npm run build in
<code>web/</code>), then reload. The API is at <a href="/docs">/docs</a>.</p>"""


def web_dir() -> Path:
    """Where the built dashboard lives (`ATTRIBO_WEB_DIR` overrides, for packaging)."""
    return Path(os.environ.get(WEB_DIR_ENV) or DEFAULT_WEB_DIR)


class _Files:
    """Reads, types and compresses each file once."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._cache: dict[tuple[Path, int], tuple[bytes, bytes | None, str]] = {}

    def find(self, rel: str) -> Path | None:
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path

    def load(self, path: Path) -> tuple[bytes, bytes | None, str]:
        key = (path, path.stat().st_mtime_ns)  # a rebuild while serving is picked up
        cached = self._cache.get(key)
        if cached is None:
            raw = path.read_bytes()
            packed = gzip.compress(raw, 9, mtime=0) if path.suffix in _COMPRESSIBLE else None
            media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if media.startswith("text/") or path.suffix in (".js", ".json", ".svg"):
                media += "; charset=utf-8"
            cached = (raw, packed, media)
            self._cache[key] = cached
        return cached


class _DashboardRoute(Route):
    """Matches GET and HEAD outside the API only, so API paths keep their own 404s and 405s."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            return Match.NONE, {}
        if _API_PATH.match(path.lstrip("/")):
            return Match.NONE, {}
        return super().matches(scope)


def web_routes(root: Path | None = None) -> list[Route]:
    """The catch-all route serving the dashboard; register it after every other route."""
    files = _Files(root or web_dir())

    async def serve(request: Request) -> Response:
        rel: str = request.path_params["path"]
        path = files.find(rel) if rel else None
        if path is None and (rel.startswith("assets/") or "." in rel.rsplit("/", 1)[-1]):
            raise bad_field("path", f"no file /{rel}", 404, "not_found")
        index = files.find("index.html")
        if index is None:
            return HTMLResponse(NOT_BUILT, 503, headers={"Cache-Control": "no-store"})
        path = path or index
        raw, packed, media = files.load(path)
        cache = _IMMUTABLE if rel.startswith("assets/") else "no-cache"
        headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
        body = raw
        if packed is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body = packed
            headers["Content-Encoding"] = "gzip"
        if path == index:
            headers["X-Content-Type-Options"] = "nosniff"
        return Response(body, 200, headers, media_type=media)

    return [_DashboardRoute("/{path:path}", serve)]
