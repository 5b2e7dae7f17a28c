"""The poller's loop over channels (sync/feed.py feed_poll): one channel told to wait waits alone."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from sync import feed
from sync.feed import BatchResult, feed_poll
from tests.factories import SalesChannelFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_channel_told_to_wait_does_not_hold_back_the_others(redis_conn, monkeypatch):
    broken = SalesChannelFactory(code="broken", vtex_account_name="store-a")
    healthy = SalesChannelFactory(code="healthy", vtex_account_name="store-b")
    polled: list[str] = []
    stop = threading.Event()

    def batch(*, channel, client=None):
        polled.append(channel.code)
        if channel.code == "broken":
            return BatchResult(wait=60)  # e.g. refused credentials or a 429 with a long Retry-After
        if polled.count("healthy") >= 3:
            stop.set()
        return BatchResult(retrieved=1)  # not full: the poller sleeps between rounds

    monkeypatch.setattr(feed, "feed_channels", lambda channel_code=None: [broken, healthy])
    monkeypatch.setattr(feed, "feed_batch_poll", batch)
    poller = threading.Thread(target=lambda: feed_poll(stop=stop, sleep_seconds=0.05), daemon=True)
    poller.start()
    poller.join(timeout=10)
    stop.set()

    assert not poller.is_alive(), f"the healthy channel waited for the broken one: {polled}"
    assert polled.count("healthy") == 3 and polled.count("broken") == 1


@pytest.mark.parametrize("active", [True, False], ids=["unknown code", "inactive channel"])
def test_poll_feed_for_a_channel_it_cannot_poll_says_so_instead_of_waiting_forever(active):
    from django.core.management import CommandError, call_command

    SalesChannelFactory(code="shop", active=active)
    with pytest.raises(CommandError, match="does not exist, is inactive or has order download switched off"):
        call_command("poll_feed", "--channel", "nowhere" if active else "shop")


def test_a_paused_channel_switched_off_meanwhile_leaves_the_others_their_normal_pace(redis_conn, monkeypatch):
    broken = SalesChannelFactory(code="broken", vtex_account_name="store-a")
    healthy = SalesChannelFactory(code="healthy", vtex_account_name="store-b")
    listed = [broken, healthy]
    polled: list[str] = []
    stop = threading.Event()

    def batch(*, channel, client=None):
        polled.append(channel.code)
        if channel.code == "broken":
            listed.remove(broken)  # the operator switches it off
            return BatchResult(wait=0.01)
        if polled.count("healthy") >= 4:
            stop.set()
        return BatchResult(retrieved=1)

    monkeypatch.setattr(feed, "feed_channels", lambda channel_code=None: list(listed))
    monkeypatch.setattr(feed, "feed_batch_poll", batch)
    naps: list[float] = []
    monkeypatch.setattr(feed._AccountLocks, "wait", lambda self, stop_, seconds: naps.append(seconds))

    feed_poll(stop=stop, sleep_seconds=0.05)

    assert polled.count("healthy") == 4
    # Never a busy loop without sleep: once the switched-off channel is gone, the normal pace.
    assert naps and all(nap > 0 for nap in naps) and naps[1:] == [0.05] * (len(naps) - 1), naps


def test_waits_in_a_row_double(monkeypatch, settings):
    settings.SYNC_RETRY_MAX_SECONDS = 600
    monkeypatch.setattr(feed.time, "monotonic", lambda: 1000.0)
    first = feed._Pause.after(None, wait=60)
    second = feed._Pause.after(first, wait=60)
    third = feed._Pause.after(second, wait=60)
    assert [p.until - 1000 for p in (first, second, third)] == [60, 120, 240]
    assert feed._Pause.after(replace(third, streak=9), wait=60).until - 1000 == 600  # capped


def test_once_gives_up_on_a_channel_that_keeps_failing(redis_conn, monkeypatch):
    broken = SalesChannelFactory(code="broken", vtex_account_name="store-a")
    polled: list[str] = []
    monkeypatch.setattr(feed, "feed_channels", lambda channel_code=None: [broken])

    def slow_batch(*, channel, client=None):
        polled.append(1)
        time.sleep(0.003)  # a slow machine: the wait is used up before the round ends (CI flake, 2026-12-04)
        return BatchResult(wait=0.001)

    monkeypatch.setattr(feed, "feed_batch_poll", slow_batch)
    monkeypatch.setattr(feed._AccountLocks, "wait", lambda self, stop_, seconds: None)

    feed_poll(once=True)

    assert len(polled) == feed.ONCE_RETRIES + 1
