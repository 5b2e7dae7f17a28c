"""One writer per order (sync/locks.py): the lease outlives slow work, and a lost lock stops a step."""

from __future__ import annotations

import time

import pytest

from portal.redis import redis_connection
from sync.locks import LockLost, lock_confirm, order_lock


@pytest.fixture
def short_lease(settings, redis_conn):
    settings.SYNC_LOCK_SECONDS = 0.3
    return settings


def test_the_lease_is_extended_while_the_work_runs(short_lease):
    with order_lock("order-sync:1") as lock:
        assert lock is not None
        # Several leases pass, as in a VARIO call that waits for the limiter and then for its answer.
        time.sleep(1.0)
        with order_lock("order-sync:1") as second:
            assert second is None
        lock_confirm(lock)  # still ours
    with order_lock("order-sync:1") as after:
        assert after is not None


def test_a_lock_taken_over_by_another_worker_stops_the_next_irreversible_step(short_lease):
    with order_lock("order-sync:2") as lock:
        redis_connection().set(lock.name, b"another worker's token")
        with pytest.raises(LockLost):
            lock_confirm(lock)
    # The other worker's lock is left alone.
    assert redis_connection().get("portal:lock:order-sync:2") == b"another worker's token"


def test_a_killed_holder_frees_the_order_one_lease_later(short_lease):
    lock = redis_connection().lock("portal:lock:order-sync:3", timeout=0.3)
    assert lock.acquire(blocking=False)  # a worker that died without its keep-alive thread
    with order_lock("order-sync:3") as blocked:
        assert blocked is None
    time.sleep(0.4)
    with order_lock("order-sync:3") as free:
        assert free is not None
