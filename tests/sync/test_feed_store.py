"""Storing a feed batch: one insert for new events, redeliveries absorbed, ids handed over (sync/feed.py)."""

from __future__ import annotations

import pytest

from mappings.models import SalesChannel
from sync import queue as sync_queue
from sync.clients.dtos import FeedItem
from sync.feed import feed_events_store
from sync.models import InboxEvent

pytestmark = pytest.mark.django_db(transaction=True)


def item(event_id: str, *, order_id: str = "1001-01", state: str = "ready-for-handling") -> FeedItem:
    return FeedItem(
        event_id=event_id,
        handle=f"handle-{event_id}",
        domain="Fulfillment",
        state=state,
        last_state="",
        order_id=order_id,
        last_change="2026-11-23T08:00:00Z",
        current_change="2026-11-23T08:00:01Z",
    )


def handed_over(redis_conn) -> list[int]:
    return [int(member) for member in redis_conn.zrange(sync_queue.INBOX_READY_KEY, 0, -1)]


def test_a_new_batch_is_stored_with_ids_and_handed_over(channel, redis_conn):
    new = feed_events_store(channel=channel, items=[item("e1"), item("e2", order_id="1002-01")])

    assert all(event.pk for event in new)
    assert sorted(e.dedup_key for e in InboxEvent.objects.all()) == ["vtex-feed:e1", "vtex-feed:e2"]
    assert handed_over(redis_conn) == sorted(event.pk for event in new)
    assert "handle" not in new[0].payload  # one-use handles are not kept


def test_a_redelivered_event_is_absorbed_and_the_rest_of_its_batch_stored(channel, redis_conn):
    (first,) = feed_events_store(channel=channel, items=[item("e1")])

    new = feed_events_store(channel=channel, items=[item("e1"), item("e2")])

    assert [event.dedup_key for event in new] == ["vtex-feed:e2"]
    assert InboxEvent.objects.count() == 2
    assert InboxEvent.objects.get(dedup_key="vtex-feed:e1").pk == first.pk
    assert handed_over(redis_conn) == [first.pk, new[0].pk]


def test_an_event_repeated_inside_one_batch_is_stored_once(channel, redis_conn):
    new = feed_events_store(channel=channel, items=[item("e1"), item("e1")])

    assert len(new) == 1
    assert InboxEvent.objects.count() == 1


def test_an_item_without_status_is_kept_as_ignored_and_not_handed_over(channel, redis_conn):
    (event,) = feed_events_store(channel=channel, items=[item("e1", state="")])

    assert (event.status, event.last_error) == (InboxEvent.Status.IGNORED, "feed item without a status")
    assert handed_over(redis_conn) == []


# --- the poll state's success fields ----------------------------------------------------------------


def test_full_batches_write_the_poll_state_at_most_once_per_interval_and_a_short_one_at_once(channel, settings):
    from sync.feed import BatchResult, FeedPollState, _SuccessLog

    settings.FEED_STATE_WRITE_SECONDS = 3600
    log = _SuccessLog()

    log.record(channel, BatchResult(retrieved=10, new=10))  # the first write is never held back
    log.record(channel, BatchResult(retrieved=10, new=7))
    assert (FeedPollState.objects.get(channel=channel).events_stored, FeedPollState.objects.get().last_batch_size) == (
        10,
        10,
    )

    log.record(channel, BatchResult(retrieved=3, new=3))  # not full: the poller is about to sleep
    state = FeedPollState.objects.get(channel=channel)
    assert (state.events_stored, state.last_batch_size) == (20, 3)


def test_what_is_held_back_is_written_when_the_poller_stops(channel, settings):
    from sync.feed import BatchResult, FeedPollState, _SuccessLog

    settings.FEED_STATE_WRITE_SECONDS = 3600
    log = _SuccessLog()
    log.record(channel, BatchResult(retrieved=10, new=10))
    log.record(channel, BatchResult(retrieved=10, new=10))

    log.flush()

    assert FeedPollState.objects.get(channel=channel).events_stored == 20


# --- the poller's clients ------------------------------------------------------------------------------


def test_the_poller_keeps_one_client_per_channel_until_its_credentials_change(channel):
    from sync.feed import _Clients

    clients = _Clients()
    first = clients.get(channel)
    assert clients.get(SalesChannel.objects.get(pk=channel.pk)) is first  # re-read each round: same client

    channel.vtex_app_token = "rotated-token"
    channel.save()
    second = clients.get(SalesChannel.objects.get(pk=channel.pk))

    assert second is not first
    assert second.http.headers["X-VTEX-API-AppToken"] == "rotated-token"
    assert clients.get(channel) is second


def test_a_changed_rate_limit_rebuilds_the_client(channel):
    from sync.feed import _Clients

    clients = _Clients()
    first = clients.get(channel)
    channel.vtex_rate_limits = {"feed": "5/1"}

    assert clients.get(channel) is not first


# --- the account lock while the poller waits ------------------------------------------------------------


def test_a_waiting_poller_keeps_its_lease_so_no_standby_takes_over(settings, redis_conn):
    import threading

    from sync.feed import POLL_LOCK, _AccountLocks

    settings.FEED_POLL_LOCK_SECONDS = 0.3
    active, standby = _AccountLocks(), _AccountLocks()
    assert active.acquire("store1")

    active.wait(threading.Event(), 0.8)  # more than twice the lease: only extensions keep it

    assert redis_conn.exists(POLL_LOCK.format(account="store1"))
    assert not standby.acquire("store1")
