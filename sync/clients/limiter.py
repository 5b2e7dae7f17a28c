"""Request pacing per remote account, shared by every worker through Redis (design §2.5).

Two rules, both in Redis so N workers on M hosts behave as one client:
- a moving window of at most ``limit`` calls per ``window_seconds`` (the `limits` library);
- after a 429, nobody calls that scope again before its ``Retry-After`` has passed.

A caller that would have to wait longer than ``max_wait`` gets a ``RetryableError`` carrying the
wait, so a job is rescheduled instead of holding a worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import redis
from limits import RateLimitItemPerSecond
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from sync.clients.errors import RetryableError

KEY_PREFIX = "portal:limiter"


@lru_cache(maxsize=8)
def _shared(redis_url: str) -> tuple[redis.Redis, MovingWindowRateLimiter]:
    """One Redis client and one window store per process: clients are built for every job."""
    return (
        redis.Redis.from_url(redis_url),
        MovingWindowRateLimiter(RedisStorage(redis_url, key_prefix=f"{KEY_PREFIX}:window")),
    )


@dataclass(frozen=True)
class Rate:
    limit: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """'40/6' → 40 calls per 6 seconds."""
        try:
            limit, window = text.split("/")
            rate = cls(int(limit), int(window))
        except ValueError:
            raise ValueError(f"A rate is written 'calls/seconds', e.g. '40/6'; got {text!r}") from None
        if rate.limit < 1 or rate.window_seconds < 1:
            raise ValueError(f"A rate needs at least 1 call per at least 1 second; got {text!r}")
        return rate

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_seconds}"


class RemoteLimiter:
    def __init__(
        self,
        *,
        remote: str,
        scope: str,
        redis_url: str,
        rates: dict[str, Rate],
        default_rate: Rate | None,
        max_wait: float,
    ) -> None:
        self.remote = remote
        self.scope = scope
        self.rates = rates
        self.default_rate = default_rate
        self.max_wait = max_wait
        self._redis, self._window = _shared(redis_url)

    def _block_key(self, route: str) -> str:
        return f"{KEY_PREFIX}:blocked:{self.remote}:{self.scope}:{route}"

    def _rate(self, route: str) -> Rate | None:
        return self.rates.get(route, self.default_rate)

    def _too_long(self, wait: float, route: str, why: str) -> RetryableError:
        return RetryableError(
            f"{why}; next call to {route or 'this remote'} possible in {wait:.1f}s",
            remote=self.remote,
            retry_after=wait,
        )

    def acquire(self, route: str = "") -> float:
        """Wait for the right to make one call on ``route``; returns the seconds waited."""
        waited = 0.0
        rate = self._rate(route)
        item = RateLimitItemPerSecond(rate.limit, rate.window_seconds) if rate else None
        while True:
            blocked_until = self._redis.get(self._block_key(route))
            wait = float(blocked_until) - time.time() if blocked_until else 0.0
            reason = "the remote asked us to wait (Retry-After)"
            if wait <= 0 and item is not None:
                if self._window.hit(item, self.remote, self.scope, route):
                    return waited
                stats = self._window.get_window_stats(item, self.remote, self.scope, route)
                wait = max(stats.reset_time - time.time(), 0.005)
                reason = f"rate limit {rate} reached"
            elif wait <= 0:
                return waited
            if waited + wait > self.max_wait:
                raise self._too_long(wait, route, reason)
            time.sleep(wait)
            waited += wait

    def block(self, route: str, seconds: float) -> None:
        """Remember a Retry-After: no worker calls ``route`` again before it has passed."""
        until = time.time() + seconds
        key = self._block_key(route)
        current = self._redis.get(key)
        if current is None or float(current) < until:
            self._redis.set(key, repr(until), px=max(int(seconds * 1000), 1))
