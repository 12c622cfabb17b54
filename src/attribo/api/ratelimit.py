"""Rate limits per API key: a token bucket per key, budgets by role, 429 with `Retry-After`.

`RateLimit` is raw ASGI and sits outermost, so it also guards the event posts that
`IngestFront` serves without Starlette. Keys are told apart by their SHA-256 (`hash_key`), never
kept in clear. A key's role is resolved once, when its bucket is made; later requests cost a
hash, a dict lookup and a little arithmetic. Requests without a bearer key pass through (the app
answers 401); keys the control plane does not know are limited per client IP with a small
budget, which slows key guessing. Buckets that have refilled are indistinguishable from new ones,
so they are dropped every `sweep_every_s`; a cap on each table bounds memory under a flood of
client addresses.

Limits are per process (N server processes allow N times the budget) unless a `shared` bucket
store is given: in the cluster profile Redis keeps every bucket, so the budget is global.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

import msgspec
from starlette.types import ASGIApp, Receive, Scope, Send

from attribo.control import ControlPlane, hash_key
from attribo.events.validate import FieldError

_json = msgspec.json.Encoder()
_UNKNOWN_CLIENT: Final = "?"


@dataclass(frozen=True, slots=True)
class RateLimitSettings:
    """Budgets per role (requests per second, and the burst a quiet key may spend at once).

    Defaults: ingest keys 20,000/s with bursts of 40,000 (SDK traffic of a whole app goes through
    one ingest key, so normal use never meets the limit); analyst and admin keys 50/s, burst 100
    (a dashboard load is a few dozen requests); unknown keys 1/s per client IP, burst 10.
    """

    ingest_rate: float = 20_000.0
    ingest_burst: int = 40_000
    analyst_rate: float = 50.0
    analyst_burst: int = 100
    admin_rate: float = 50.0
    admin_burst: int = 100
    unknown_key_rate: float = 1.0
    unknown_key_burst: int = 10
    max_buckets: int = 100_000  # per table (keys, client IPs)
    sweep_every_s: float = 60.0

    def __post_init__(self) -> None:
        """Refuse budgets that would block everything or never refill."""
        for role in ("ingest", "analyst", "admin", "unknown_key"):
            if not getattr(self, f"{role}_rate") > 0:
                raise ValueError(f"{role}_rate must be positive")
            if getattr(self, f"{role}_burst") < 1:
                raise ValueError(f"{role}_burst must be at least 1")
        if self.max_buckets < 1:
            raise ValueError("max_buckets must be at least 1")
        if not self.sweep_every_s > 0:
            raise ValueError("sweep_every_s must be positive")

    def budget(self, role: str) -> tuple[float, int]:
        """(rate, burst) for keys of `role`."""
        if role == "ingest":
            return self.ingest_rate, self.ingest_burst
        if role == "analyst":
            return self.analyst_rate, self.analyst_burst
        return self.admin_rate, self.admin_burst


class SharedBuckets(Protocol):
    """Token buckets kept outside the process (Redis), with `_Bucket.take`'s arithmetic."""

    def take(self, name: str, rate: float, burst: int) -> int:
        """Spend one token of bucket `name`: 0 if there was one, else seconds to wait."""
        ...


class _Bucket:
    """Tokens left as of `at` (monotonic seconds), refilling at `rate` up to `burst`."""

    __slots__ = ("at", "burst", "name", "rate", "tokens")

    def __init__(self, rate: float, burst: int, now: float, name: str = "") -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.at = now
        self.name = name  # what the shared store calls it

    def take(self, now: float) -> int:
        """Spend one token: 0 if there was one, else the whole seconds until there is."""
        tokens = self.tokens + (now - self.at) * self.rate
        if tokens > self.burst:
            tokens = self.burst
        self.at = now
        if tokens >= 1.0:
            self.tokens = tokens - 1.0
            return 0
        self.tokens = tokens
        return max(1, math.ceil((1.0 - tokens) / self.rate))

    def full_at(self, now: float) -> bool:
        """Whether the bucket has refilled by `now` (so forgetting it changes nothing)."""
        return self.tokens + (now - self.at) * self.rate >= self.burst


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key of `Authorization: Bearer <key>`, or None when absent or malformed."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, key = value.decode("latin-1").partition(" ")
            key = key.strip()
            return key if key and scheme.lower() == "bearer" else None
    return None


class RateLimit:
    """ASGI middleware limiting requests per API key (and per client IP for unknown keys)."""

    def __init__(
        self,
        app: ASGIApp,
        control: ControlPlane,
        settings: RateLimitSettings | None = None,
        shared: SharedBuckets | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wrap `app`; `control` resolves each new key's role once; `shared` holds the tokens.

        `clock` (monotonic seconds) is a parameter so tests can step time instead of racing it.
        """
        self._app = app
        self._clock = clock
        self._shared = shared
        self._take_async = getattr(shared, "take_async", None)
        self._control = control
        self._settings = settings or RateLimitSettings()
        self._keys: dict[str, _Bucket] = {}
        self._clients: dict[str, _Bucket] = {}
        self._next_sweep = clock() + self._settings.sweep_every_s

    def bucket_count(self) -> int:
        """How many buckets are held (keys and client IPs)."""
        return len(self._keys) + len(self._clients)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        key = _bearer(scope["headers"])
        if key is None:
            await self._app(scope, receive, send)
            return
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        digest = hash_key(key)
        bucket = self._keys.get(digest)
        if bucket is None:
            bucket = self._new_bucket(scope, key, digest, now)
        if self._shared is None:
            wait = bucket.take(now)
        elif self._take_async is not None:  # awaited: the loop serves others meanwhile
            wait = await self._take_async(bucket.name, bucket.rate, bucket.burst)
        else:  # the local bucket only remembers the budget; the tokens live in the store
            wait = self._shared.take(bucket.name, bucket.rate, bucket.burst)
        if wait:
            await _too_many(send, wait)
            return
        await self._app(scope, receive, send)

    def _new_bucket(self, scope: Scope, key: str, digest: str, now: float) -> _Bucket:
        """The bucket of a key seen for the first time, or of its client IP if it is unknown."""
        info = self._control.resolve_key(key)
        if info is not None:
            rate, burst = self._settings.budget(info.role)
            return self._insert(self._keys, digest, _Bucket(rate, burst, now, f"key:{digest}"))
        client = scope.get("client")
        host = client[0] if client else _UNKNOWN_CLIENT
        bucket = self._clients.get(host)
        if bucket is None:
            s = self._settings
            bucket = _Bucket(s.unknown_key_rate, s.unknown_key_burst, now, f"ip:{host}")
            self._insert(self._clients, host, bucket)
        return bucket

    def _insert(self, table: dict[str, _Bucket], name: str, bucket: _Bucket) -> _Bucket:
        """Add a bucket, first dropping the oldest if the table is at its cap.

        No sweep here: under a flood of new addresses that would be O(table) per request.
        """
        while len(table) >= self._settings.max_buckets:
            del table[next(iter(table))]  # oldest first: a flood evicts its own entries
        table[name] = bucket
        return bucket

    def _sweep(self, now: float) -> None:
        """Forget every bucket that has refilled (it would behave exactly like a new one)."""
        for table in (self._keys, self._clients):
            full = [name for name, bucket in table.items() if bucket.full_at(now)]
            for name in full:
                del table[name]
        self._next_sweep = now + self._settings.sweep_every_s


async def _too_many(send: Send, wait: int) -> None:
    """Answer 429 with the seconds to wait."""
    detail = FieldError("Authorization", f"rate limit exceeded; retry in {wait} s")
    body = _json.encode({"error": "rate_limited", "detail": [detail.as_dict()]})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(body)),
        (b"retry-after", b"%d" % wait),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
