"""The poller's loop over channels (sync/feed.py feed_poll): one channel told to wait waits alone."""

from __future__ import annotations

import threading

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
