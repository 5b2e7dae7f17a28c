"""The push recipe with fake clients (sync.catalog.push; reference/catalog-sync.md §3.5)."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from mappings.models import SkuMapping, SyncType, TransferToggle
from sync import queue as sync_queue
from sync.catalog import push
from sync.catalog.models import CatalogTimelineEntry, CatalogWork
from sync.catalog.push import InventoryGuard, catalog_batch_run, catalog_sweep
from sync.clients.catalog_dtos import ErpSalesPrice
from sync.clients.errors import RetryableError
from tests.factories import (
    CatalogWorkFactory,
    PriceTableMappingFactory,
    SalesChannelFactory,
    SkuMappingFactory,
    WarehouseMappingFactory,
)
from tests.sync.catalog.fakes import (
    READ_AT,
    FakeLogistics,
    FakePricing,
    FakeVario,
    listing,
    not_found,
    rejected,
    retryable,
    stock_row,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def remotes(monkeypatch, settings, redis_conn):
    settings.CATALOG_INVENTORY_SPACING_SECONDS = 0
    fakes = {"vario": FakeVario(), "logistics": FakeLogistics(), "pricing": FakePricing()}

    def builder(name):
        def build(*args, recorder=None):
            fakes[name].recorder = recorder
            return fakes[name]

        return build

    monkeypatch.setattr(push, "vario_client", builder("vario"))
    monkeypatch.setattr(push, "vtex_logistics_client_for", builder("logistics"))
    monkeypatch.setattr(push, "vtex_pricing_client_for", builder("pricing"))
    return fakes


@pytest.fixture
def channel():
    channel = SalesChannelFactory(code="shop", vario_sales_channel_id="7")
    TransferToggle.objects.filter(channel=channel).update(enabled=True)
    WarehouseMappingFactory(channel=channel, vario_storage_id="1", vtex_warehouse_id="wh_main")
    WarehouseMappingFactory(channel=channel, vario_storage_id="3", vtex_warehouse_id="wh_main")
    WarehouseMappingFactory(channel=channel, vario_storage_id="5", vtex_warehouse_id="wh_store_berlin")
    channel.catalog_settings.base_price_group_id, channel.catalog_settings.currency = "1", "EUR"
    channel.catalog_settings.save()
    return channel


def mapped(channel, article: str, sku: int, **kwargs) -> SkuMapping:
    return SkuMappingFactory(channel=channel, vario_article_id=article, vtex_sku_id=sku, **kwargs)


def queued(channel, article: str, topic: str = "stock", **kwargs) -> CatalogWork:
    return CatalogWorkFactory(channel=channel, vario_article_id=article, topic=topic, **kwargs)


def work(article: str, topic: str = "stock") -> CatalogWork:
    return CatalogWork.objects.get(vario_article_id=article, topic=topic)


def run(channel, topic="stock", capture=None):
    if capture is None:
        return catalog_batch_run(channel_id=channel.pk, topic=topic)
    with capture(execute=True):
        return catalog_batch_run(channel_id=channel.pk, topic=topic)


# --- stock ---------------------------------------------------------------------------------------------------


def test_a_batch_reads_the_erp_once_and_writes_each_warehouse_of_each_sku(channel, remotes):
    for article, sku in (("77", 2077), ("78", 2078)):
        mapped(channel, article, sku)
        queued(channel, article)
    remotes["vario"].stock = [stock_row("77", "1", 9), stock_row("77", "3", 6), stock_row("78", "5", 2)]

    report = run(channel)

    assert remotes["vario"].calls == [("stock", ("77", "78"))]  # one query for the whole batch
    assert [(sku, wh, body["quantity"]) for sku, wh, body in remotes["logistics"].calls] == [
        (2077, "wh_main", 15),
        (2077, "wh_store_berlin", 0),
        (2078, "wh_main", 0),
        (2078, "wh_store_berlin", 2),
    ]
    assert remotes["logistics"].calls[0][2] == {
        "quantity": 15,
        "unlimited_quantity": False,
        "lead_time": "00:00:00",
        "date_utc_on_balance_system": READ_AT,  # when the ERP was read, not when it was sent (§3.4)
    }
    assert (report.taken, report.sent, report.ends) == (2, 4, {"done": 2})
    assert work("77").state == "done"
    sent = SkuMapping.objects.get(vario_article_id="77").last_stock_sent
    assert sent["wh_main"] == {
        "quantity": 15,
        "unlimitedQuantity": False,
        "leadTime": "00:00:00",
        "dateUtcOnBalanceSystem": "2026-03-03T09:12:04.512+00:00",
    }
    kinds = list(CatalogTimelineEntry.objects.filter(vario_article_id="77").values_list("kind", flat=True))
    assert kinds.count("call") == 3  # the ERP read and its two PUTs, each with status and duration
    assert "action" in kinds and "attempt" in kinds


def test_what_vtex_was_last_told_is_not_sent_again(channel, remotes):
    body = {"quantity": 15, "unlimitedQuantity": False, "leadTime": "00:00:00", "dateUtcOnBalanceSystem": "x"}
    mapped(channel, "77", 2077, last_stock_sent={"wh_main": body, "wh_store_berlin": {**body, "quantity": 1}})
    queued(channel, "77")
    remotes["vario"].stock = [stock_row("77", "1", 15)]

    run(channel)

    assert [(wh, b["quantity"]) for _, wh, b in remotes["logistics"].calls] == [("wh_store_berlin", 0)]


def test_an_unmapped_article_is_parked_without_any_call(channel, remotes):
    SkuMappingFactory(channel=channel, vario_article_id="80", unmapped=True)
    queued(channel, "80")

    run(channel)

    assert (work("80").state, work("80").reason) == ("parked", "UNMAPPED")
    assert remotes["vario"].calls == [] and remotes["logistics"].calls == []


def test_a_toggle_switched_off_since_queuing_skips_without_a_call(channel, remotes):
    mapped(channel, "77", 2077)
    queued(channel, "77")
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.UPLOAD_ARTICLE_STOCK).update(enabled=False)

    run(channel)

    assert (work("77").state, work("77").reason) == ("skipped", "TOGGLE_OFF")
    assert remotes["vario"].calls == []


def test_a_channel_without_a_warehouse_map_fails_visibly(remotes):
    channel = SalesChannelFactory(code="bare")
    TransferToggle.objects.filter(channel=channel).update(enabled=True)
    mapped(channel, "77", 2077)
    queued(channel, "77")

    run(channel)

    assert (work("77").state, work("77").reason) == ("failed", "NOT_CONFIGURED")


def test_negative_erp_stock_sends_zero_and_warns(channel, remotes, caplog):
    mapped(channel, "77", 2077)
    queued(channel, "77")
    remotes["vario"].stock = [stock_row("77", "1", -3)]

    with caplog.at_level(logging.WARNING, logger="sync.catalog.push"):
        run(channel)

    assert remotes["logistics"].calls[0][2]["quantity"] == 0
    assert "is -3" in caplog.text
    assert CatalogTimelineEntry.objects.filter(kind="problem", title__contains="is -3").exists()


def test_sellable_without_stock_is_sent_unlimited_when_configured(channel, remotes):
    channel.catalog_settings.unlimited_when_sellable_without_stock = True
    channel.catalog_settings.save()
    mapped(channel, "77", 2077)
    queued(channel, "77")
    remotes["vario"].listings = [listing("77", sellable=True)]

    run(channel)

    assert {body["unlimited_quantity"] for _, _, body in remotes["logistics"].calls} == {True}


def test_a_423_is_tried_again_after_3_seconds_from_a_fresh_read(channel, remotes):
    mapped(channel, "77", 2077)
    mapped(channel, "78", 2078)
    queued(channel, "77")
    queued(channel, "78")
    remotes["logistics"].fail((2077, "wh_main"), retryable(423, retry_after=3.0))
    before = timezone.now()

    run(channel)

    item = work("77")
    assert (item.state, item.reason, item.attempts) == ("queued", "INVENTORY_LOCKED", 1)
    assert timedelta(seconds=2.9) < item.eligible_at - before < timedelta(seconds=4)
    assert work("78").state == "done"  # the other SKUs go on
    # wh_store_berlin of 2077 was sent and recorded: the retry sends only wh_main.
    assert list(SkuMapping.objects.get(vario_article_id="77").last_stock_sent) == ["wh_store_berlin"]


def test_a_429_leaves_the_rest_of_the_batch_untried_until_the_route_opens(channel, remotes):
    for article in ("77", "78", "79"):
        mapped(channel, article, 2000 + int(article))
        queued(channel, article)
    remotes["logistics"].fail((2077, "wh_main"), retryable(429, retry_after=2.0))

    run(channel)

    assert [(sku, wh) for sku, wh, _ in remotes["logistics"].calls] == [(2077, "wh_main")]
    for article in ("77", "78", "79"):
        item = work(article)
        assert (item.state, item.reason, item.attempts) == ("queued", "ROUTE_WAIT", 0)  # not counted as a try


def test_5xx_backs_off_then_fails_with_the_last_error(channel, remotes, settings):
    settings.SYNC_MAX_RETRIES = 2
    mapped(channel, "77", 2077)
    queued(channel, "77")
    for _ in range(3):
        remotes["logistics"].fail((2077, "wh_main"), retryable(503))

    run(channel)
    assert (work("77").state, work("77").attempts) == ("queued", 1)
    for _ in range(2):
        CatalogWork.objects.filter(vario_article_id="77").update(eligible_at=timezone.now())
        run(channel)

    item = work("77")
    assert item.state == "failed" and item.message.startswith("Gave up after 2 retries")


def test_a_400_fails_with_vtexs_body_and_no_retry(channel, remotes):
    mapped(channel, "77", 2077)
    queued(channel, "77")
    remotes["logistics"].fail((2077, "wh_main"), rejected(400, '{"error": {"message": "quantity invalid"}}'))

    run(channel)

    item = work("77")
    assert (item.state, item.reason) == ("failed", "VTEX_REJECTED")
    assert "quantity invalid" in item.message


def test_an_unknown_warehouse_fails_the_item_and_the_other_warehouse_is_still_sent(channel, remotes):
    mapped(channel, "77", 2077)
    queued(channel, "77")
    remotes["logistics"].fail((2077, "wh_main"), not_found("LOG404", "Warehouse not found"))

    run(channel)

    item = work("77")
    assert (item.state, item.reason) == ("failed", "UNKNOWN_WAREHOUSE")  # §3.7 #6a: no retry loop
    assert [wh for _, wh, _ in remotes["logistics"].calls] == ["wh_main", "wh_store_berlin"]
    assert list(SkuMapping.objects.get(vario_article_id="77").last_stock_sent) == ["wh_store_berlin"]


def test_a_sku_vtex_does_not_know_is_unmapped_matched_again_and_parked(channel, remotes):
    mapped(channel, "77", 2077)
    queued(channel, "77")
    remotes["logistics"].fail((2077, "wh_main"), not_found("SBX-LOG-SKU-NOT-FOUND", "SKU not found"))

    run(channel)

    mapping = SkuMapping.objects.get(vario_article_id="77")
    assert (mapping.status, mapping.vtex_sku_id) == ("unmapped", None)
    assert (work("77").state, work("77").reason) == ("parked", "UNMAPPED")
    assert work("77", "match").state == "queued"  # re-resolved (§3.5 step 5)
    assert len(remotes["logistics"].calls) == 1  # no other warehouse of a SKU VTEX does not know


def test_events_during_the_run_queue_the_item_again(channel, remotes, monkeypatch):
    mapped(channel, "77", 2077)
    queued(channel, "77")
    original = remotes["vario"].get_stock

    def stock_and_an_event(ids):
        CatalogWork.objects.filter(vario_article_id="77").update(generation=5, last_event_at=timezone.now())
        return original(ids)

    monkeypatch.setattr(remotes["vario"], "get_stock", stock_and_an_event)

    run(channel)

    item = work("77")
    assert (item.state, item.done_generation) == ("queued", 1)


def test_an_erp_outage_retries_the_whole_batch(channel, remotes):
    mapped(channel, "77", 2077)
    queued(channel, "77")
    remotes["vario"].fail("stock", RetryableError("down", remote="vario", method="POST", path="/q", status=503))

    run(channel)

    assert (work("77").state, work("77").reason, work("77").attempts) == ("queued", "ERP_UNAVAILABLE", 1)
    assert remotes["logistics"].calls == []


def test_a_batch_takes_at_most_the_batch_size_and_queues_the_rest_at_once(
    channel, remotes, settings, django_capture_on_commit_callbacks
):
    settings.CATALOG_BATCH_SIZE = 3
    for n in range(5):
        mapped(channel, str(100 + n), 3000 + n)
        queued(channel, str(100 + n))

    report = run(channel, capture=django_capture_on_commit_callbacks)

    assert report.taken == 3
    assert CatalogWork.objects.filter(state="queued").count() == 2
    assert sync_queue.catalog_push_queued(channel_id=channel.pk, topic="stock")


def test_items_not_yet_eligible_wait_for_a_later_batch(channel, remotes):
    mapped(channel, "77", 2077)
    queued(channel, "77", eligible_at=timezone.now() + timedelta(seconds=30))

    assert run(channel).taken == 0
    assert work("77").state == "queued"


# --- prices --------------------------------------------------------------------------------------------------


def price_row(article: str, gross, *, group="1", id="5501", net=None, from_quantity="1") -> ErpSalesPrice:
    return ErpSalesPrice(
        id=id,
        article_id=article,
        price_group_id=group,
        sales_channel_id=None,
        account_id=None,
        currency_code="EUR",
        net_price=Decimal(str(net)) if net is not None else None,
        gross_price=Decimal(str(gross)),
        price_base="GROSS_PRICE",
        from_quantity=Decimal(from_quantity),
        valid_from=None,
        valid_until=None,
        special_offer=False,
    )


def test_a_price_is_sent_whole_and_recorded(channel, remotes):
    PriceTableMappingFactory(channel=channel, vtex_price_table="b2b", vario_price_group_id="4", price_mode="net")
    mapped(channel, "77", 2077)
    queued(channel, "77", topic="price")
    remotes["vario"].prices = [
        price_row("77", "19.99"),
        price_row("77", "16.9", group="4", id="5510", net="14.20"),
        price_row("77", "16.07", group="4", id="5511", net="13.50", from_quantity="10"),
    ]

    run(channel, "price")

    [(sku, base, list_price, fixed)] = remotes["pricing"].calls
    assert (sku, base, list_price) == (2077, Decimal("19.99"), None)
    assert [(f.trade_policy_id, f.value, f.min_quantity) for f in fixed] == [
        ("b2b", Decimal("14.20"), 1),
        ("b2b", Decimal("13.50"), 10),
    ]
    assert SkuMapping.objects.get(vario_article_id="77").last_price_sent == {
        "basePrice": 19.99,
        "fixedPrices": [
            {"tradePolicyId": "b2b", "value": 14.2, "minQuantity": 1},
            {"tradePolicyId": "b2b", "value": 13.5, "minQuantity": 10},
        ],
    }
    assert work("77", "price").state == "done"

    queued_again = CatalogWork.objects.filter(topic="price")
    queued_again.update(state="queued", eligible_at=timezone.now())
    run(channel, "price")
    assert len(remotes["pricing"].calls) == 1  # unchanged: not sent again


def test_an_invalid_price_fails_without_a_call(channel, remotes):
    mapped(channel, "77", 2077)
    queued(channel, "77", topic="price")
    remotes["vario"].prices = [price_row("77", "0")]

    run(channel, "price")

    assert (work("77", "price").state, work("77", "price").reason) == ("failed", "INVALID_PRICE")
    assert remotes["pricing"].calls == []


def test_a_price_sku_vtex_does_not_know_is_unmapped(channel, remotes):
    mapped(channel, "77", 2077)
    queued(channel, "77", topic="price")
    remotes["vario"].prices = [price_row("77", "19.99")]
    remotes["pricing"].fail(2077, not_found("SBX-SKU-NOT-FOUND", "SKU not found"))

    run(channel, "price")

    assert work("77", "price").state == "parked"
    assert SkuMapping.objects.get(vario_article_id="77").status == "unmapped"


def test_refused_credentials_fail_the_rest_of_the_batch_without_calls(channel, remotes):
    for article in ("77", "78"):
        mapped(channel, article, 2000 + int(article))
        queued(channel, article, topic="price")
        remotes["vario"].prices.append(price_row(article, "19.99", id=f"55{article}"))
    remotes["pricing"].fail(2077, rejected(403, "Forbidden"))

    run(channel, "price")

    assert {w.reason for w in CatalogWork.objects.all()} == {"VTEX_FORBIDDEN"}
    assert len(remotes["pricing"].calls) == 1


def test_a_channel_without_price_configuration_fails_visibly(channel, remotes):
    channel.catalog_settings.base_price_group_id = ""
    channel.catalog_settings.save()
    mapped(channel, "77", 2077)
    queued(channel, "77", topic="price")

    run(channel, "price")

    assert (work("77", "price").state, work("77", "price").reason) == ("failed", "NOT_CONFIGURED")


# --- the inventory guard, the sweep, the release ---------------------------------------------------------------


def test_the_guard_keeps_one_write_in_flight_and_spaces_writes_of_a_pair(settings, redis_conn):
    settings.CATALOG_INVENTORY_SPACING_SECONDS = 0.3
    guard, other = InventoryGuard(account="demostore"), InventoryGuard(account="demostore")

    assert guard.acquire(sku=2077, warehouse="wh_main") is None
    wait = other.acquire(sku=2077, warehouse="wh_main")  # in flight elsewhere: come back later
    assert wait is not None and 0 < wait <= 0.3
    assert other.acquire(sku=2077, warehouse="wh_store_berlin") is None  # another pair is free
    guard.release(sku=2077, warehouse="wh_main")
    started = timezone.now()
    assert other.acquire(sku=2077, warehouse="wh_main") is None  # waits out the spacing, then writes
    assert timezone.now() - started >= timedelta(seconds=0.2)


def test_the_sweep_requeues_items_of_a_dead_batch_and_queues_jobs_for_overdue_items(channel, settings, redis_conn):
    settings.SYNC_SWEEP_AFTER_SECONDS = 1
    old = timezone.now() - timedelta(seconds=30)
    dead = queued(channel, "77", state="running", run_token="deadbeef", started_at=old)
    overdue = queued(channel, "78", topic="price", eligible_at=old)
    redis_conn.set("portal:lock:catalog-run:alive", "x")
    alive = queued(channel, "79", state="running", run_token="alive", started_at=old)

    counts = catalog_sweep()

    assert counts == {"rescued": 1, "jobs": 2}
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.state, alive.state) == ("queued", "running")
    assert sync_queue.catalog_push_queued(channel_id=channel.pk, topic=overdue.topic)
    assert sync_queue.catalog_push_queued(channel_id=channel.pk, topic="stock")  # the rescued item's job
    assert catalog_sweep() == {"rescued": 0, "jobs": 0}  # both jobs wait already


def test_saving_a_mapping_by_hand_releases_its_parked_work(channel, redis_conn, django_capture_on_commit_callbacks):
    mapping = SkuMappingFactory(channel=channel, vario_article_id="80", unmapped=True)
    queued(channel, "80", parked=True)

    with django_capture_on_commit_callbacks(execute=True):
        mapping.vtex_sku_id = 2080
        mapping.sku_set_by_hand(by="tester")
        mapping.save()

    assert work("80").state == "queued"
    assert sync_queue.catalog_push_queued(channel_id=channel.pk, topic="stock")


def test_the_sweep_adds_a_job_when_the_waiting_one_is_due_much_later(channel, settings, redis_conn):
    settings.SYNC_SWEEP_AFTER_SECONDS = 1
    queued(channel, "78", eligible_at=timezone.now() - timedelta(seconds=30))
    sync_queue.catalog_push_enqueue(channel_id=channel.pk, topic="stock", delay=600)  # another item's back-off
    marker = "portal:queued:" + sync_queue.catalog_push_marker(channel.pk, "stock")
    later_job = redis_conn.get(marker)

    catalog_sweep()

    assert redis_conn.get(marker) != later_job  # a job due now for the overdue item
