"""One way to build a Redis client (one server or a Redis Cluster), and key naming.

`redis://host:port/db` is one server (with replicas behind it, if any);
`redis+cluster://host:port` is a Redis Cluster reached through any of its nodes. A cluster
needs the keys one script touches in one hash slot: every key that a multi-key script
touches carries its app's hash tag (`app_tag`), so one app's dedup ids and touches live on
one shard and the apps spread over the cluster.
"""

from __future__ import annotations

from typing import Any

try:
    import redis
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError("Redis hot state needs redis-py: pip install 'attribo[cluster]'") from exc


_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
_TIMEOUTS: dict[str, Any] = {"socket_timeout": 5.0, "socket_connect_timeout": 5.0}


def cluster_url(url: str) -> str | None:
    """The plain URL of a `redis+cluster://` (or `rediss+cluster://`) URL; None for others."""
    scheme, sep, rest = url.partition("://")
    plain = _CLUSTER_SCHEMES.get(scheme.lower()) if sep else None
    return f"{plain}://{rest}" if plain else None


def redis_from_url(url: str) -> Any:
    """A client for `redis://host:port/db` or `redis+cluster://host:port`; bytes in, bytes
    out, short timeouts. A cluster client asks the node for the slot map at once."""
    plain = cluster_url(url)
    if plain is not None:
        from redis.cluster import RedisCluster

        return RedisCluster.from_url(plain, **_TIMEOUTS)
    return redis.Redis.from_url(url, **_TIMEOUTS)


def is_cluster(client: Any) -> bool:
    """Whether `client` talks to a Redis Cluster (scripts then need their keys declared)."""
    from redis.cluster import RedisCluster

    return isinstance(client, RedisCluster)


def get_many(client: Any, keys: list[str]) -> list[Any]:
    """GET of many keys in one call; on a cluster, one MGET per slot."""
    return client.mget_nonatomic(keys) if is_cluster(client) else client.mget(keys)


def key_part(text: str) -> str:
    """A key segment that cannot run into the next one (`a:b`+`c` differs from `a`+`b:c`)."""
    return f"{len(text)}:{text}"


def app_tag(app_id: str) -> str:
    """An app's hash tag: Redis Cluster puts every key holding it in one slot.

    The tag is what lies between the first `{` and the next `}`; an app id holding `}`
    gives a shorter tag, the same one for all its keys, so they still share a slot.
    """
    return "{" + key_part(app_id) + "}"


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
            plain = cluster_url(self._url)
            if plain is not None:
                from redis.asyncio.cluster import RedisCluster

                self._client = RedisCluster.from_url(plain, **_TIMEOUTS)
            else:
                self._client = redis.asyncio.Redis.from_url(self._url, **_TIMEOUTS)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the running loop's client (before that loop ends)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = self._loop = None
