"""The sync admin: order syncs with their timelines, the inbox, retries, the order link's timeline."""

from __future__ import annotations

from datetime import timedelta

import django_rq
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from mappings.models import SalesChannel
from sync import queue as sync_queue
from sync.models import FeedPollState, InboxEvent, OrderSync, TimelineEntry
from tests.factories import InboxEventFactory, OrderLinkFactory, OrderSyncFactory, SalesChannelFactory

pytestmark = pytest.mark.django_db

TOKEN = "VTEX-APP-TOKEN-SECRET-8472-never-shown"
VTEX_ORDER = "1510581234567-01"
ERP_ORDER = "1042"
REQUEST_EXCERPT = "invoiceNumber LS-2044 invoiceValue 2500"
RESPONSE_EXCERPT = "Invoice value does not match the order total"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The admin user's password is hashed for every test; the real hasher is not under test here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def shop():
    return SalesChannelFactory(code="shop", vtex_app_token=TOKEN, vario_sales_channel_id="7")


@pytest.fixture
def link(shop):
    return OrderLinkFactory(channel=shop, vtex_order_id=VTEX_ORDER, erp_order_id=ERP_ORDER, erp_order_number="AU-1042")


def order_sync(channel, *, key=ERP_ORDER, status=OrderSync.Status.FAILED, **fields) -> OrderSync:
    defaults = {
        "erp_order_id": key,
        "erp_order_number": f"AU-{key}",
        "generation": 3,
        "done_generation": 3,
        "message": "VTEX rejected the invoice",
    }
    return OrderSyncFactory(channel=channel, key=key, status=status, **{**defaults, **fields})


def entry(sync, title, *, vtex_order_id=VTEX_ORDER, erp_order_id=ERP_ORDER, channel=None, **fields) -> TimelineEntry:
    return TimelineEntry.objects.create(
        order_sync=sync,
        channel=channel or sync.channel,
        vtex_order_id=vtex_order_id,
        erp_order_id=erp_order_id,
        title=title,
        **{"kind": TimelineEntry.Kind.EVENT, **fields},
    )


@pytest.fixture
def failed(shop, link):
    """A failed status sync of the linked order, with a timeline."""
    sync = order_sync(shop, vtex_order_id=VTEX_ORDER, order_link=link)
    entry(sync, "VARIO: delivery note 2044 created", vtex_order_id="")  # before the VTEX id was known
    entry(
        sync,
        "VTEX POST /api/oms/pvt/orders/1510581234567-01/invoice → 400",
        kind=TimelineEntry.Kind.CALL,
        remote="vtex",
        method="POST",
        path=f"/api/oms/pvt/orders/{VTEX_ORDER}/invoice",
        status_code=400,
        duration_ms=123.4,
        request_excerpt=REQUEST_EXCERPT,
        response_excerpt=RESPONSE_EXCERPT,
    )
    entry(sync, "Failed: VTEX rejected the invoice", kind=TimelineEntry.Kind.PROBLEM)
    return sync


@pytest.fixture
def inbox(shop, failed):
    return {
        status: InboxEventFactory(
            entity_id=entity_id,
            channel=shop,
            status=status,
            last_error="The ERP does not know 2046" if status == InboxEvent.Status.FAILED else "",
            order_sync=failed if status == InboxEvent.Status.PROCESSED else None,
        )
        for status, entity_id in (
            (InboxEvent.Status.PROCESSED, "2044"),
            (InboxEvent.Status.PENDING, "2045"),
            (InboxEvent.Status.FAILED, "2046"),
        )
    }


@pytest.fixture
def data(link, failed, inbox):
    return {"link": link, "sync": failed, "event": inbox[InboxEvent.Status.FAILED]}


@pytest.fixture
def queue(redis_conn):
    return django_rq.get_queue(sync_queue.QUEUE)


PAGES = {
    "OrderSync changelist": ("admin:sync_ordersync_changelist", None),
    "OrderSync change": ("admin:sync_ordersync_change", "sync"),
    "InboxEvent changelist": ("admin:sync_inboxevent_changelist", None),
    "InboxEvent change": ("admin:sync_inboxevent_change", "event"),
    "OrderLink changelist": ("admin:mappings_orderlink_changelist", None),
    "OrderLink change": ("admin:mappings_orderlink_change", "link"),
}


def page_url(page: str, data: dict) -> str:
    name, obj = PAGES[page]
    return reverse(name, args=[data[obj].pk] if obj else [])


@pytest.mark.parametrize("page", PAGES)
def test_the_page_renders_for_a_superuser(admin_client, data, page):
    response = admin_client.get(page_url(page, data))

    assert response.status_code == 200


@pytest.mark.parametrize("page", PAGES)
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, data, page):
    response = client.get(page_url(page, data))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("page", PAGES)
def test_the_channels_app_token_never_appears_on_the_page(admin_client, data, page):
    html = admin_client.get(page_url(page, data)).content.decode()

    assert TOKEN not in html
    assert SalesChannel._meta.get_field("vtex_app_token").get_prep_value(TOKEN)[:10] not in html


def test_the_order_sync_changelist_shows_why_a_sync_failed(admin_client, data):
    html = admin_client.get(page_url("OrderSync changelist", data)).content.decode()

    assert "VTEX rejected the invoice" in html


def test_the_order_sync_page_shows_the_remote_calls_with_their_excerpts(admin_client, data):
    html = admin_client.get(page_url("OrderSync change", data)).content.decode()

    assert escape("VTEX POST /api/oms/pvt/orders/1510581234567-01/invoice → 400") in html
    assert REQUEST_EXCERPT in html
    assert RESPONSE_EXCERPT in html


def test_the_order_sync_page_carries_a_retry_button_posting_to_the_retry_view(admin_client, data):
    html = admin_client.get(page_url("OrderSync change", data)).content.decode()

    retry_url = reverse("admin:sync_ordersync_retry", args=[data["sync"].pk])
    assert f'<form method="post" action="{retry_url}" id="retry-form">' in html
    assert 'value="Retry now"' in html


@pytest.mark.parametrize("field", ["vtex_pending", "erp_refs", "erp_create_sent_at", "status", "generation"])
def test_the_order_sync_page_has_no_input_for_its_state(admin_client, data, field):
    response = admin_client.get(page_url("OrderSync change", data))

    assert field not in response.context["adminform"].form.fields
    assert f'name="{field}"' not in response.content.decode()


def test_the_inbox_changelist_shows_why_an_event_failed(admin_client, data):
    html = admin_client.get(page_url("InboxEvent changelist", data)).content.decode()

    assert "The ERP does not know 2046" in html


# --- the order link's timeline --------------------------------------------------------------------------


def test_the_order_link_page_shows_the_orders_timeline(admin_client, data):
    html = admin_client.get(page_url("OrderLink change", data)).content.decode()

    assert 'id="order-timeline"' in html
    assert escape("VTEX POST /api/oms/pvt/orders/1510581234567-01/invoice → 400") in html
    assert "Failed: VTEX rejected the invoice" in html


def test_the_order_link_timeline_includes_entries_known_only_by_the_erp_order_id(admin_client, data):
    html = admin_client.get(page_url("OrderLink change", data)).content.decode()

    assert "VARIO: delivery note 2044 created" in html


def test_the_order_link_timeline_shows_the_call_excerpts(admin_client, data):
    html = admin_client.get(page_url("OrderLink change", data)).content.decode()

    assert RESPONSE_EXCERPT in html


def test_the_order_link_timeline_leaves_out_other_orders(admin_client, data, shop):
    other = order_sync(shop, key="9999", vtex_order_id="9999999999999-01")
    entry(other, "Another order's entry", vtex_order_id="9999999999999-01", erp_order_id="9999")
    entry(other, "Another order with no ERP id", vtex_order_id="9999999999999-01", erp_order_id="")

    html = admin_client.get(page_url("OrderLink change", data)).content.decode()

    assert "Another order" not in html


def test_the_order_link_timeline_leaves_out_the_same_ids_on_another_channel(admin_client, data):
    elsewhere = SalesChannelFactory(code="elsewhere")
    other = order_sync(elsewhere, vtex_order_id=VTEX_ORDER)
    entry(other, "Same ids, other channel", channel=elsewhere)

    html = admin_client.get(page_url("OrderLink change", data)).content.decode()

    assert "Same ids, other channel" not in html


def test_the_order_link_timeline_shows_the_newest_entry_of_a_long_history(admin_client, data):
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            order_sync=data["sync"],
            channel=data["sync"].channel,
            vtex_order_id=VTEX_ORDER,
            erp_order_id=ERP_ORDER,
            kind=TimelineEntry.Kind.PROBLEM,
            title=f"Not yet ({n}/60): EOI011",
        )
        for n in range(500)
    )
    entry(data["sync"], "The newest entry", kind=TimelineEntry.Kind.OPERATOR)

    html = admin_client.get(page_url("OrderLink change", data)).content.decode()

    assert "The newest entry" in html


# --- retrying order syncs -------------------------------------------------------------------------------


def retry_selected(admin_client, syncs, *, confirm=True):
    """The changelist's action, then (confirm) the confirmation page's button."""
    url = reverse("admin:sync_ordersync_changelist")
    response = admin_client.post(url, {"action": "retry", "_selected_action": [s.pk for s in syncs]}, follow=True)
    if not confirm or not (response.context or {}).get("applicable_pks"):
        return response
    return admin_client.post(
        url, {"action": "retry", "_selected_action": response.context["applicable_pks"], "post": "yes"}, follow=True
    )


def retry_on_the_change_page(admin_client, sync):
    return admin_client.post(reverse("admin:sync_ordersync_retry", args=[sync.pk]))


def queued_jobs(queue) -> list[tuple[str, list]]:
    return [(job.func_name, list(job.args)) for job in queue.jobs]


def test_the_retry_action_moves_a_failed_sync_back_to_pending(
    admin_client, data, queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        retry_selected(admin_client, [data["sync"]])

    data["sync"].refresh_from_db()
    assert data["sync"].status == OrderSync.Status.PENDING


def test_the_retry_action_bumps_the_generation(admin_client, data, queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        retry_selected(admin_client, [data["sync"]])

    data["sync"].refresh_from_db()
    assert data["sync"].generation == 4


def test_the_retry_action_notes_the_operator_on_the_timeline(
    admin_client, admin_user, data, queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        retry_selected(admin_client, [data["sync"]])

    operator = data["sync"].timeline.filter(kind=TimelineEntry.Kind.OPERATOR).get()
    assert operator.title == f"Retry requested by {admin_user.get_username()}"


def test_the_retry_action_puts_one_job_in_the_queue(admin_client, data, queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        retry_selected(admin_client, [data["sync"]])

    assert queued_jobs(queue) == [("sync.jobs.order_status_sync_job", [data["sync"].pk])]


def test_the_retry_action_reports_how_many_orders_were_queued(
    admin_client, data, queue, django_capture_on_commit_callbacks
):
    second = order_sync(data["sync"].channel, key="1043")
    with django_capture_on_commit_callbacks(execute=True):
        response = retry_selected(admin_client, [data["sync"], second])

    assert "2 orders queued again." in response.content.decode()
    assert queue.count == 2


def test_the_retry_button_moves_the_sync_back_to_pending_with_a_new_generation(
    admin_client, data, queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = retry_on_the_change_page(admin_client, data["sync"])

    assert response.status_code == 302
    data["sync"].refresh_from_db()
    assert (data["sync"].status, data["sync"].generation) == (OrderSync.Status.PENDING, 4)


def test_the_retry_button_notes_the_operator_on_the_timeline(
    admin_client, admin_user, data, queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        retry_on_the_change_page(admin_client, data["sync"])

    operator = data["sync"].timeline.filter(kind=TimelineEntry.Kind.OPERATOR).get()
    assert operator.title == f"Retry requested by {admin_user.get_username()}"


def test_the_retry_button_puts_one_job_in_the_queue(admin_client, data, queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        retry_on_the_change_page(admin_client, data["sync"])

    assert queued_jobs(queue) == [("sync.jobs.order_status_sync_job", [data["sync"].pk])]


def test_the_retry_button_keeps_the_syncs_facts(admin_client, data, queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        retry_on_the_change_page(admin_client, data["sync"])

    data["sync"].refresh_from_db()
    assert (data["sync"].erp_order_id, data["sync"].vtex_order_id, data["sync"].order_link) == (
        ERP_ORDER,
        VTEX_ORDER,
        data["link"],
    )


def test_the_retry_button_goes_back_to_the_order_with_a_message(admin_client, data, queue):
    response = admin_client.post(reverse("admin:sync_ordersync_retry", args=[data["sync"].pk]), follow=True)

    assert response.redirect_chain[-1][0] == page_url("OrderSync change", data)
    assert "Queued again." in response.content.decode()


def test_the_retry_view_answers_only_a_post(admin_client, data, queue):
    response = admin_client.get(reverse("admin:sync_ordersync_retry", args=[data["sync"].pk]))

    assert response.status_code == 405
    assert queue.count == 0


def test_the_retry_view_needs_the_csrf_token(admin_user, data, queue):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)

    response = client.post(reverse("admin:sync_ordersync_retry", args=[data["sync"].pk]))

    assert response.status_code == 403
    assert queue.count == 0


def test_the_retry_view_answers_404_for_an_unknown_order(admin_client, data, queue):
    response = admin_client.post(reverse("admin:sync_ordersync_retry", args=[999999]))

    assert response.status_code == 404


def test_the_change_form_saves_nothing_even_for_a_superuser(
    admin_client, data, queue, django_capture_on_commit_callbacks
):
    """Before, "Retry now" submitted the change form: edited vtex_pending, erp_refs and erp_create_sent_at
    were saved, then the order retried with them."""
    data["sync"].vtex_pending = {"cancel_at": "2025-01-01T00:00:00+00:00"}
    data["sync"].save()
    url = page_url("OrderSync change", data)
    forged = {
        "vtex_pending": "{}",
        "erp_refs": '{"delivery_notes": ["999"]}',
        "erp_create_sent_at_0": "2020-01-01",
        "erp_create_sent_at_1": "00:00:00",
        "status": "done",
        "_retry": "Retry now",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, forged)

    assert response.status_code == 403
    data["sync"].refresh_from_db()
    assert data["sync"].vtex_pending == {"cancel_at": "2025-01-01T00:00:00+00:00"}
    assert (data["sync"].erp_refs, data["sync"].erp_create_sent_at) == ({}, None)
    assert data["sync"].status == OrderSync.Status.FAILED
    assert queue.count == 0


# --- the bulk retry's confirmation page ------------------------------------------------------------------


def test_the_bulk_retry_asks_first_and_queues_nothing_yet(
    admin_client, data, queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = retry_selected(admin_client, [data["sync"]], confirm=False)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/bulk_action_confirm.html"
    assert "1 order sync will be run again now." in response.content.decode()
    assert queue.count == 0
    data["sync"].refresh_from_db()
    assert data["sync"].status == OrderSync.Status.FAILED


def test_the_confirmation_page_lists_what_is_left_out_and_why(admin_client, data, queue):
    shop = data["sync"].channel
    done = order_sync(shop, key="1050", status=OrderSync.Status.DONE)
    running = order_sync(shop, key="1051", status=OrderSync.Status.RUNNING)
    parked = order_sync(shop, key="1052", status=OrderSync.Status.PARKED)

    response = retry_selected(admin_client, [data["sync"], done, running, parked], confirm=False)

    html = response.content.decode()
    assert "2 order syncs will be run again now." in html
    assert "Left out: 1 order sync (done: open one and use “Retry now” to check it again)" in html
    assert "Left out: 1 order sync (queued or running already)" in html
    assert sorted(response.context["applicable_pks"]) == sorted([data["sync"].pk, parked.pk])
    assert escape(str(done)) in html and escape(str(running)) in html


def test_confirming_retries_only_the_orders_it_applies_to(
    admin_client, data, queue, django_capture_on_commit_callbacks
):
    done = order_sync(data["sync"].channel, key="1050", status=OrderSync.Status.DONE)
    url = reverse("admin:sync_ordersync_changelist")
    # A forged confirmation naming the done order too: the rows are filtered again when it runs.
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {"action": "retry", "_selected_action": [data["sync"].pk, done.pk], "post": "yes"}, follow=True
        )

    assert "1 order queued again." in response.content.decode()
    assert queued_jobs(queue) == [("sync.jobs.order_status_sync_job", [data["sync"].pk])]
    done.refresh_from_db()
    assert (done.status, done.generation) == (OrderSync.Status.DONE, 3)


def test_a_selection_of_done_orders_only_says_there_is_nothing_to_do(admin_client, data, queue):
    done = order_sync(data["sync"].channel, key="1050", status=OrderSync.Status.DONE)

    response = retry_selected(admin_client, [done], confirm=False)

    html = response.content.decode()
    assert "Nothing to do:" in html
    assert 'value="Yes, retry them"' not in html


# --- retrying inbox events ------------------------------------------------------------------------------


def retry_events(admin_client, events, *, confirm=True):
    url = reverse("admin:sync_inboxevent_changelist")
    response = admin_client.post(url, {"action": "retry", "_selected_action": [e.pk for e in events]}, follow=True)
    if not confirm or not (response.context or {}).get("applicable_pks"):
        return response
    return admin_client.post(
        url, {"action": "retry", "_selected_action": response.context["applicable_pks"], "post": "yes"}, follow=True
    )


def test_the_inbox_retry_action_queues_only_the_failed_events(
    admin_client, inbox, queue, redis_conn, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        retry_events(admin_client, inbox.values())

    assert redis_conn.zrange(sync_queue.INBOX_READY_KEY, 0, -1) == [str(inbox[InboxEvent.Status.FAILED].pk).encode()]
    assert queued_jobs(queue) == [("sync.jobs.inbox_drain_job", [])]


def test_the_inbox_retry_action_moves_a_failed_event_back_to_pending(
    admin_client, inbox, queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        retry_events(admin_client, inbox.values())

    statuses = {e.entity_id: e.status for e in InboxEvent.objects.all()}
    assert statuses == {
        "2044": InboxEvent.Status.PROCESSED,
        "2045": InboxEvent.Status.PENDING,
        "2046": InboxEvent.Status.PENDING,
    }


def test_the_inbox_retry_action_says_when_nothing_was_failed(
    admin_client, inbox, queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = retry_events(admin_client, [inbox[InboxEvent.Status.PROCESSED]])

    html = response.content.decode()
    assert "Nothing to do:" in html
    assert "Left out: 1 inbox event (processed already)" in html
    assert queue.count == 0


def test_the_inbox_retry_asks_first_naming_what_it_leaves_out(admin_client, inbox, queue):
    response = retry_events(admin_client, inbox.values(), confirm=False)

    html = response.content.decode()
    assert "1 inbox event will be processed again." in html
    assert "Left out: 1 inbox event (processed already)" in html
    assert "Left out: 1 inbox event (waiting to be processed)" in html
    assert response.context["applicable_pks"] == [inbox[InboxEvent.Status.FAILED].pk]
    assert InboxEvent.objects.get(pk=inbox[InboxEvent.Status.FAILED].pk).status == InboxEvent.Status.FAILED


# --- who may retry --------------------------------------------------------------------------------------


@pytest.fixture
def viewer(client, django_user_model):
    """A staff user allowed to look at order syncs and the inbox, not to change them."""
    user = django_user_model.objects.create_user("viewer", password="viewer-password", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_ordersync", "view_inboxevent"]))
    client.force_login(user)
    return client


def test_a_user_who_may_only_view_cannot_use_the_retry_button(viewer, data, queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = viewer.post(reverse("admin:sync_ordersync_retry", args=[data["sync"].pk]))

    assert response.status_code == 403
    assert queue.count == 0


def test_a_user_who_may_only_view_sees_no_retry_button(viewer, data):
    html = viewer.get(page_url("OrderSync change", data)).content.decode()

    assert "Retry now" not in html


def test_a_user_who_may_only_view_cannot_post_a_confirmed_bulk_retry(
    viewer, data, queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        viewer.post(
            reverse("admin:sync_ordersync_changelist"),
            {"action": "retry", "_selected_action": [data["sync"].pk], "post": "yes"},
        )

    assert queue.count == 0


def test_a_user_who_may_only_view_cannot_retry_order_syncs_in_bulk(
    viewer, data, queue, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        retry_selected(viewer, [data["sync"]])

    assert queue.count == 0


def test_a_user_who_may_only_view_cannot_retry_inbox_events(viewer, inbox, queue, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        retry_events(viewer, inbox.values())

    assert queue.count == 0


# --- feed poll states: the stale indicator --------------------------------------------------------------


def polling_for_a_day(channel: SalesChannel) -> None:
    a_day_ago = timezone.now() - timedelta(days=1)
    SalesChannel.objects.filter(pk=channel.pk).update(created_at=a_day_ago, updated_at=a_day_ago)
    channel.transfer_toggles.update(updated_at=a_day_ago)


def test_the_feed_poll_states_show_which_channel_is_stale(admin_client, shop, settings):
    settings.FEED_STALE_AFTER_SECONDS = 300
    fresh = SalesChannelFactory(code="fresh")
    FeedPollState.objects.create(channel=fresh, last_success_at=timezone.now())
    polling_for_a_day(shop)
    FeedPollState.objects.create(channel=shop, last_success_at=timezone.now() - timedelta(hours=1))
    off = SalesChannelFactory(code="off", active=False)
    FeedPollState.objects.create(channel=off, last_success_at=timezone.now() - timedelta(days=9))

    html = admin_client.get(reverse("admin:sync_feedpollstate_changelist")).content.decode()

    assert html.count(">STALE<") == 1
    assert "not polled (channel inactive or order download off)" in html
    assert "Feed poll stale" in html and "shop: STALE, last successful poll" in html
    assert TOKEN not in html


def test_the_feed_poll_banner_names_a_stale_channel_that_never_polled(admin_client, shop):
    polling_for_a_day(shop)

    html = admin_client.get(reverse("admin:sync_feedpollstate_changelist")).content.decode()

    assert "shop: STALE, never polled" in html
