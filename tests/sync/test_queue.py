"""The queue's markers: which job was last enqueued for a piece of work, and whether RQ says it still
waits for a worker (sync/queue.py, docs/architecture.md "The queue")."""

from __future__ import annotations

from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone
from rq import Queue, SimpleWorker

from sync import queue as sync_queue
from sync.inbox import inbox_sweep
from sync.models import OrderSync
from tests.factories import OrderSyncFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue(redis_conn):
    return django_rq.get_queue(sync_queue.QUEUE)


def queued_jobs(queue) -> list[tuple[str, list]]:
    return [(job.func_name, list(job.args)) for job in queue.jobs]


def take_and_die(queue, redis_conn):
    """What a worker SIGKILLed right after taking a job leaves behind: the job dequeued and marked
    started (RQ's work horse does that before it calls the job), none of the job's own code run."""
    job, _ = Queue.dequeue_any([queue], None, connection=redis_conn, serializer=queue.serializer)
    with redis_conn.pipeline() as pipeline:
        job.prepare_for_execution("killed-worker", pipeline=pipeline)
        pipeline.execute()
    return job


def test_a_delayed_retry_counts_as_queued_while_it_waits_for_its_time(queue):
    assert sync_queue.inbox_event_process_enqueue(event_id=4711, delay=30)

    assert sync_queue.is_queued(sync_queue.event_marker(4711))
    assert not sync_queue.is_queued(sync_queue.event_marker(4712))


def test_a_job_a_worker_ran_no_longer_counts_as_queued(queue, redis_conn):
    assert sync_queue.inbox_event_process_enqueue(event_id=4711, delay=0)
    assert sync_queue.is_queued(sync_queue.event_marker(4711))

    # no such pending event: the job returns at once
    SimpleWorker([queue], connection=redis_conn, serializer=queue.serializer).work(burst=True)

    assert not sync_queue.is_queued(sync_queue.event_marker(4711))


def test_a_job_whose_data_redis_lost_does_not_count_as_queued(queue, redis_conn):
    assert sync_queue.order_sync_enqueue(order_sync_id=4711, kind="status")
    [job_id] = queue.job_ids

    redis_conn.delete(f"rq:job:{job_id}")

    assert not sync_queue.is_queued(sync_queue.order_sync_marker(4711))


def test_an_order_whose_job_a_killed_worker_had_taken_is_swept_at_once(queue, redis_conn, settings):
    """The marker's TTL (MARKER_TTL_SECONDS) no longer decides: RQ's status of the job says it was taken."""
    settings.SYNC_SWEEP_AFTER_SECONDS = 20
    sync = OrderSyncFactory(status=OrderSync.Status.PENDING, requested_at=timezone.now() - timedelta(seconds=60))
    assert sync_queue.order_sync_enqueue(order_sync_id=sync.pk, kind=sync.kind)
    assert inbox_sweep()["orders"] == 0  # its job waits in the queue: nothing to do
    taken = take_and_die(queue, redis_conn)

    counts = inbox_sweep()

    assert counts["orders"] == 1
    assert queued_jobs(queue) == [("sync.jobs.order_status_sync_job", [sync.pk])]
    assert queue.job_ids != [taken.id]
    assert sync_queue.is_queued(sync_queue.order_sync_marker(sync.pk))
