"""The portal's Redis connection, shared by queues, health checks, locks and limiters.

One client (one connection pool) per process and URL: creating a client per call costs new TCP
connections and, with redis-py 8, a package-metadata read per connection — most of a webhook's time
before this was shared. Pools notice a fork and reconnect, so RQ's forked job processes are safe.
"""

from __future__ import annotations

from functools import lru_cache

import redis
from django.conf import settings


@lru_cache(maxsize=8)
def _client(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def redis_connection() -> redis.Redis:
    return _client(settings.REDIS_URL, settings.REDIS_SOCKET_TIMEOUT)
