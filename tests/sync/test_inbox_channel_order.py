"""The Channel Order API's asynchronous result (reference/vtex.md §7), as the inbox turns it into work.

Not only a hint: an EOI error reaches the portal nowhere else (the VTEX order just stays unapproved),
so an authenticated notification may fail the sync with VTEX's message (docs/outbound.md).
"""

from __future__ import annotations

import pytest

from mappings.models import ChannelKind
from sync.inbox import inbox_event_process
from sync.models import InboxEvent, OrderSync, TimelineEntry
from tests.factories import OrderLinkFactory, SalesChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting_sync(redis_conn):
    """A status sync that sent 'approved' through the Channel Order API and waits for VTEX's result."""
    channel = SalesChannelFactory(
        code="mkp",
        kind=ChannelKind.EXTERNAL_MARKETPLACE,
        connector_name="vario-portal",
        connector_endpoint="https://portal.example.com/webhooks/vtex/mkp",
    )
    link = OrderLinkFactory(channel=channel, marketplace_order_id="MKT-1001")
    return OrderSync.objects.create(
        kind=OrderSync.Kind.STATUS,
        channel=channel,
        key=link.erp_order_id,
        order_link=link,
        status=OrderSync.Status.WAITING,
        marketplace_status_sent="approved",
    )


def notified(sync: OrderSync, code: str, message: str) -> OrderSync:
    event = InboxEvent.objects.create(
        source=InboxEvent.Source.MARKETPLACE,
        event=f"channel-order.{code}",
        entity_id="MKT-1001",
        payload={"marketplaceOrderId": "MKT-1001", "code": code, "message": message, "flow": "ApproveOrder"},
        channel=sync.channel,
    )
    inbox_event_process(event_id=event.pk)
    assert InboxEvent.objects.get(pk=event.pk).status == InboxEvent.Status.PROCESSED
    return OrderSync.objects.get(pk=sync.pk)


def test_an_eoi_error_fails_the_sync_with_vtexs_message_and_a_retry_sends_the_status_again(waiting_sync):
    sync = notified(waiting_sync, "EOI001", "Unmapped error")

    assert (sync.status, sync.message) == (OrderSync.Status.FAILED, "Channel Order API EOI001: Unmapped error")
    assert sync.marketplace_status_sent == ""  # else the retry would wait for an answer that already came
    assert TimelineEntry.objects.filter(
        order_sync=sync, kind=TimelineEntry.Kind.EVENT, title="Channel Order API result EOI001: Unmapped error"
    ).exists()


def test_a_not_yet_code_defers_the_sync_to_send_the_status_again(waiting_sync):
    sync = notified(waiting_sync, "EOI011", "Waiting for manual authorization")

    assert sync.status == OrderSync.Status.WAITING
    assert sync.marketplace_status_sent == ""


def test_a_success_asks_for_a_run_which_reads_vtex_again(waiting_sync):
    sync = notified(waiting_sync, "SOI002", "Order approved successfully")

    assert sync.status == OrderSync.Status.PENDING
    assert sync.marketplace_status_sent == "approved"
