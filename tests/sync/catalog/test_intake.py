"""VARIO's catalog webhooks stored first, then coalesced into work items (sync.catalog.intake; catalog-sync.md
§3.5 steps 1, 2, 6), and their registration with VARIO beside the order webhooks."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import jwt
import pytest
from django.urls import reverse
from django.utils import timezone

from mappings.models import SkuMappingStatus, SyncType, TransferToggle
from sync import queue as sync_queue
from sync.catalog.events import catalog_event_of, catalog_webhook_events
from sync.catalog.intake import catalog_work_release_parked, catalog_work_request
from sync.catalog.models import CatalogTimelineEntry, CatalogWork
from sync.inbox import inbox_event_process
from sync.models import InboxEvent
from sync.registration import catalog_events_wanted
from tests.factories import CatalogWorkFactory, SalesChannelFactory, SkuMappingFactory

pytestmark = pytest.mark.django_db

SECRET = "vario-client-secret-for-the-tests-0123456789"
APP = "b1f3c0de-portal-app-identifier"
STOCK = "sales_channel.stockChange"
LISTING = "article(sales-channel-id=7).update"


@pytest.fixture(autouse=True)
def vario_app(settings):
    settings.VARIO_CLIENT_SECRET = SECRET
    settings.VARIO_APP_IDENTIFIER = APP
    settings.INBOX_HANDOFF_THREAD = False


def toggles(channel, *, stock: bool = True, price: bool = True) -> None:
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.UPLOAD_ARTICLE_STOCK).update(enabled=stock)
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.UPLOAD_ARTICLE_PRICE).update(enabled=price)


@pytest.fixture
def channel():
    channel = SalesChannelFactory(code="shop", vario_sales_channel_id="7")
    toggles(channel)
    return channel


def post_event(client, event: str, body) -> tuple[int, dict]:
    token = jwt.encode({"aud": APP, "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    response = client.post(
        reverse("webhook-vario", args=[event]),
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    return response.status_code, response.json()


def process(event_id: int, capture) -> InboxEvent:
    with capture(execute=True):
        inbox_event_process(event_id=event_id)
    return InboxEvent.objects.get(pk=event_id)


# --- the edge ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "article"),
    [
        ({"id": 77}, "77"),
        ({"entityId": "77"}, "77"),
        ({"articleId": 77, "priceId": 5501, "listingId": None, "categoryId": None}, "77"),
        ({"articleId": 78, "entityId": 79, "id": 80}, "78"),  # articleId first
        ({"entityId": 79, "id": 80}, "79"),  # then entityId
    ],
)
def test_a_catalog_event_is_stored_with_its_article_id(client, body, article):
    status, answer = post_event(client, "article-price.update", body)

    assert status == 200 and answer["accepted"]
    stored = InboxEvent.objects.get(pk=answer["eventId"])
    assert (stored.event, stored.entity_id, stored.status) == ("article-price.update", article, "pending")


@pytest.mark.parametrize("body", [{}, {"listingId": 901}, {"articleId": "abc"}, {"articleId": -3}, {"id": 1.5}])
def test_a_catalog_event_without_an_article_id_is_refused(client, body):
    status, answer = post_event(client, LISTING, body)

    assert status == 400 and "article" in answer["error"]
    assert not InboxEvent.objects.exists()


def test_event_names_are_read_as_the_catalog_flow_means_them():
    assert catalog_event_of("sales_channel.stockChange").kind == "stock"
    assert catalog_event_of("article-price.create").kind == "price"
    assert catalog_event_of("article(sales-channel-id=007).create").sales_channel_id == "7"
    for other in ("article.update", "article(sales-channel-id=7)-shelf.update", "article(sales-channel-id=x).update"):
        assert catalog_event_of(other) is None


# --- processing: coalesced work items ----------------------------------------------------------------------------


def test_a_stock_change_queues_the_article_for_every_channel_that_maps_it(
    client, channel, redis_conn, django_capture_on_commit_callbacks
):
    other = SalesChannelFactory(code="outlet", vario_sales_channel_id="8")
    toggles(other)
    unrelated = SalesChannelFactory(code="b2b", vario_sales_channel_id="9")
    toggles(unrelated)
    SkuMappingFactory(channel=channel, vario_article_id="77", vtex_sku_id=2077)
    SkuMappingFactory(channel=other, vario_article_id="77", vtex_sku_id=2077)
    _, answer = post_event(client, STOCK, {"id": 77})

    event = process(answer["eventId"], django_capture_on_commit_callbacks)

    assert event.status == InboxEvent.Status.PROCESSED
    work = CatalogWork.objects.order_by("channel__code")
    assert [(w.channel.code, w.topic, w.vario_article_id, w.state) for w in work] == [
        ("outlet", "stock", "77", "queued"),
        ("shop", "stock", "77", "queued"),
    ]
    assert sync_queue.catalog_push_queued(channel_id=channel.pk, topic="stock")
    assert not CatalogWork.objects.filter(channel=unrelated).exists()  # no mapping of article 77 there
    entry = CatalogTimelineEntry.objects.get(channel=channel)
    assert (entry.kind, entry.vtex_sku_id) == ("event", 2077) and STOCK in entry.title


def test_a_burst_for_one_article_is_one_item_eligible_a_debounce_after_the_last_event(channel, redis_conn):
    SkuMappingFactory(channel=channel, vario_article_id="77")
    start = timezone.now()

    for second in range(50):
        work = catalog_work_request(
            channel=channel,
            topic="stock",
            vario_article_id="77",
            debounce=5,
            now=start + timedelta(seconds=second / 50),
        )

    assert CatalogWork.objects.count() == 1
    assert (work.generation, work.state) == (50, "queued")
    assert work.eligible_at == start + timedelta(seconds=49 / 50 + 5)
    assert work.queued_at == start


def test_a_steady_stream_is_sent_no_later_than_the_debounce_cap(channel, settings, redis_conn):
    settings.CATALOG_DEBOUNCE_MAX_SECONDS = 20
    start = timezone.now()

    for second in range(0, 60, 4):
        work = catalog_work_request(
            channel=channel, topic="stock", vario_article_id="77", debounce=5, now=start + timedelta(seconds=second)
        )

    assert work.eligible_at == start + timedelta(seconds=20)


def test_an_event_while_the_batch_runs_makes_it_run_again_and_does_not_shorten_a_back_off(channel, redis_conn):
    running = CatalogWorkFactory(channel=channel, state="running", generation=3)
    later = timezone.now() + timedelta(minutes=2)
    backing_off = CatalogWorkFactory(channel=channel, attempts=2, eligible_at=later)

    running = catalog_work_request(
        channel=channel, topic="stock", vario_article_id=running.vario_article_id, debounce=5
    )
    backing_off = catalog_work_request(
        channel=channel, topic="stock", vario_article_id=backing_off.vario_article_id, debounce=5
    )

    assert (running.state, running.generation) == ("running", 4)
    assert (backing_off.state, backing_off.eligible_at) == ("queued", later)


def test_a_price_event_with_price_upload_off_is_not_queued_and_stock_still_is(
    client, channel, redis_conn, django_capture_on_commit_callbacks
):
    toggles(channel, stock=True, price=False)
    SkuMappingFactory(channel=channel, vario_article_id="77")
    _, price = post_event(client, "article-price.update", {"articleId": 77, "priceId": 5501})
    _, stock = post_event(client, STOCK, {"id": 77})

    price_event = process(price["eventId"], django_capture_on_commit_callbacks)
    process(stock["eventId"], django_capture_on_commit_callbacks)

    assert price_event.status == InboxEvent.Status.IGNORED  # §3.7 #11
    assert "price upload is switched off" in price_event.last_error
    assert list(CatalogWork.objects.values_list("topic", flat=True)) == ["stock"]


def test_an_unmapped_article_is_parked_at_once(client, channel, redis_conn, django_capture_on_commit_callbacks):
    SkuMappingFactory(channel=channel, vario_article_id="80", unmapped=True)
    _, answer = post_event(client, STOCK, {"id": 80})

    process(answer["eventId"], django_capture_on_commit_callbacks)

    work = CatalogWork.objects.get()
    assert (work.state, work.reason) == ("parked", "UNMAPPED")  # §3.7 #2: no remote call for it
    assert "unmapped" in work.message
    assert not sync_queue.catalog_push_queued(channel_id=channel.pk, topic="stock")


def test_an_article_no_channel_maps_is_ignored(client, channel, django_capture_on_commit_callbacks):
    _, answer = post_event(client, STOCK, {"id": 12345})

    event = process(answer["eventId"], django_capture_on_commit_callbacks)

    assert event.status == InboxEvent.Status.IGNORED
    assert "no SKU mapping for article 12345" in event.last_error
    assert not CatalogWork.objects.exists()


def test_a_listing_change_queues_matching_in_its_channel_only(
    client, channel, redis_conn, django_capture_on_commit_callbacks
):
    other = SalesChannelFactory(code="outlet", vario_sales_channel_id="8")
    toggles(other)
    _, answer = post_event(client, LISTING, {"articleId": 90, "listingId": 914})

    event = process(answer["eventId"], django_capture_on_commit_callbacks)

    assert event.status == InboxEvent.Status.PROCESSED
    work = CatalogWork.objects.get()
    assert (work.channel, work.topic, work.vario_article_id, work.state) == (channel, "match", "90", "queued")
    assert sync_queue.catalog_push_queued(channel_id=channel.pk, topic="match")


def test_a_listing_change_with_both_uploads_off_is_ignored(client, channel, django_capture_on_commit_callbacks):
    toggles(channel, stock=False, price=False)
    _, answer = post_event(client, LISTING, {"articleId": 90})

    assert process(answer["eventId"], django_capture_on_commit_callbacks).status == InboxEvent.Status.IGNORED
    assert not CatalogWork.objects.exists()


def test_parked_work_is_released_when_the_sku_is_mapped(channel, redis_conn, django_capture_on_commit_callbacks):
    CatalogWorkFactory(channel=channel, vario_article_id="80", parked=True)
    CatalogWorkFactory(channel=channel, vario_article_id="80", topic="price", parked=True)
    CatalogWorkFactory(channel=channel, vario_article_id="81", parked=True)

    with django_capture_on_commit_callbacks(execute=True):
        released = catalog_work_release_parked(channel=channel, vario_article_ids=["80"])

    assert released == 2
    states = dict(CatalogWork.objects.values_list("vario_article_id", "state").filter(topic="stock"))
    assert states == {"80": "queued", "81": "parked"}
    assert sync_queue.catalog_push_queued(channel_id=channel.pk, topic="price")


def test_a_waiting_job_due_later_does_not_hold_back_an_item_due_sooner(channel, redis_conn):
    assert sync_queue.catalog_push_enqueue(channel_id=channel.pk, topic="stock", delay=300)
    marker_job = redis_conn.get("portal:queued:" + sync_queue.catalog_push_marker(channel.pk, "stock"))

    assert sync_queue.catalog_push_enqueue(channel_id=channel.pk, topic="stock", delay=400)  # later: the same job
    assert redis_conn.get("portal:queued:" + sync_queue.catalog_push_marker(channel.pk, "stock")) == marker_job
    assert sync_queue.catalog_push_enqueue(channel_id=channel.pk, topic="stock", delay=1)  # sooner: a job of its own
    assert redis_conn.get("portal:queued:" + sync_queue.catalog_push_marker(channel.pk, "stock")) != marker_job


# --- registration -------------------------------------------------------------------------------------------


def test_catalog_webhooks_are_registered_only_for_channels_with_a_toggle_on(channel):
    toggles(channel, stock=True, price=False)
    quiet = SalesChannelFactory(code="quiet", vario_sales_channel_id="9")
    toggles(quiet, stock=False, price=False)
    prices = SalesChannelFactory(code="prices", vario_sales_channel_id="8")
    toggles(prices, stock=False, price=True)

    assert catalog_events_wanted() == [
        "article(sales-channel-id=7).create",
        "article(sales-channel-id=7).update",
        "article(sales-channel-id=8).create",
        "article(sales-channel-id=8).update",
        "article-price.create",
        "article-price.update",
        "sales_channel.stockChange",
    ]


def test_no_catalog_webhook_while_every_upload_is_off():
    assert catalog_webhook_events(stock_channels=[], price_channels=[""]) == []


def test_an_unmapped_mapping_state_is_named_in_the_parked_message(channel, redis_conn):
    mapping = SkuMappingFactory(channel=channel, vario_article_id="81", ambiguous=True)

    work = catalog_work_request(
        channel=channel, topic="price", vario_article_id="81", debounce=10, mapping=mapping, check_mapping=True
    )

    assert work.state == "parked" and SkuMappingStatus.AMBIGUOUS.label.lower() in work.message
