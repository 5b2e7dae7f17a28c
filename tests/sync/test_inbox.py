"""The hand-over from stored events to the workers: the ready set, drain jobs, batches (sync/inbox.py)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import django_rq
import pytest
from django.db import OperationalError
from django.utils import timezone

from sync import inbox
from sync import queue as sync_queue
from sync.inbox import inbox_event_store, inbox_events_drain
from sync.models import InboxEvent, OrderSync
from tests.factories import OrderSyncFactory, SalesChannelFactory

pytestmark = pytest.mark.django_db(transaction=True)
DRAIN = "sync.jobs.inbox_drain_job"


@pytest.fixture
def queue(redis_conn):
    return django_rq.get_queue(sync_queue.QUEUE)


@pytest.fixture
def channel():
    return SalesChannelFactory(code="shop")


def store_feed_event(channel, order_id: str) -> InboxEvent:
    """A VTEX feed event: processing it only asks for the order's import (no remote call)."""
    event, _ = inbox_event_store(
        source=InboxEvent.Source.VTEX_FEED,
        event="ready-for-handling",
        entity_id=order_id,
        payload={},
        channel=channel,
        dedup_key=f"vtex-feed:{order_id}",
    )
    sync_queue.inbox_handoff_wait()  # the hand-off thread has sent it to Redis
    return event


def drain_jobs(queue) -> int:
    return sum(job.func_name == DRAIN for job in queue.jobs)


def test_stored_events_wait_for_one_drain_job_however_many_arrive(channel, queue):
    for number in range(5):
        store_feed_event(channel, f"order-{number}")

    assert (sync_queue.inbox_ready_count(), drain_jobs(queue)) == (5, 1)


def test_a_drain_processes_its_batch_oldest_first(channel, queue):
    events = [store_feed_event(channel, f"order-{number}") for number in range(3)]

    assert inbox_events_drain(batch_size=10) == 3

    processed = InboxEvent.objects.filter(status=InboxEvent.Status.PROCESSED).order_by("processed_at", "pk")
    assert [event.pk for event in processed] == [event.pk for event in events]
    assert set(OrderSync.objects.values_list("key", flat=True)) == {"order-0", "order-1", "order-2"}
    assert sync_queue.inbox_ready_count() == 0


def test_a_drain_that_leaves_events_behind_queues_the_next_drain_before_it_works(channel, queue):
    for number in range(5):
        store_feed_event(channel, f"order-{number}")
    queue.empty()  # the first drain job is running now

    assert inbox_events_drain(batch_size=2) == 2

    assert (sync_queue.inbox_ready_count(), drain_jobs(queue)) == (3, 1)


def test_an_event_signalled_after_the_take_arms_a_new_drain(channel, queue):
    store_feed_event(channel, "order-1")
    queue.empty()
    sync_queue.inbox_events_take(count=10)  # the running drain cleared the flag when it took its batch

    store_feed_event(channel, "order-2")

    assert drain_jobs(queue) == 1


def test_one_events_unexpected_error_fails_it_visibly_and_the_batch_goes_on(channel, queue, monkeypatch):
    broken, fine = store_feed_event(channel, "order-broken"), store_feed_event(channel, "order-fine")
    process = inbox.inbox_event_process

    def flaky(*, event_id: int, **kwargs) -> None:
        if event_id == broken.pk:
            raise KeyError("surprise")
        process(event_id=event_id, **kwargs)

    monkeypatch.setattr(inbox, "inbox_event_process", flaky)

    inbox_events_drain(batch_size=10)

    broken.refresh_from_db()
    assert broken.status == InboxEvent.Status.FAILED
    assert broken.last_error == "Unexpected error: KeyError: 'surprise'"
    assert InboxEvent.objects.get(pk=fine.pk).status == InboxEvent.Status.PROCESSED


def test_a_finished_drain_forgets_what_it_took(channel, queue, redis_conn):
    store_feed_event(channel, "order-1")

    inbox_events_drain(batch_size=10)

    assert redis_conn.zcard(sync_queue.INBOX_TAKEN_KEY) == 0


def test_a_duplicate_feed_event_is_stored_and_handed_over_once(channel, queue):
    first = store_feed_event(channel, "order-1")
    again, created = inbox_event_store(
        source=InboxEvent.Source.VTEX_FEED,
        event="ready-for-handling",
        entity_id="order-1",
        payload={},
        channel=channel,
        dedup_key="vtex-feed:order-1",
    )

    assert (again.pk, created) == (first.pk, False)
    assert sync_queue.inbox_ready_count() == 1


def test_the_database_failing_stops_the_batch_with_its_events_still_pending(channel, queue, redis_conn, monkeypatch):
    events = [store_feed_event(channel, f"order-{number}") for number in range(2)]

    def down(*, event_id: int, **kwargs) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(inbox, "inbox_event_process", down)

    with pytest.raises(OperationalError):
        inbox_events_drain(batch_size=10)

    assert set(InboxEvent.objects.values_list("status", flat=True)) == {InboxEvent.Status.PENDING}
    # Still leased to the failed drain: the sweep hands them over again once the lease runs out.
    assert sync_queue.inbox_events_waiting([e.pk for e in events], lease_seconds=60) == {e.pk for e in events}


# --- the web process's hand-off thread ------------------------------------------------------------------


def test_ids_that_pile_up_while_the_thread_sends_go_out_in_one_call(monkeypatch):
    sent, gate = [], threading.Event()

    def slow_signal(*, event_ids):
        gate.wait(5)  # the first call is in flight while more ids arrive
        sent.append(list(event_ids))
        return True

    monkeypatch.setattr(sync_queue, "inbox_events_signal", slow_signal)
    handoff = sync_queue._Handoff()
    handoff.put([1])
    for event_id in range(2, 6):
        handoff.put([event_id])
    gate.set()
    handoff.wait()

    assert [event_id for batch in sent for event_id in batch] == [1, 2, 3, 4, 5]
    assert len(sent) <= 2  # the four that arrived during the first send share one call


def test_the_thread_survives_a_failing_send_and_goes_on(monkeypatch, caplog):
    calls = []

    def flaky_signal(*, event_ids):
        calls.append(list(event_ids))
        if len(calls) == 1:
            raise RuntimeError("boom")
        return True

    monkeypatch.setattr(sync_queue, "inbox_events_signal", flaky_signal)
    handoff = sync_queue._Handoff()
    handoff.put([1])
    handoff.wait()
    handoff.put([2])
    handoff.wait()

    assert calls == [[1], [2]]
    assert "the sweep will hand them over" in caplog.text


def test_what_is_still_queued_at_exit_is_sent_by_the_exiting_thread(monkeypatch):
    sent = []
    monkeypatch.setattr(sync_queue, "inbox_events_signal", lambda *, event_ids: sent.append(list(event_ids)))
    handoff = sync_queue._Handoff()
    handoff._queue.put(7)  # queued, no thread started (as if it had died with the process's last work)

    handoff.flush()

    assert sent == [[7]]
    handoff.wait()  # nothing left unaccounted


def test_with_the_thread_off_the_event_is_handed_over_in_the_request(channel, queue, settings, monkeypatch):
    settings.INBOX_HANDOFF_THREAD = False
    monkeypatch.setattr(sync_queue._handoff, "put", lambda event_ids: pytest.fail("the thread was used"))

    store_feed_event(channel, "order-1")

    assert sync_queue.inbox_ready_count() == 1


# --- the sweep and scheduled jobs no scheduler moves -------------------------------------------------


def scheduled_order_sync(channel, queue, redis_conn, *, overdue_seconds: int) -> tuple[OrderSync, str]:
    """A waiting order whose retry job is in RQ's scheduled registry, due ``overdue_seconds`` ago."""
    sync = OrderSyncFactory(
        channel=channel,
        key="erp-1",
        status=OrderSync.Status.WAITING,
        next_attempt_at=timezone.now() - timedelta(seconds=overdue_seconds),
    )
    assert sync_queue.order_sync_enqueue(order_sync_id=sync.pk, kind=sync.kind, delay=60)
    registry = queue.scheduled_job_registry
    [job_id] = registry.get_job_ids()
    redis_conn.zadd(registry.key, {job_id: int(time.time()) - overdue_seconds})  # as if 60 s had passed
    return sync, job_id


def test_the_sweep_enqueues_a_retry_overdue_because_no_scheduler_runs(channel, queue, redis_conn, settings):
    settings.SYNC_SWEEP_AFTER_SECONDS = 20
    _, job_id = scheduled_order_sync(channel, queue, redis_conn, overdue_seconds=25)

    counts = inbox.inbox_sweep()

    assert counts["scheduled"] == 1
    assert queue.job_ids == [job_id]
    assert queue.scheduled_job_registry.get_job_ids() == []
    assert counts["orders"] == 0, "the order's own job was moved: no second one"


def test_the_sweep_leaves_a_retry_just_due_to_the_scheduler(channel, queue, redis_conn, settings):
    settings.SYNC_SWEEP_AFTER_SECONDS = 20
    _, job_id = scheduled_order_sync(channel, queue, redis_conn, overdue_seconds=5)

    counts = inbox.inbox_sweep()

    assert (counts["scheduled"], counts["orders"]) == (0, 0)
    assert queue.scheduled_job_registry.get_job_ids() == [job_id]
    assert queue.job_ids == []


def test_an_overdue_scheduled_job_whose_data_is_gone_leaves_the_registry(channel, queue, redis_conn, settings):
    settings.SYNC_SWEEP_AFTER_SECONDS = 20
    _, job_id = scheduled_order_sync(channel, queue, redis_conn, overdue_seconds=25)
    redis_conn.delete(f"rq:job:{job_id}")

    assert sync_queue.scheduled_jobs_rescue(overdue_seconds=20) == 0
    assert queue.scheduled_job_registry.get_job_ids() == []
