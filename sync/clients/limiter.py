"""Request pacing per remote account, shared by every worker through Redis (design §2.5).

Two rules, both in Redis so N workers on M hosts behave as one client:
- a sliding window of at most ``limit`` calls per ``window_seconds``;
- after a 429, nobody calls that scope again before its ``Retry-After`` has passed.

What one window covers is the remote's rule, not ours. VTEX limits per route (reference/vtex.md),
so its limiter keeps a window and a block per route. VARIO allows 40 requests per 6 seconds for the
whole API client (reference/vario-erp.md §1.3), so its limiter is built with ``per_route=False``:
every route shares one window and one block, and a 429 on one route holds back all of them. A route
with a rate of its own in ``rates`` is a different budget (VARIO's token endpoint is the SSO server,
not the API) and keeps its own window and block either way. Routes are still passed by the clients:
they choose the rate and name the route in errors.

The remote counts a call when it arrives, the limiter when it grants it; the time in between varies
(scheduling, the network, the remote's own queue). So the window the limiter keeps is the remote's
plus ``margin_seconds``: R calls granted at least W + margin apart still arrive at least W apart as
long as their delays differ by less than the margin. Times come from the Redis server's clock, so
workers on hosts with skewed clocks still share one window.

Both rules are one Lua script per call. (The `limits` library keeps whole-second windows with the
caller's clock, which leaves no room for the margin.)

A caller that would have to wait longer than ``max_wait`` gets a ``RetryableError`` carrying the
wait, so a job is rescheduled instead of holding a worker; the call was not made, so the error says
the remote cannot have acted on it (``may_have_applied=False``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import redis

from sync.clients.errors import RetryableError

KEY_PREFIX = "portal:limiter"

# KEYS: grant log (newest first, ms), block key (until, ms). ARGV: limit (0 = none), window ms.
# Returns {granted, wait ms, blocked by a Retry-After}.
_ACQUIRE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local blocked_until = tonumber(redis.call('GET', KEYS[2]) or '0')
if blocked_until > now then
  return {0, blocked_until - now, 1}
end
local limit = tonumber(ARGV[1])
if limit == 0 then
  return {1, 0, 0}
end
local window = tonumber(ARGV[2])
local oldest = redis.call('LINDEX', KEYS[1], limit - 1)
if oldest and tonumber(oldest) > now - window then
  return {0, tonumber(oldest) + window - now, 0}
end
redis.call('LPUSH', KEYS[1], now)
redis.call('LTRIM', KEYS[1], 0, limit - 1)
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0, 0}
"""

# KEYS: block key. ARGV: ms to block. Only ever moves the block later.
_BLOCK = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ms = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < now + ms then
  redis.call('SET', KEYS[1], now + ms, 'PX', ms)
end
"""


@lru_cache(maxsize=8)
def _shared(redis_url: str) -> tuple[redis.Redis, object, object]:
    """One Redis client and the registered scripts per process: clients are built for every job."""
    client = redis.Redis.from_url(redis_url)
    return client, client.register_script(_ACQUIRE), client.register_script(_BLOCK)


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
        margin_seconds: float = 0.0,
        per_route: bool = True,
        lane: str = "",
        lane_share: float = 1.0,
    ) -> None:
        self.remote = remote
        # A lane (a bulk run's) takes at most ``lane_share`` of every window, counted in a window of its own,
        # and its calls count in the shared window too: the rest stays for webhooks and the feed.
        self.lane = lane
        self.lane_share = lane_share
        self.scope = scope
        self.rates = rates
        self.default_rate = default_rate
        self.max_wait = max_wait
        self.margin_seconds = margin_seconds
        self.per_route = per_route
        _, self._acquire, self._block = _shared(redis_url)

    def _key(self, kind: str, route: str) -> str:
        # "*" is not a route name any client uses: the one window of a remote that counts per client.
        bucket = route if self.per_route or route in self.rates else "*"
        return f"{KEY_PREFIX}:{kind}:{self.remote}:{self.scope}:{bucket}"

    def _rate(self, route: str) -> Rate | None:
        return self.rates.get(route, self.default_rate)

    def _too_long(self, wait: float, route: str, why: str) -> RetryableError:
        # Refused before the request is sent: the remote cannot have acted on it. Without saying so, a
        # refused ERP order create counted as one whose answer was lost, and the import waited for an
        # order that was never made (sync/inbound.py, _erp_order_create).
        return RetryableError(
            f"{why}; next call to {route or 'this remote'} possible in {wait:.1f}s",
            remote=self.remote,
            retry_after=wait,
            may_have_applied=False,
        )

    def _lane_rate(self, rate: Rate | None) -> Rate | None:
        if rate is None or not self.lane:
            return None
        return Rate(max(1, int(rate.limit * self.lane_share)), rate.window_seconds)

    def acquire(self, route: str = "") -> float:
        """Wait for the right to make one call on ``route``; returns the seconds waited.

        In a lane: first a place in the lane's own, smaller window, then one in the shared window."""
        rate = self._rate(route)
        waited = 0.0
        if lane_rate := self._lane_rate(rate):
            # A lane is meant to run full: waiting out its own window is its pace, not a reason to give up.
            patience = max(self.max_wait, lane_rate.window_seconds + self.margin_seconds)
            key = self._key(f"window-{self.lane}", route)
            waited = self._wait_for(route, lane_rate, window_key=key, waited=0.0, max_wait=patience)
            return self._wait_for(route, rate, window_key=self._key("window", route), waited=0.0) + waited
        return self._wait_for(route, rate, window_key=self._key("window", route), waited=0.0)

    def _wait_for(
        self, route: str, rate: Rate | None, *, window_key: str, waited: float, max_wait: float | None = None
    ) -> float:
        max_wait = self.max_wait if max_wait is None else max_wait
        limit = rate.limit if rate else 0
        window_ms = round(((rate.window_seconds if rate else 0) + self.margin_seconds) * 1000)
        keys = [window_key, self._key("blocked", route)]
        while True:
            granted, wait_ms, blocked = self._acquire(keys=keys, args=[limit, window_ms])
            if granted:
                return waited
            wait = max(int(wait_ms), 1) / 1000
            reason = "the remote asked us to wait (Retry-After)" if blocked else f"rate limit {rate} reached"
            if waited + wait > max_wait:
                raise self._too_long(wait, route, reason)
            time.sleep(wait)
            waited += wait

    def block(self, route: str, seconds: float) -> None:
        """Remember a Retry-After: no worker calls ``route`` again before it has passed.

        With ``per_route=False`` that is every route sharing the remote's window, not only ``route``.
        """
        self._block(keys=[self._key("blocked", route)], args=[max(round(seconds * 1000), 1)])
