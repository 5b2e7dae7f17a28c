"""One writer per order (design §2.3): a Redis lock with a lease, so a killed worker frees it.

A thread of the holding process extends the lease every third of it for as long as the work runs.
A single remote call can outlast any fixed lease (limiter wait, connect and read timeouts, a token
refresh), and a lease that ran out in the middle of an ERP create would let a second worker create
a twin. A killed worker's thread dies with it, so its lock is free again one lease later.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager, suppress

from django.conf import settings
from redis.exceptions import LockError, RedisError

from portal.redis import redis_connection

logger = logging.getLogger(__name__)


class LockLost(Exception):
    """The lease ran out (Redis unreachable for longer than it): another worker may own the order now."""


def _keep_alive(lock, stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            lock.reacquire()
        except LockError:
            logger.warning("lock %s was lost before the work ended", lock.name)
            return
        except RedisError:
            continue  # Redis is down: try again; the lease may still outlive the outage


@contextmanager
def order_lock(name: str):
    """Yields a lock object when this process now owns ``name``, or None when another one does."""
    lease = settings.SYNC_LOCK_SECONDS
    # thread_local=False: the keep-alive thread extends the lease with the token this thread acquired.
    lock = redis_connection().lock(f"portal:lock:{name}", timeout=lease, blocking=False, thread_local=False)
    if not lock.acquire(blocking=False):
        yield None
        return
    stop = threading.Event()
    beat = threading.Thread(target=_keep_alive, args=(lock, stop, lease / 3), name=f"lease {name}", daemon=True)
    beat.start()
    try:
        yield lock
    finally:
        stop.set()
        beat.join()
        # The lease may have run out while we worked; whoever holds the lock now keeps it.
        with suppress(LockError, RedisError):
            lock.release()


def lock_confirm(lock) -> None:
    """Before a step that must not happen twice: raise LockLost unless this process still owns the lock
    (and extend its lease now)."""
    if lock is None:
        return
    try:
        lock.reacquire()
    except LockError:
        raise LockLost(f"{lock.name} is no longer held by this worker") from None
