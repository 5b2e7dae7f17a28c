"""Watching the work in the browser: failed and parked orders, retries, an order's timeline, the feed poll."""

from __future__ import annotations

import re
from datetime import timedelta

import django_rq
from django.utils import timezone
from playwright.sync_api import Page, expect

from mappings.models import SalesChannel, SyncType, TransferToggle
from sync import queue as sync_queue
from sync.models import FeedPollState, InboxEvent, OrderSync, TimelineEntry
from tests.factories import InboxEventFactory, OrderLinkFactory, OrderSyncFactory, SalesChannelFactory

VTEX_ORDER = "1510581234567-01"
RESPONSE_EXCERPT = "Invoice value does not match the order total"


def queued_jobs() -> list[tuple[str, list]]:
    return [(job.func_name, list(job.args)) for job in django_rq.get_queue(sync_queue.QUEUE).jobs]


def order_sync(channel, key: str, status: str, **fields) -> OrderSync:
    return OrderSyncFactory(
        channel=channel,
        key=key,
        erp_order_id=key,
        erp_order_number=f"AU-{key}",
        status=status,
        generation=3,
        done_generation=3,
        **fields,
    )


def status_filter(page: Page, title: str, choice: str) -> None:
    page.locator(f'#changelist-filter details[data-filter-title="{title}"]').get_by_role(
        "link", name=choice, exact=True
    ).click()


def test_a_manager_filters_the_failed_and_parked_orders_and_retries_the_failed_one(admin_page: Page, redis_conn):
    page = admin_page
    shop = SalesChannelFactory(code="shop")
    failed = order_sync(shop, "1042", OrderSync.Status.FAILED, message="VTEX rejected the invoice: value mismatch")
    parked = order_sync(
        shop, "1043", OrderSync.Status.PARKED, needs_mapping="status:returned", message="No status mapping"
    )
    order_sync(shop, "1044", OrderSync.Status.DONE)

    page.get_by_role("link", name="Order syncs").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)

    status_filter(page, "status", "Needs mapping")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("AU-1043")
    expect(rows.locator("td.field-needs_mapping")).to_have_text("status:returned")

    status_filter(page, "status", "Failed")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("AU-1042")
    expect(rows.locator("td.field-short_message")).to_have_text("VTEX rejected the invoice: value mismatch")

    page.locator("#action-toggle").check()  # "select all" of the filtered list
    page.locator("select[name=action]").select_option(label="Retry the selected orders now")
    page.get_by_role("button", name="Go").click()

    # A confirmation page first: what happens to how many orders; nothing is queued before the click.
    expect(page.locator("#bulk-action-summary")).to_contain_text("1 order sync will be run again now.")
    assert queued_jobs() == []
    page.get_by_role("button", name="Yes, retry them").click()

    expect(page.locator("ul.messagelist")).to_have_text("1 order queued again.")
    expect(page.get_by_text("0 order syncs")).to_be_visible()  # the filter stays; nothing failed any more
    failed.refresh_from_db()
    assert (failed.status, failed.generation) == (OrderSync.Status.PENDING, 4)
    assert failed.timeline.filter(kind=TimelineEntry.Kind.OPERATOR, title="Retry requested by manager").exists()
    assert queued_jobs() == [("sync.jobs.order_status_sync_job", [failed.pk])]
    parked.refresh_from_db()
    assert parked.status == OrderSync.Status.PARKED


def test_a_manager_selects_done_and_failed_orders_and_the_done_one_is_left_out(admin_page: Page, redis_conn):
    page = admin_page
    shop = SalesChannelFactory(code="shop")
    failed = order_sync(shop, "1042", OrderSync.Status.FAILED, message="VTEX rejected the invoice")
    done = order_sync(shop, "1044", OrderSync.Status.DONE)

    page.goto("/admin/sync/ordersync/")
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option(label="Retry the selected orders now")
    page.get_by_role("button", name="Go").click()

    summary = page.locator("#bulk-action-summary")
    expect(summary).to_contain_text("1 order sync will be run again now.")
    expect(summary.locator("h2")).to_have_text(
        ["Left out: 1 order sync (done: open one and use “Retry now” to check it again)"]
    )
    page.get_by_role("button", name="Yes, retry them").click()

    expect(page.locator("ul.messagelist")).to_have_text("1 order queued again.")
    assert queued_jobs() == [("sync.jobs.order_status_sync_job", [failed.pk])]
    done.refresh_from_db()
    assert (done.status, done.generation) == (OrderSync.Status.DONE, 3)


def test_a_manager_retries_one_order_from_its_page(admin_page: Page, redis_conn):
    page = admin_page
    shop = SalesChannelFactory(code="shop")
    failed = order_sync(shop, "1042", OrderSync.Status.FAILED, message="VTEX rejected the invoice")

    page.goto(f"/admin/sync/ordersync/{failed.pk}/change/")
    expect(page.locator("input[name=vtex_pending], textarea[name=vtex_pending]")).to_have_count(0)  # read-only
    page.get_by_role("button", name="Retry now").click()

    expect(page.locator("ul.messagelist")).to_have_text("Queued again.")
    expect(page).to_have_url(re.compile(rf"/admin/sync/ordersync/{failed.pk}/change/$"))
    failed.refresh_from_db()
    assert (failed.status, failed.generation) == (OrderSync.Status.PENDING, 4)
    assert queued_jobs() == [("sync.jobs.order_status_sync_job", [failed.pk])]


def test_a_manager_processes_a_failed_inbox_event_again(admin_page: Page, redis_conn):
    page = admin_page
    shop = SalesChannelFactory(code="shop")
    events = {
        status: InboxEventFactory(
            entity_id=entity_id,
            channel=shop,
            status=status,
            attempts=5 if status == InboxEvent.Status.FAILED else 1,
            last_error="The ERP does not know 2046" if status == InboxEvent.Status.FAILED else "",
        )
        for status, entity_id in ((InboxEvent.Status.PROCESSED, "2044"), (InboxEvent.Status.FAILED, "2046"))
    }
    failed = events[InboxEvent.Status.FAILED]

    page.goto("/admin/sync/inboxevent/")
    status_filter(page, "status", "Failed")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td.field-short_error")).to_have_text("The ERP does not know 2046")

    rows.get_by_role("checkbox").check()
    page.locator("select[name=action]").select_option(label="Process the selected failed events again")
    page.get_by_role("button", name="Go").click()
    expect(page.locator("#bulk-action-summary")).to_contain_text("1 inbox event will be processed again.")
    page.get_by_role("button", name="Yes, process them again").click()

    expect(page.locator("ul.messagelist")).to_have_text("1 event queued again.")
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (InboxEvent.Status.PENDING, 0)
    assert redis_conn.zrange(sync_queue.INBOX_READY_KEY, 0, -1) == [str(failed.pk).encode()]
    assert queued_jobs() == [("sync.jobs.inbox_drain_job", [])]
    assert InboxEvent.objects.get(pk=events[InboxEvent.Status.PROCESSED].pk).status == InboxEvent.Status.PROCESSED


def test_an_order_link_page_shows_the_orders_timeline_in_order(admin_page: Page):
    page = admin_page
    shop = SalesChannelFactory(code="shop")
    link = OrderLinkFactory(channel=shop, vtex_order_id=VTEX_ORDER, erp_order_id="1042", erp_order_number="AU-1042")
    sync = order_sync(shop, "1042", OrderSync.Status.FAILED, vtex_order_id=VTEX_ORDER, order_link=link)
    other = order_sync(shop, "9999", OrderSync.Status.DONE, vtex_order_id="9999999999999-01")

    def entry(order_sync, title, **fields):
        ids = {"vtex_order_id": order_sync.vtex_order_id, "erp_order_id": order_sync.erp_order_id}
        TimelineEntry.objects.create(
            order_sync=order_sync, channel=shop, title=title, **{"kind": TimelineEntry.Kind.EVENT, **ids, **fields}
        )

    entry(sync, "VARIO: delivery note 2044 created", vtex_order_id="")  # before the VTEX id was known
    entry(other, "Another order's entry")
    entry(
        sync,
        f"VTEX POST /api/oms/pvt/orders/{VTEX_ORDER}/invoice → 400",
        kind=TimelineEntry.Kind.CALL,
        status_code=400,
        duration_ms=123.4,
        request_excerpt="invoiceNumber LS-2044 invoiceValue 2500",
        response_excerpt=RESPONSE_EXCERPT,
    )
    entry(sync, "Failed: VTEX rejected the invoice", kind=TimelineEntry.Kind.PROBLEM)

    page.goto("/admin/mappings/orderlink/")
    page.get_by_role("searchbox").fill(VTEX_ORDER)
    page.get_by_role("searchbox").press("Enter")
    page.get_by_role("link", name=VTEX_ORDER, exact=True).click()

    timeline = page.locator("#order-timeline tbody tr")
    expect(timeline).to_have_count(3)  # the other order's entry is not there
    expect(timeline.locator("td:nth-child(3)")).to_have_text(
        [
            "VARIO: delivery note 2044 created",
            f"VTEX POST /api/oms/pvt/orders/{VTEX_ORDER}/invoice → 400",
            "Failed: VTEX rejected the invoice",
        ]
    )
    call = timeline.nth(1)
    expect(call.locator("td").nth(1)).to_have_text("Remote call")
    expect(call.locator("td").nth(3)).to_have_text("400")
    expect(call.locator("td").nth(4)).to_have_text("123")
    # The excerpts are folded away until asked for.
    excerpt = call.get_by_text(RESPONSE_EXCERPT)
    expect(excerpt).to_be_hidden()
    call.get_by_text("show", exact=True).click()
    expect(excerpt).to_be_visible()
    # The order's sync work is listed with its status and a link to it.
    syncs = page.locator("#syncs-group tbody tr.has_original")
    expect(syncs).to_have_count(1)
    expect(syncs).to_contain_text("Failed")


def test_the_feed_poll_page_flags_a_stalled_channel(admin_page: Page, settings):
    page = admin_page
    settings.FEED_STALE_AFTER_SECONDS = 300
    now = timezone.now()
    long_ago = now - timedelta(hours=2)
    stalled = SalesChannelFactory(code="shop", name="Shop")
    never = SalesChannelFactory(code="never-polled", name="Never polled")
    healthy = SalesChannelFactory(code="outlet", name="Outlet")
    archived = SalesChannelFactory(code="archive", name="Archive", active=False)
    # Polling began long ago for the stalled and the never-polled channel (the clock starts at the last save).
    SalesChannel.objects.filter(pk__in=[stalled.pk, never.pk]).update(created_at=long_ago, updated_at=long_ago)
    TransferToggle.objects.filter(channel__in=[stalled, never], sync_type=SyncType.ORDER_DOWNLOAD).update(
        updated_at=long_ago
    )
    FeedPollState.objects.create(
        channel=stalled,
        last_success_at=now - timedelta(hours=1),
        last_batch_size=3,
        events_stored=120,
        last_error="VTEX answered 401 Unauthorized",
        last_error_at=now - timedelta(minutes=2),
        poller="web1:4242",
    )
    FeedPollState.objects.create(channel=healthy, last_success_at=now - timedelta(seconds=10), poller="web1:4242")
    FeedPollState.objects.create(channel=archived, last_success_at=long_ago, poller="web1:4242")

    page.goto("/admin/")
    page.get_by_role("link", name="Feed poll states").click()

    banner = page.locator("ul.messagelist li.error")
    expect(banner).to_contain_text("Feed poll stale")
    expect(banner).to_contain_text(re.compile(r"shop: STALE, last successful poll 36\d\ds ago"))
    expect(banner).to_contain_text("last error at")
    expect(banner).to_contain_text("VTEX answered 401 Unauthorized")
    expect(banner).to_contain_text("never-polled: STALE, never polled")
    expect(banner).not_to_contain_text("outlet")
    expect(banner).not_to_contain_text("archive")

    def health(channel):
        return page.locator("#result_list tbody tr", has_text=str(channel)).locator("td.field-poll_health")

    expect(health(stalled)).to_have_text("STALE (over 300s)")
    expect(health(healthy)).to_have_text("ok")
    expect(health(archived)).to_have_text("not polled (channel inactive or order download off)")
