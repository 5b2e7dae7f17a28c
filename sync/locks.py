"""One writer per order (design §2.3): a Redis lock with a lease, so a killed worker frees it."""

from __future__ import annotations

from contextlib import contextmanager, suppress

from django.conf import settings
from redis.exceptions import LockError

from portal.redis import redis_connection


@contextmanager
def order_lock(name: str):
    """Yields a lock object when this process now owns ``name``, or None when another one does."""
    lock = redis_connection().lock(f"portal:lock:{name}", timeout=settings.SYNC_LOCK_SECONDS, blocking=False)
    if not lock.acquire(blocking=False):
        yield None
        return
    try:
        yield lock
    finally:
        # The lease may have run out while we worked; whoever holds the lock now keeps it.
        with suppress(LockError):
            lock.release()


def lock_refresh(lock) -> None:
    """Extend the lease after a slow step, so a long run keeps its lock."""
    if lock is not None:
        with suppress(LockError):
            lock.reacquire()
