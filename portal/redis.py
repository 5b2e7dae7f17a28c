"""The portal's Redis connection, shared by health checks, locks and limiters."""

from __future__ import annotations

import redis
from django.conf import settings


def redis_connection() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
    )
