"""Stock and prices end to end (issue #16, reference/catalog-sync.md §3.7): the sandbox's VARIO fires its catalog
webhooks at the portal (live server), a real RQ worker drains them, batches the work and writes to the sandbox's
VTEX Logistics and Pricing; the final VTEX state is read through the control API.

Scenarios of §3.7 covered here: 1 (burst), 2 (unmapped SKU released), 3 (reservations), 4 (negative stock),
5 (list price below the price), 6a and 6b (unknown warehouse), 7 (429), 9 (duplicates and reordering),
10 (500 after apply), 11 (toggle off), 12 (sellable without stock), 13 (price validation), 14 (fixed prices per
table). Not here: 8 (the initial sync, a bulk-run kind: tests/e2e/test_catalog_bulk.py, at 30 SKUs;
10,000 is the benchmark's size).
"""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest
from django.urls import reverse

from mappings import checks
from mappings.models import PriceTableMapping, SkuMapping, SyncType, TransferToggle, WarehouseMapping
from sandbox.harness import Sim
from sync.catalog.checks import catalog_checks_register
from sync.catalog.models import CatalogTimelineEntry, CatalogWork
from sync.catalog.skus import sku_mappings_match
from sync.models import InboxEvent
from sync.registration import vario_webhooks_register
from tests.e2e.conftest import sandbox_channel
from tests.support.stack import wait_until

RED_M, RED_M_SKU = 77, 2077  # SKU-RED-M: storage 1 12 in stock, 3 reserved; storage 3 6; storage 9 4
INVENTORY_PUT = "/api/logistics/pvt/inventory/skus/{sku}/warehouses/{warehouse}"


# --- the stack ------------------------------------------------------------------------------------------------


def _spec_of(path: str) -> tuple[str, str, str | None]:
    """(spec, path as the spec writes it, host) of a request the portal sent to the sandbox's VTEX."""
    if path.startswith("/api/logistics/"):
        return "logistics", path, None
    if path.startswith("/api/catalog"):
        return "catalog", path, None
    if path == "/pricing/tables":
        return "pricing", path, "https://api.vtex.com/demostore/pricing"  # the operation's own server
    if path.startswith("/pricing/"):
        return "pricing", path, None
    if path.startswith("/api/order-integration/"):
        return "marketplace", path, None
    return "orders", path, None


@pytest.fixture
def sim(sandbox_url):
    """The control API; afterwards every request the portal sent to VTEX (Logistics, Pricing, Catalog
    included) must match VTEX's official OpenAPI files (design §6)."""
    from tests.support.openapi import validate_vtex_request

    sim = Sim(sandbox_url)
    yield sim
    for call in sim.get("requests", remote="vtex", limit=10000):
        spec, path, host = _spec_of(call["path"])
        body = json.loads(call["requestBody"]) if call["requestBody"] else None
        validate_vtex_request(spec, call["method"], path, query=dict(parse_qsl(call["query"])), body=body, host=host)


def enable(channel, *, stock: bool = True, price: bool = True) -> None:
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.UPLOAD_ARTICLE_STOCK).update(enabled=stock)
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.UPLOAD_ARTICLE_PRICE).update(enabled=price)


@pytest.fixture
def shop(stack_settings, live_sandbox, live_server, sim, redis_conn):
    """The demo channel set up for stock and prices as reference §3.1's example: storages 1 and 3 → wh_main,
    5 → wh_store_berlin, 9 unmapped; base price group 1 gross in EUR, the German RRP as list price; both uploads
    on, debounced 1 s; its articles matched with VTEX's SKUs; every webhook registered with VARIO."""
    channel = sandbox_channel(live_sandbox)
    enable(channel)
    settings = channel.catalog_settings
    settings.stock_debounce_seconds = settings.price_debounce_seconds = 1
    settings.base_price_group_id, settings.currency = "1", "EUR"
    settings.list_price_source, settings.list_price_country = "rrp", "DEU"
    settings.save()
    for storage, warehouse in (("1", "wh_main"), ("3", "wh_main"), ("5", "wh_store_berlin")):
        WarehouseMapping.objects.create(channel=channel, vario_storage_id=storage, vtex_warehouse_id=warehouse)
    sku_mappings_match(channel=channel)
    vario_webhooks_register(base_url=live_server.url)
    return channel


def stock(sim: Sim, article: int, storage: str, in_stock, reserved=0, *, webhooks: bool = True) -> None:
    change = {"articleId": article, "storageId": storage, "quantityInStock": in_stock, "reservedQuantity": reserved}
    sim.post("vario/stock", {"changes": [change], "webhooks": webhooks})


def inventory(sim: Sim, sku: int, warehouse: str) -> dict | None:
    rows = sim.get(f"vtex/catalog/skus/{sku}")["inventory"]
    return next((row for row in rows if row["warehouseId"] == warehouse), None)


def quantity(sim: Sim, sku: int, warehouse: str):
    row = inventory(sim, sku, warehouse)
    return None if row is None else row["totalQuantity"]


def vtex_price(sim: Sim, sku: int) -> dict | None:
    return sim.get(f"vtex/catalog/skus/{sku}")["price"]


def puts(sim: Sim, path: str) -> list[dict]:
    return [r for r in sim.get("requests", remote="vtex", method="PUT", path=path, limit=10000) if r["path"] == path]


def settled(channel, *, topic: str | None = None):
    """True once no catalog work of the channel is queued or running."""
    open_work = CatalogWork.objects.filter(channel=channel, state__in=CatalogWork.OPEN)
    if topic:
        open_work = open_work.filter(topic=topic)
    return not open_work.exists()


def work(channel, article: int, topic: str) -> CatalogWork | None:
    return CatalogWork.objects.filter(channel=channel, vario_article_id=str(article), topic=topic).first()


def settle(channel, *, seconds: float = 3.0, timeout: float = 60) -> None:
    """Wait until the channel's work has been idle for ``seconds`` (late deliveries included)."""
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        pending = InboxEvent.objects.filter(status=InboxEvent.Status.PENDING).exists()
        if settled(channel) and not pending:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= seconds:
                return
        else:
            quiet_since = None
        time.sleep(0.2)
    raise AssertionError("catalog work did not settle")


# --- 1 -------------------------------------------------------------------------------------------------------


def test_1_a_burst_of_stock_changes_is_one_write_per_warehouse_with_the_last_value(sim, shop, worker):
    stock(sim, RED_M, "3", 0, webhooks=False)
    changes = [
        {"articleId": RED_M, "storageId": "1", "quantityInStock": round(20 - 20 * n / 49), "reservedQuantity": 0}
        for n in range(50)
    ]

    sim.post("vario/stock", {"changes": changes, "withinSeconds": 1})

    wait_until(lambda: quantity(sim, RED_M_SKU, "wh_main") == 0, message="VTEX shows the last ERP value", timeout=60)
    settle(shop)
    writes = puts(sim, INVENTORY_PUT.format(sku=RED_M_SKU, warehouse="wh_main"))
    assert 1 <= len(writes) <= 2, [w["requestBody"] for w in writes]
    assert all(w["status"] == 200 for w in writes)  # no 423: the portal never sent two at once
    for first, second in itertools.pairwise(writes):  # at most one in flight per SKU and warehouse
        ended = datetime.fromisoformat(first["at"]) + timedelta(milliseconds=first["durationMs"])
        assert ended <= datetime.fromisoformat(second["at"])
    assert work(shop, RED_M, "stock").state == "done"
    assert InboxEvent.objects.filter(event="sales_channel.stockChange").count() == 50
    assert SkuMapping.objects.get(channel=shop, vario_article_id=str(RED_M)).last_stock_sent["wh_main"]["quantity"] == 0


# --- 2 -------------------------------------------------------------------------------------------------------


def test_2_an_unmapped_sku_is_parked_then_synced_once_vtex_has_it(sim, shop, worker):
    created = sim.post(
        "vario/catalog/bulk",
        {
            "articles": [
                {
                    "articleNumber": "NEW-TEE-1",
                    "listings": [{"salesChannelId": "7"}],
                    "stock": [{"storageId": "1", "quantityInStock": 5}],
                    "prices": [{"priceGroupId": "1", "grossPrice": 29.99}],
                }
            ]
        },
    )
    article = created["firstId"]
    sku_mappings_match(channel=shop, article_ids=[str(article)])
    assert SkuMapping.objects.get(channel=shop, vario_article_id=str(article)).status == "unmapped"

    stock(sim, article, "1", 6)
    wait_until(lambda: getattr(work(shop, article, "stock"), "state", None) == "parked", message="parked")
    assert not sim.get("requests", remote="vtex", path="/warehouses/", method="PUT", limit=10000)

    sim.post("vtex/catalog/skus", {"skus": [{"id": 3001, "refId": "NEW-TEE-1"}]})
    sim.post("vario/catalog/events", {"event": "article(sales-channel-id=7).update", "articleId": article})

    wait_until(lambda: quantity(sim, 3001, "wh_main") == 6, message="the released stock reached VTEX")
    wait_until(lambda: (vtex_price(sim, 3001) or {}).get("basePrice") == 29.99, message="and its price")
    mapping = SkuMapping.objects.get(channel=shop, vario_article_id=str(article))
    assert (mapping.status, mapping.vtex_sku_id, mapping.matched_by) == ("mapped", 3001, "refid")


# --- 3 -------------------------------------------------------------------------------------------------------


def test_3_the_stock_put_clears_only_reservations_acknowledged_before_the_erp_read(sim, shop, worker):
    sim.post("vtex/catalog/inventory", {"items": [{"skuId": RED_M_SKU, "warehouseId": "wh_main", "quantity": 10}]})
    now = datetime.now(UTC)
    reserve = {"skuId": RED_M_SKU, "warehouseId": "wh_main"}
    confirmed = sim.post("vtex/catalog/reservations", {**reserve, "quantity": 3, "state": "confirmed"})
    before = sim.post(
        "vtex/catalog/reservations",
        {**reserve, "quantity": 2, "state": "acknowledged", "at": (now - timedelta(minutes=1)).isoformat()},
    )
    after = sim.post(
        "vtex/catalog/reservations",
        {**reserve, "quantity": 1, "state": "acknowledged", "at": (now + timedelta(hours=1)).isoformat()},
    )
    stock(sim, RED_M, "3", 0, webhooks=False)
    erp_changed = datetime.now(UTC)

    stock(sim, RED_M, "1", 8)  # ERP available 8, read after the acknowledgement of ``before``

    wait_until(lambda: quantity(sim, RED_M_SKU, "wh_main") == 8, message="VTEX total 8")
    row = inventory(sim, RED_M_SKU, "wh_main")
    assert (row["reservedQuantity"], row["availableQuantity"]) == (4, 4)  # confirmed 3 + the later ack 1 stay
    reservations = {r["id"]: r for r in sim.get("vtex/catalog/reservations", skuIds=str(RED_M_SKU))}
    assert reservations[before["id"]]["releasedAt"] is not None
    assert reservations[confirmed["id"]]["releasedAt"] is None and reservations[after["id"]]["releasedAt"] is None
    [put] = puts(sim, INVENTORY_PUT.format(sku=RED_M_SKU, warehouse="wh_main"))
    balance = datetime.fromisoformat(json.loads(put["requestBody"])["dateUtcOnBalanceSystem"])
    assert erp_changed <= balance <= datetime.fromisoformat(put["at"])  # when the ERP was read (§3.4)


# --- 4 -------------------------------------------------------------------------------------------------------


def test_4_negative_erp_stock_is_sent_as_zero_with_a_warning(sim, shop, worker):
    stock(sim, RED_M, "3", 0, webhooks=False)

    stock(sim, RED_M, "1", 0, reserved=3)  # stockAvailable -3

    wait_until(lambda: quantity(sim, RED_M_SKU, "wh_main") == 0, message="VTEX shows 0")
    [put] = puts(sim, INVENTORY_PUT.format(sku=RED_M_SKU, warehouse="wh_main"))
    assert json.loads(put["requestBody"])["quantity"] == 0
    # The batch writes its timeline after its pushes: wait for it rather than race the worker's commit.
    wait_until(
        lambda: CatalogTimelineEntry.objects.filter(channel=shop, kind="problem", title__contains="is -3").exists(),
        message="the warning on the article's timeline",
    )


# --- 5 and 14 ------------------------------------------------------------------------------------------------


def price_ids(sim: Sim, article: int, *, group: str, from_quantity: int = 1) -> int:
    prices = sim.get(f"vario/articles/{article}")["prices"]
    return next(p["id"] for p in prices if p["priceGroupId"] == group and p["fromQuantity"] == from_quantity)


def test_5_a_list_price_below_the_price_is_not_sent_for_the_base_or_fixed_prices(sim, shop, worker):
    PriceTableMapping.objects.create(channel=shop, vtex_price_table="b2b", vario_price_group_id="4", price_mode="net")
    rrp = sim.get(f"vario/articles/{RED_M}")["recommendedRetailPrices"][0]["id"]

    sim.post(f"vario/recommended-retail-prices/{rrp}", {"value": 14.00, "notify": True})

    wait_until(lambda: vtex_price(sim, RED_M_SKU), message="the price reached VTEX")
    price = vtex_price(sim, RED_M_SKU)
    assert (price["basePrice"], price["listPrice"]) == (19.99, None)  # 14.00 is below 19.99
    fixed = sorted(price["fixedPrices"], key=lambda f: f["minQuantity"])
    assert [(f["value"], f["listPrice"], f["minQuantity"]) for f in fixed] == [(14.2, None, 1), (13.5, 14.0, 10)]
    assert price["flags"] == []  # the simulator flags a list price below its price: none was sent


def test_14_fixed_prices_per_table_follow_the_erps_tiers(sim, shop, worker):
    PriceTableMapping.objects.create(channel=shop, vtex_price_table="b2b", vario_price_group_id="4", price_mode="net")

    sim.post("vario/catalog/events", {"event": "article-price.update", "articleId": RED_M})

    wait_until(lambda: vtex_price(sim, RED_M_SKU), message="the price reached VTEX")
    price = vtex_price(sim, RED_M_SKU)
    assert (price["basePrice"], price["listPrice"]) == (19.99, 24.99)
    assert sorted((f["tradePolicyId"], f["value"], f["minQuantity"]) for f in price["fixedPrices"]) == [
        ("b2b", 13.5, 10),
        ("b2b", 14.2, 1),
    ]
    assert len(puts(sim, f"/pricing/prices/{RED_M_SKU}")) == 1  # one PUT with the base and both fixed prices

    sim.session.delete(f"{sim.url}/_sim/vario/prices/{price_ids(sim, RED_M, group='4', from_quantity=10)}", timeout=10)

    wait_until(
        lambda: [f["minQuantity"] for f in vtex_price(sim, RED_M_SKU)["fixedPrices"]] == [1],
        message="the removed tier left VTEX",
    )


# --- 6 -------------------------------------------------------------------------------------------------------


def test_6a_an_unknown_warehouse_is_refused_on_save_and_fails_without_a_retry_loop_when_it_vanishes(
    sim, shop, worker, admin_client
):
    catalog_checks_register()  # VTEX's lists, as in production (tests run without them otherwise)
    response = admin_client.post(
        reverse("admin:mappings_warehousemapping_add"),
        {"channel": shop.pk, "vario_storage_id": "7", "vtex_warehouse_id": "WH-X"},
    )
    assert "is not among the VTEX warehouses" in str(response.context["adminform"].form.errors["vtex_warehouse_id"])
    for kind in checks.KINDS:
        checks.checks_register(kind=kind, lister=None)

    sim.session.delete(f"{sim.url}/_sim/vtex/catalog/warehouses/wh_store_berlin", timeout=10)
    stock(sim, RED_M, "5", 3)
    stock(sim, RED_M, "1", 7, 0)

    wait_until(lambda: getattr(work(shop, RED_M, "stock"), "state", None) == "failed", message="failed")
    settle(shop)
    item = work(shop, RED_M, "stock")
    assert item.reason == "UNKNOWN_WAREHOUSE" and "wh_store_berlin" in item.message
    assert quantity(sim, RED_M_SKU, "wh_main") == 13  # 7 + 6: the other warehouse is synced
    assert len(puts(sim, INVENTORY_PUT.format(sku=RED_M_SKU, warehouse="wh_store_berlin"))) == 1  # no retry loop


def test_6b_a_storage_no_warehouse_maps_is_ignored(sim, shop, worker):
    stock(sim, RED_M, "1", 7, 0)
    wait_until(lambda: quantity(sim, RED_M_SKU, "wh_main") == 13, message="first sync")
    settle(shop)
    before = len(puts(sim, INVENTORY_PUT.format(sku=RED_M_SKU, warehouse="wh_main")))
    generation = work(shop, RED_M, "stock").generation

    stock(sim, RED_M, "9", 100)  # the returns storage: in no warehouse map

    wait_until(lambda: work(shop, RED_M, "stock").done_generation > generation, message="the event was worked on")
    settle(shop)
    assert quantity(sim, RED_M_SKU, "wh_main") == 13
    assert len(puts(sim, INVENTORY_PUT.format(sku=RED_M_SKU, warehouse="wh_main"))) == before


# --- 7 -------------------------------------------------------------------------------------------------------

T_SHIRTS = range(76, 92)


def test_7_a_429_pauses_the_pricing_route_and_every_price_still_arrives(sim, shop, worker):
    sim.post(
        "vtex/catalog/rate-limits",
        {"route": "PUT /pricing/prices/{itemId}", "limitPerSecond": 5, "burst": 5, "retryAfterSeconds": 2},
    )

    for article in T_SHIRTS:
        sim.post("vario/catalog/events", {"event": "article-price.update", "articleId": article})

    wait_until(lambda: all(vtex_price(sim, 2000 + a) for a in T_SHIRTS), message="every price reached VTEX", timeout=90)
    settle(shop)
    calls = sorted(
        sim.get("requests", remote="vtex", method="PUT", path="/pricing/prices/", limit=10000), key=lambda r: r["id"]
    )
    refused = [c for c in calls if c["status"] == 429]
    assert refused, "the route's limit was reached"
    for refusal in refused:
        at = datetime.fromisoformat(refusal["at"])
        during = [c for c in calls if at < datetime.fromisoformat(c["at"]) < at + timedelta(seconds=1.9)]
        assert during == [], "a request was sent while the route was paused"
    assert {w.state for w in CatalogWork.objects.filter(channel=shop, topic="price")} == {"done"}
    assert all(vtex_price(sim, 2000 + a)["basePrice"] == 19.99 for a in T_SHIRTS)


# --- 9 -------------------------------------------------------------------------------------------------------


def test_9_duplicated_and_reordered_webhooks_make_one_write_from_a_fresh_read(sim, shop, worker):
    sim.post("vario/catalog/faults", {"duplicateRate": 1, "copies": 3, "hold": True, "seed": 7})
    stock(sim, RED_M, "3", 0)
    stock(sim, RED_M, "1", 4, 0)
    stock(sim, RED_M, "1", 7, 0)

    sim.post("vario/catalog/release", {"shuffle": True})

    wait_until(lambda: quantity(sim, RED_M_SKU, "wh_main") == 7, message="VTEX shows the ERP's last value")
    settle(shop)
    assert len(puts(sim, INVENTORY_PUT.format(sku=RED_M_SKU, warehouse="wh_main"))) == 1
    assert InboxEvent.objects.filter(event="sales_channel.stockChange").count() == 9

    sim.session.delete(f"{sim.url}/_sim/vario/catalog/faults", timeout=10)
    sim.post("vario/catalog/events", {"event": "sales_channel.stockChange", "articleId": RED_M, "copies": 3})  # late

    wait_until(lambda: InboxEvent.objects.filter(event="sales_channel.stockChange").count() == 12, message="replayed")
    settle(shop)
    assert len(puts(sim, INVENTORY_PUT.format(sku=RED_M_SKU, warehouse="wh_main"))) == 1
    assert quantity(sim, RED_M_SKU, "wh_main") == 7


# --- 10 ------------------------------------------------------------------------------------------------------


def test_10_a_500_after_apply_is_retried_with_the_same_absolute_value(sim, shop, worker):
    sim.post(
        "vtex/catalog/faults",
        {"method": "PUT", "pathPattern": "/inventory/skus/2077/warehouses/wh_main", "remaining": 1},
    )

    stock(sim, RED_M, "1", 11, 0)

    wait_until(lambda: getattr(work(shop, RED_M, "stock"), "state", None) == "done", message="done")
    writes = puts(sim, INVENTORY_PUT.format(sku=RED_M_SKU, warehouse="wh_main"))
    assert [w["status"] for w in writes] == [500, 200]
    assert {json.loads(w["requestBody"])["quantity"] for w in writes} == {17}
    assert quantity(sim, RED_M_SKU, "wh_main") == 17


# --- 11 ------------------------------------------------------------------------------------------------------


def test_11_price_upload_off_ignores_price_events_and_stock_still_syncs(sim, shop, worker):
    enable(shop, stock=True, price=False)

    sim.post(f"vario/prices/{price_ids(sim, RED_M, group='1')}", {"grossPrice": 21.99})
    stock(sim, RED_M, "1", 5, 0)

    wait_until(lambda: quantity(sim, RED_M_SKU, "wh_main") == 11, message="stock synced")
    wait_until(
        lambda: InboxEvent.objects.filter(event="article-price.update", status="ignored").exists(),
        message="the price event ignored",
    )
    settle(shop)
    assert not CatalogWork.objects.filter(channel=shop, topic="price").exists()
    assert not sim.get("requests", remote="vtex", path="/pricing/prices/", method="PUT", limit=10000)


# --- 12 ------------------------------------------------------------------------------------------------------


def test_12_a_listing_sellable_without_stock_is_sent_unlimited(sim, shop, worker):
    shop.catalog_settings.unlimited_when_sellable_without_stock = True
    shop.catalog_settings.save()
    listing = next(x["id"] for x in sim.get(f"vario/articles/{RED_M}")["listings"] if x["salesChannelId"] == "7")

    sim.post(f"vario/listings/{listing}", {"sellableWithoutStock": True})

    wait_until(lambda: (inventory(sim, RED_M_SKU, "wh_main") or {}).get("unlimited"), message="unlimited in VTEX")
    [put] = puts(sim, INVENTORY_PUT.format(sku=RED_M_SKU, warehouse="wh_main"))
    assert json.loads(put["requestBody"])["unlimitedQuantity"] is True


# --- 13 ------------------------------------------------------------------------------------------------------


def test_13_a_zero_price_fails_invalid_price_without_a_vtex_call(sim, shop, worker):
    sim.post(f"vario/prices/{price_ids(sim, RED_M, group='1')}", {"grossPrice": 0, "netPrice": 0})

    wait_until(lambda: getattr(work(shop, RED_M, "price"), "state", None) == "failed", message="failed")
    item = work(shop, RED_M, "price")
    assert item.reason == "INVALID_PRICE"
    assert not puts(sim, f"/pricing/prices/{RED_M_SKU}")
