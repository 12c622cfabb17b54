"""Token buckets in Redis: one rate limit per key across every API and collector process.

The arithmetic is the embedded `api.ratelimit` bucket's: tokens refill at `rate` per second up
to `burst`; a request spends one; without one the answer is the whole seconds until there is
one (at least 1). It runs as one Lua script on Redis's clock, so concurrent processes never
both spend the last token and their clocks need not agree. A bucket's key expires once it would
have refilled (a full bucket is the same as a new one), so idle keys cost no memory.
"""

from __future__ import annotations

from typing import Any

from attribo.hotstate.redis_client import AsyncRedis, key_part, redis_from_url

_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + (now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) / rate))
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens),
           'at', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return wait
"""


class RedisTokenBuckets:
    """Named token buckets shared through Redis."""

    def __init__(self, client: Any, namespace: str, url: str | None = None) -> None:
        """Use an existing client; keys are `<namespace>:rl:<name>`.

        With `url`, `take_async` awaits an asyncio client.
        """
        self._redis = client
        self._prefix = f"{namespace}:rl:"
        self._take = client.register_script(_TAKE)
        self._async = AsyncRedis(url) if url is not None else None
        self._async_take: Any = None

    @classmethod
    def from_url(cls, url: str, namespace: str) -> RedisTokenBuckets:
        """Connect to `redis://…`."""
        return cls(redis_from_url(url), namespace, url)

    def take(self, name: str, rate: float, burst: int) -> int:
        """Spend one token of bucket `name`: 0 if there was one, else seconds to wait."""
        if not rate > 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        return int(self._take(keys=[self._prefix + key_part(name)], args=[repr(rate), burst]))

    async def take_async(self, name: str, rate: float, burst: int) -> int:
        """`take`, awaiting Redis instead of blocking the event loop."""
        if self._async is None:
            return self.take(name, rate, burst)
        if not rate > 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        client = self._async.client()
        if self._async_take is None or self._async_take.registered_client is not client:
            self._async_take = client.register_script(_TAKE)
        keys = [self._prefix + key_part(name)]
        return int(await self._async_take(keys=keys, args=[repr(rate), burst]))

    async def aclose(self) -> None:
        """Close the asyncio client of the running loop, if one was made."""
        if self._async is not None:
            await self._async.aclose()

    def clear(self) -> None:
        """Drop every bucket of the namespace (test clean-up, teardown)."""
        keys = list(self._redis.scan_iter(match=f"{self._prefix}*", count=10_000))
        for start in range(0, len(keys), 1000):
            self._redis.delete(*keys[start : start + 1000])
