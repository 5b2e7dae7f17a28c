"""django-rq jobs (ids in, one service call) and their enqueue helpers, the only callers of enqueue.

An enqueue that fails (Redis down) is logged and answered False: the work is already a durable row,
and the periodic sweep enqueues it again (design §2.1). Each enqueue leaves a short-lived marker in
Redis that the job removes when it starts, so the sweep can tell "queued, wait for it" from "lost"
(Redis restarted, enqueue failed) without scanning queues.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

import django_rq
from redis.exceptions import RedisError

from portal.redis import redis_connection

logger = logging.getLogger(__name__)
QUEUE = "default"
MARKER_TTL_SECONDS = 900  # longer than any sane queue backlog; a lost marker only costs a duplicate run


def _marker(name: str) -> str:
    return f"portal:queued:{name}"


def _enqueue(func, *args, marker: str, delay: float | None = None) -> bool:
    return _enqueue_many([(func, args, marker)], delay=delay)


def _enqueue_many(calls: list[tuple], *, delay: float | None = None) -> bool:
    """Enqueue ``(func, args, marker)`` calls with their queued markers in one MULTI/EXEC round trip."""
    if not calls:
        return True
    try:
        connection = redis_connection()
        # Callers enqueue after their own commit (transaction.on_commit), so django-rq must not defer
        # again: its deferral would run after this pipeline has been executed and lose the job.
        queue = django_rq.get_queue(QUEUE, connection=connection, commit_mode="auto")
        # No worker sees a job without its marker. (RQ may WATCH on the pipeline, which must come
        # before any other command, so the markers follow the jobs.)
        with connection.pipeline() as pipeline:
            for func, args, _marker_name in calls:
                if delay and delay > 0:
                    queue.enqueue_in(timedelta(seconds=delay), func, *args, pipeline=pipeline)
                else:
                    queue.enqueue(func, *args, pipeline=pipeline)
            for _func, _args, marker_name in calls:
                pipeline.set(_marker(marker_name), 1, ex=int((delay or 0) + MARKER_TTL_SECONDS))
            pipeline.execute()
    except RedisError as exc:
        names = ", ".join(f"{func.__name__}{args}" for func, args, _ in calls[:3])
        logger.warning("could not enqueue %s%s (%s); the sweep will retry", names, "…" if len(calls) > 3 else "", exc)
        return False
    return True


def _started(marker: str) -> None:
    with contextlib.suppress(RedisError):
        redis_connection().delete(_marker(marker))


def is_queued(marker: str) -> bool:
    return bool(redis_connection().exists(_marker(marker)))


def event_marker(event_id: int) -> str:
    return f"inbox:{event_id}"


def order_sync_marker(order_sync_id: int) -> str:
    return f"order-sync:{order_sync_id}"


# --- jobs ----------------------------------------------------------------------------------------------


def inbox_event_process_job(event_id: int) -> None:
    from sync.inbox import inbox_event_process

    _started(event_marker(event_id))
    inbox_event_process(event_id=event_id)


def order_status_sync_job(order_sync_id: int) -> None:
    from sync.outbound import order_status_sync

    _started(order_sync_marker(order_sync_id))
    order_status_sync(order_sync_id=order_sync_id)


def order_import_job(order_sync_id: int) -> None:
    from sync.inbound import order_import

    _started(order_sync_marker(order_sync_id))
    order_import(order_sync_id=order_sync_id)


def inbox_sweep_job() -> None:
    from sync.inbox import inbox_sweep

    inbox_sweep()


# --- enqueue helpers ---------------------------------------------------------------------------------


def inbox_event_process_enqueue(*, event_id: int, delay: float | None = None) -> bool:
    return _enqueue(inbox_event_process_job, event_id, marker=event_marker(event_id), delay=delay)


def inbox_events_process_enqueue(*, event_ids: list[int]) -> bool:
    """Many events in one Redis round trip (a feed batch)."""
    return _enqueue_many([(inbox_event_process_job, (event_id,), event_marker(event_id)) for event_id in event_ids])


def order_sync_enqueue(*, order_sync_id: int, kind: str, delay: float | None = None) -> bool:
    """The job of an OrderSync's kind: status sync (ERP → VTEX) or order import (VTEX → ERP)."""
    job = {"status": order_status_sync_job, "import": order_import_job}[kind]
    return _enqueue(job, order_sync_id, marker=order_sync_marker(order_sync_id), delay=delay)


def inbox_sweep_enqueue() -> bool:
    return _enqueue(inbox_sweep_job, marker="sweep")
