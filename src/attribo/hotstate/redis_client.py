"""One way to build a Redis client, with the missing-extra error spelled out."""

from __future__ import annotations

from typing import Any

try:
    import redis
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("Redis hot state needs redis-py: pip install 'attribo[cluster]'") from exc


def redis_from_url(url: str) -> Any:
    """A client for `redis://host:port/db`; bytes in, bytes out, short timeouts."""
    return redis.Redis.from_url(url, socket_timeout=5.0, socket_connect_timeout=5.0)


def key_part(text: str) -> str:
    """A key segment that cannot run into the next one (`a:b`+`c` differs from `a`+`b:c`)."""
    return f"{len(text)}:{text}"
