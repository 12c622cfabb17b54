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


class AsyncRedis:
    """An asyncio client for the loop that asks, made on first use there (one per loop).

    The collector's Redis calls are awaited, so its event loop serves other requests
    while one waits on Redis; a client is bound to the loop it was made on.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._loop: Any = None
        self._client: Any = None

    def client(self) -> Any:
        """The client of the running loop."""
        import asyncio

        import redis.asyncio

        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._client = redis.asyncio.Redis.from_url(
                self._url, socket_timeout=5.0, socket_connect_timeout=5.0
            )
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the running loop's client (before that loop ends)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = self._loop = None
