"""The hand-over from stored events to the workers: the ready set, drain jobs, batches (sync/inbox.py)."""

from __future__ import annotations

import django_rq
import pytest
from django.db import OperationalError

from sync import inbox, jobs
from sync.inbox import inbox_event_store, inbox_events_drain
from sync.models import InboxEvent, OrderSync
from tests.factories import SalesChannelFactory

pytestmark = pytest.mark.django_db(transaction=True)
DRAIN = "sync.jobs.inbox_drain_job"


@pytest.fixture
def queue(redis_conn):
    return django_rq.get_queue(jobs.QUEUE)


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
    return event


def drain_jobs(queue) -> int:
    return sum(job.func_name == DRAIN for job in queue.jobs)


def test_stored_events_wait_for_one_drain_job_however_many_arrive(channel, queue):
    for number in range(5):
        store_feed_event(channel, f"order-{number}")

    assert (jobs.inbox_ready_count(), drain_jobs(queue)) == (5, 1)


def test_a_drain_processes_its_batch_oldest_first(channel, queue):
    events = [store_feed_event(channel, f"order-{number}") for number in range(3)]

    assert inbox_events_drain(batch_size=10) == 3

    processed = InboxEvent.objects.filter(status=InboxEvent.Status.PROCESSED).order_by("processed_at", "pk")
    assert [event.pk for event in processed] == [event.pk for event in events]
    assert set(OrderSync.objects.values_list("key", flat=True)) == {"order-0", "order-1", "order-2"}
    assert jobs.inbox_ready_count() == 0


def test_a_drain_that_leaves_events_behind_queues_the_next_drain_before_it_works(channel, queue):
    for number in range(5):
        store_feed_event(channel, f"order-{number}")
    queue.empty()  # the first drain job is running now

    assert inbox_events_drain(batch_size=2) == 2

    assert (jobs.inbox_ready_count(), drain_jobs(queue)) == (3, 1)


def test_an_event_signalled_after_the_take_arms_a_new_drain(channel, queue):
    store_feed_event(channel, "order-1")
    queue.empty()
    jobs.inbox_events_take(count=10)  # the running drain cleared the flag when it took its batch

    store_feed_event(channel, "order-2")

    assert drain_jobs(queue) == 1


def test_one_events_unexpected_error_fails_it_visibly_and_the_batch_goes_on(channel, queue, monkeypatch):
    broken, fine = store_feed_event(channel, "order-broken"), store_feed_event(channel, "order-fine")
    process = inbox.inbox_event_process

    def flaky(*, event_id: int) -> None:
        if event_id == broken.pk:
            raise KeyError("surprise")
        process(event_id=event_id)

    monkeypatch.setattr(inbox, "inbox_event_process", flaky)

    inbox_events_drain(batch_size=10)

    broken.refresh_from_db()
    assert broken.status == InboxEvent.Status.FAILED
    assert broken.last_error == "Unexpected error: KeyError: 'surprise'"
    assert InboxEvent.objects.get(pk=fine.pk).status == InboxEvent.Status.PROCESSED


def test_a_finished_drain_forgets_what_it_took(channel, queue, redis_conn):
    store_feed_event(channel, "order-1")

    inbox_events_drain(batch_size=10)

    assert redis_conn.zcard(jobs.INBOX_TAKEN_KEY) == 0


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
    assert jobs.inbox_ready_count() == 1


def test_the_database_failing_stops_the_batch_with_its_events_still_pending(channel, queue, redis_conn, monkeypatch):
    events = [store_feed_event(channel, f"order-{number}") for number in range(2)]

    def down(*, event_id: int) -> None:
        raise OperationalError("database is locked")

    monkeypatch.setattr(inbox, "inbox_event_process", down)

    with pytest.raises(OperationalError):
        inbox_events_drain(batch_size=10)

    assert set(InboxEvent.objects.values_list("status", flat=True)) == {InboxEvent.Status.PENDING}
    # Still leased to the failed drain: the sweep hands them over again once the lease runs out.
    assert jobs.inbox_events_waiting([e.pk for e in events], lease_seconds=60) == {e.pk for e in events}
