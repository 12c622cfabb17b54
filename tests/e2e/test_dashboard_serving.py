"""How `attribo serve` hands out the built dashboard: caching, compression, SPA fallback."""

from __future__ import annotations

import re

import httpx
import pytest

from conftest import Demo

pytestmark = pytest.mark.e2e


def test_index_is_revalidated_and_assets_are_immutable(demo: Demo) -> None:
    index = httpx.get(f"{demo.url}/", headers={"Accept-Encoding": "gzip"})
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    assert index.headers["cache-control"] == "no-cache"
    assert index.headers["content-encoding"] == "gzip"
    script = re.search(r'src="(/assets/[^"]+\.js)"', index.text)
    assert script, index.text
    asset = httpx.get(f"{demo.url}{script.group(1)}", headers={"Accept-Encoding": "gzip"})
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-type"].startswith("text/javascript")
    assert int(asset.headers["content-length"]) < len(asset.content)  # sent compressed


def test_client_routes_fall_back_to_the_app_and_api_keeps_priority(demo: Demo) -> None:
    deep = httpx.get(f"{demo.url}/campaigns", params={"level": "ad"})
    assert deep.status_code == 200 and '<div id="app">' in deep.text
    assert httpx.get(f"{demo.url}/assets/nope.js").status_code == 404
    health = httpx.get(f"{demo.url}/health")
    assert health.json()["status"] == "ok"
    assert httpx.get(f"{demo.url}/v1/unknown").json()["error"] == "not_found"
