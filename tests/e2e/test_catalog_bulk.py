"""Stock and price bulk runs end to end (issue #16 item 5, reference/catalog-sync.md §3.6 and §3.7 scenario 8
scaled down): 30 articles seeded in the sandbox's VARIO (no webhooks: they existed before the portal) and 30
VTEX SKUs with their RefIds, matched, then the run's steps in a real RQ worker against the sandbox's VTEX.
Every request the portal sent to VTEX is checked against the official OpenAPI files (``sim`` fixture)."""

from __future__ import annotations

import pytest

from mappings.models import SkuMapping
from sync.bulk.models import BulkRun
from sync.bulk.services import bulk_run_start, bulk_runs_sweep
from sync.catalog.skus import sku_mappings_match
from tests.e2e.conftest import sandbox_channel  # noqa: F401  (the shop fixture's helper)
from tests.e2e.test_catalog import quantity, shop, sim, vtex_price  # noqa: F401  (fixtures)
from tests.e2e.test_dry_run import last_log_id, received, writes_since
from tests.support.stack import FAST_SYNC, Worker, portal_env, wait_until

# 160 s on 2 cores: CI runs them in its PostgreSQL pass only (docs/testing.md).
pytestmark = pytest.mark.once

COUNT, FIRST_SKU = 30, 700_001
SKUS = range(FIRST_SKU, FIRST_SKU + COUNT)


def ended(run: BulkRun):
    run.refresh_from_db()
    return run if run.state in (BulkRun.State.FINISHED, BulkRun.State.FAILED, BulkRun.State.CANCELLED) else None


@pytest.fixture
def catalog(sim, shop):  # noqa: F811
    """30 articles (storage 1: 10 in stock, 1 reserved → wh_main; storage 5: 2 → wh_store_berlin; gross 9.99 in
    price group 1) and 30 VTEX SKUs whose RefIds are their article numbers, matched."""
    sim.post(
        "vario/catalog/bulk",
        {
            "count": COUNT,
            "articleNumberPrefix": "BK-",
            "listings": [{"salesChannelId": shop.vario_sales_channel_id}],
            "stock": [
                {"storageId": "1", "quantityInStock": 10, "reservedQuantity": 1},
                {"storageId": "5", "quantityInStock": 2},
            ],
            "prices": [{"priceGroupId": "1", "grossPrice": 9.99}],
        },
    )
    sim.post(
        "vtex/catalog/skus",
        {"accountName": shop.vtex_account_name, "count": COUNT, "firstId": FIRST_SKU, "refIdPattern": "BK-{n:05d}"},
    )
    sku_mappings_match(channel=shop)
    assert SkuMapping.objects.filter(channel=shop, vtex_sku_id__in=list(SKUS), status="mapped").count() == COUNT
    return shop


def run_to_end(channel, kind: str, *, dry_run: bool = False) -> BulkRun:
    run = bulk_run_start(channel=channel, kind=kind, scope={}, dry_run=dry_run, started_by="test")
    run = wait_until(lambda: ended(run), message=f"{kind} ended", timeout=120)
    assert run.state == BulkRun.State.FINISHED, run.message
    return run


def without_balance_time(call: tuple) -> tuple:
    """A stock PUT's body names when the ERP was read (§3.4): a dry run's read and the real run's differ."""
    remote, method, path, body = call
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "dateUtcOnBalanceSystem"}
    return remote, method, path, body


def _vtex_shows_the_erp(sim) -> bool:  # noqa: F811
    return all((quantity(sim, sku, "wh_main"), quantity(sim, sku, "wh_store_berlin")) == (9, 2) for sku in SKUS)


def assert_vtex_shows_the_erp(sim):  # noqa: F811
    for sku in SKUS:
        assert (quantity(sim, sku, "wh_main"), quantity(sim, sku, "wh_store_berlin")) == (9, 2), sku


def test_a_dry_initial_sync_sends_nothing_and_predicts_the_real_run_which_reaches_vtex_exactly(sim, catalog, worker):  # noqa: F811
    mark = last_log_id(sim)

    dry = run_to_end(catalog, BulkRun.Kind.STOCK_INITIAL, dry_run=True)

    assert dry.done == dry.total and dry.changed >= COUNT and dry.failed == 0
    assert writes_since(sim, mark) == [], "a dry run sends no write"
    assert not SkuMapping.objects.filter(channel=catalog).exclude(last_stock_sent=None).exclude(last_stock_sent={})
    mark = last_log_id(sim)

    real = run_to_end(catalog, BulkRun.Kind.STOCK_INITIAL)

    assert (real.done, real.failed) == (dry.done, 0)
    sent = [without_balance_time(received(e)) for e in writes_since(sim, mark)]
    for mapping in SkuMapping.objects.filter(channel=catalog, vtex_sku_id__in=list(SKUS)):
        item = dry.items.get(key=str(mapping.pk))
        planned = [without_balance_time((c["remote"], c["method"], c["path"], c["body"])) for c in item.calls]
        prefix = f"/api/logistics/pvt/inventory/skus/{mapping.vtex_sku_id}/"
        assert planned and planned == [c for c in sent if c[2].startswith(prefix)], mapping.vtex_sku_id
    assert_vtex_shows_the_erp(sim)
    assert run_to_end(catalog, BulkRun.Kind.STOCK_INITIAL).changed == 0  # what VTEX was last told: not again

    prices = run_to_end(catalog, BulkRun.Kind.PRICE_INITIAL)

    assert prices.failed == 0
    assert {vtex_price(sim, sku)["basePrice"] for sku in SKUS} == {9.99}


@pytest.mark.xfail(
    strict=False,
    reason="Open (2026-12-05, docs/testing.md): twice under load (once on PostgreSQL in the fresh-clone CI run) the "
    "resumed run did not end within 120 s; it passes alone on both databases. Kept running so a fix shows as XPASS.",
)
def test_a_worker_killed_mid_run_resumes_from_its_checkpoint_without_writing_twice(
    sim,  # noqa: F811
    catalog,
    live_sandbox,
    stack_settings,
    tmp_path,
):
    env = portal_env(sandbox_url=live_sandbox.url, redis_url=stack_settings.REDIS_URL, **FAST_SYNC)
    sim.post(
        "faults",
        {
            "remote": "vtex",
            "method": "PUT",
            "pathPattern": "^/api/logistics/pvt/inventory/skus/",
            "kind": "latency",
            "latencyMs": 150,
            "remaining": 1000,
        },
    )
    first = Worker(env=env, log_path=tmp_path / "w1.log").start()
    try:
        run = bulk_run_start(channel=catalog, kind=BulkRun.Kind.STOCK_INITIAL, scope={}, dry_run=False, started_by="t")
        wait_until(lambda: BulkRun.objects.get(pk=run.pk).done >= 10, message="a third done", timeout=60)
    finally:
        first.kill()
    done_at_kill = BulkRun.objects.get(pk=run.pk).done
    assert done_at_kill < BulkRun.objects.get(pk=run.pk).total
    second = Worker(env=env, log_path=tmp_path / "w2.log").start()
    try:

        def resumed():
            bulk_runs_sweep()  # the periodic process's job: a run without a live step is queued again
            return ended(run)

        run = wait_until(resumed, message="the run resumed and ended", timeout=120, interval=1.0)
        # A pair the killed worker was writing stays guarded for a write's lease (§3.5 step 4): the resumed run
        # may find it busy and hand that SKU to the incremental queue (deferred), which this worker then syncs.
        wait_until(lambda: _vtex_shows_the_erp(sim), message="VTEX shows the ERP's stock for every SKU", timeout=60)
    finally:
        second.kill()

    assert run.state == BulkRun.State.FINISHED and run.failed == 0, run.message
    assert run.done == run.total  # each SKU counted once
    puts: dict[str, int] = {}
    for entry in sim.get("requests", remote="vtex", method="PUT", limit=10000):
        if entry["path"].startswith("/api/logistics/"):
            puts[entry["path"]] = puts.get(entry["path"], 0) + 1
    twice = [path for path, count in puts.items() if count > 1]
    assert max(puts.values()) <= 2
    # Only the page in hand (BULK_PAGE_SIZE SKUs × 2 warehouses) may be written again.
    assert len(twice) <= int(FAST_SYNC["BULK_PAGE_SIZE"]) * 2, twice


def test_a_reconciliation_finds_what_changed_behind_the_portals_back_and_its_real_run_repairs_it(
    sim,  # noqa: F811
    catalog,
    worker,
):
    run_to_end(catalog, BulkRun.Kind.STOCK_INITIAL)
    run_to_end(catalog, BulkRun.Kind.PRICE_INITIAL)
    stock_sku, price_sku = FIRST_SKU + 3, FIRST_SKU + 7
    account = catalog.vtex_account_name
    sim.post(
        "vtex/catalog/inventory",
        {"accountName": account, "items": [{"skuId": stock_sku, "warehouseId": "wh_store_berlin", "quantity": 40}]},
    )
    sim.post("vtex/catalog/prices", {"accountName": account, "items": [{"skuId": price_sku, "basePrice": 5.5}]})
    mark = last_log_id(sim)

    report = run_to_end(catalog, BulkRun.Kind.CATALOG_RECONCILIATION, dry_run=True)

    assert writes_since(sim, mark) == [], "a dry reconciliation repairs nothing"
    by_sku = {
        item.label.rsplit(" ", 1)[-1]: sorted((d["kind"], d.get("warehouse", "")) for d in item.differences)
        for item in report.items.exclude(differences=[])
    }
    assert by_sku[str(stock_sku)] == [("stock", "wh_store_berlin")]
    assert ("base_price", "") in by_sku[str(price_sku)]
    assert quantity(sim, stock_sku, "wh_store_berlin") == 40

    repair = run_to_end(catalog, BulkRun.Kind.CATALOG_RECONCILIATION)

    assert repair.failed == 0
    assert quantity(sim, stock_sku, "wh_store_berlin") == 2
    assert vtex_price(sim, price_sku)["basePrice"] == 9.99
    assert (
        run_to_end(catalog, BulkRun.Kind.CATALOG_RECONCILIATION, dry_run=True).items.exclude(differences=[]).count()
        == 0
    )
