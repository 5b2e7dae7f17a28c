"""The stock and price bulk kinds (sync.bulk.catalog) with the bulk machinery and fake remote clients."""

from __future__ import annotations

import pytest

from mappings.models import SkuMapping
from sync.bulk import catalog as bulk_catalog
from sync.bulk import services
from sync.bulk.models import BulkRun
from sync.bulk.services import bulk_run_start, bulk_run_step
from sync.catalog import push
from sync.clients.catalog_dtos import VtexInventory, VtexInventoryBalance
from tests.sync.catalog.fakes import FakeLogistics, FakePricing, FakeVario, stock_row
from tests.sync.catalog.test_push import channel, mapped  # noqa: F401  (the push tests' channel)

pytestmark = pytest.mark.django_db


class ReadingLogistics(FakeLogistics):
    """The fake Logistics client, also answering inventory reads from what it was last sent."""

    def __init__(self) -> None:
        super().__init__()
        self.shown: dict[tuple[int, str], int] = {}

    def update_inventory(self, sku_id, warehouse_id, **body):
        super().update_inventory(sku_id, warehouse_id, **body)
        self.shown[(sku_id, warehouse_id)] = body["quantity"]

    def get_inventory(self, sku_id):
        self.calls.append(("read", sku_id))
        balances = tuple(
            VtexInventoryBalance(wh, wh, quantity, 0, False, "00:00:00")
            for (sku, wh), quantity in self.shown.items()
            if sku == sku_id
        )
        return VtexInventory(str(sku_id), balances)


@pytest.fixture
def remotes(monkeypatch, settings, redis_conn):
    settings.CATALOG_INVENTORY_SPACING_SECONDS = 0
    settings.BULK_PAGE_SIZE = 2
    fakes = {"vario": FakeVario(), "logistics": ReadingLogistics(), "pricing": FakePricing()}

    def builder(name):
        def build(*args, recorder=None):
            fakes[name].recorder = recorder
            return fakes[name]

        return build

    for module in (push, bulk_catalog):
        monkeypatch.setattr(module, "vario_client", builder("vario"))
        monkeypatch.setattr(module, "vtex_logistics_client_for", builder("logistics"))
        monkeypatch.setattr(module, "vtex_pricing_client_for", builder("pricing"))
    monkeypatch.setattr(services, "bulk_run_step_enqueue", lambda *, run_id, delay=None: None)
    return fakes


def start(channel, kind, dry_run=False) -> BulkRun:  # noqa: F811
    run = bulk_run_start(channel=channel, kind=kind, scope={}, dry_run=dry_run, started_by="ann")
    bulk_run_step(run_id=run.pk)
    run.refresh_from_db()
    return run


def three_skus(channel, remotes):  # noqa: F811
    for article, sku in (("77", 2077), ("78", 2078), ("79", 2079)):
        mapped(channel, article, sku)
    remotes["vario"].stock = [stock_row("77", "1", 9), stock_row("78", "5", 2), stock_row("79", "1", 4)]


def test_stock_initial_sync_pushes_every_mapped_sku_one_erp_read_per_page(channel, remotes):  # noqa: F811
    three_skus(channel, remotes)

    run = start(channel, BulkRun.Kind.STOCK_INITIAL)

    assert run.state == BulkRun.State.FINISHED, run.message
    assert (run.total, run.done, run.changed, run.failed) == (3, 3, 3, 0)
    assert remotes["vario"].calls == [("stock", ("77", "78")), ("stock", ("79",))]  # pages of 2
    assert len(remotes["logistics"].calls) == 6  # 3 SKUs × 2 warehouses
    assert SkuMapping.objects.get(vario_article_id="79").last_stock_sent["wh_main"]["quantity"] == 4

    again = start(channel, BulkRun.Kind.STOCK_INITIAL)  # what VTEX was last told is not sent again

    assert (again.done, again.unchanged, again.changed) == (3, 3, 0)
    assert len(remotes["logistics"].calls) == 6


def test_a_dry_run_records_nothing_as_sent(channel, remotes):  # noqa: F811
    three_skus(channel, remotes)

    run = start(channel, BulkRun.Kind.STOCK_INITIAL, dry_run=True)

    assert run.state == BulkRun.State.FINISHED and run.changed == 3
    assert not SkuMapping.objects.exclude(last_stock_sent=None).exclude(last_stock_sent={}).exists()


def test_a_resumed_run_pushes_only_what_follows_its_checkpoint(channel, remotes):  # noqa: F811
    three_skus(channel, remotes)
    first = SkuMapping.objects.get(vario_article_id="77")
    run = bulk_run_start(channel=channel, kind=BulkRun.Kind.STOCK_INITIAL, scope={}, dry_run=False, started_by="a")
    BulkRun.objects.filter(pk=run.pk).update(checkpoint={"page": {"after_id": first.pk}, "skip": 0}, done=1)

    bulk_run_step(run_id=run.pk)

    assert remotes["vario"].calls == [("stock", ("78", "79"))]
    assert {sku for sku, _, _ in remotes["logistics"].calls} == {2078, 2079}


from mappings.models import SyncType, TransferToggle  # noqa: E402


def test_reconciliation_finds_stock_changed_behind_the_portals_back_and_repairs_it(channel, remotes):  # noqa: F811
    channel.catalog_settings.base_price_group_id = ""  # prices not configured: only stock is compared
    channel.catalog_settings.save()
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.UPLOAD_ARTICLE_PRICE).update(enabled=False)
    three_skus(channel, remotes)
    start(channel, BulkRun.Kind.STOCK_INITIAL)
    remotes["logistics"].shown[(2078, "wh_store_berlin")] = 40  # changed in VTEX's admin
    writes = len(remotes["logistics"].calls)

    report = start(channel, BulkRun.Kind.CATALOG_RECONCILIATION, dry_run=True)

    assert (report.done, report.changed, report.unchanged) == (3, 1, 2), report.message
    item = report.items.get()
    assert [d["kind"] for d in item.differences] == ["stock"]
    assert item.differences[0]["warehouse"] == "wh_store_berlin" and item.differences[0]["vtex"]["quantity"] == 40
    # (the fake client is not the HTTP layer, so writes_held does not hold its write: the e2e test's job)
    assert SkuMapping.objects.get(vario_article_id="78").last_stock_sent["wh_store_berlin"]["quantity"] == 2
    remotes["logistics"].shown[(2078, "wh_store_berlin")] = 40

    repaired = start(channel, BulkRun.Kind.CATALOG_RECONCILIATION)

    assert repaired.changed == 1 and repaired.items.get().repaired_at is not None
    assert remotes["logistics"].shown[(2078, "wh_store_berlin")] == 2  # forced, though last sent says 2
    assert len([c for c in remotes["logistics"].calls[writes:] if c[0] != "read"]) >= 2


def test_a_423_is_handed_to_the_incremental_queue_and_a_429_makes_the_step_wait(channel, remotes):  # noqa: F811
    from sync.catalog.models import CatalogWork
    from tests.sync.catalog.fakes import retryable

    three_skus(channel, remotes)
    remotes["logistics"].fail((2078, "wh_main"), retryable(423, retry_after=3))
    remotes["logistics"].fail((2079, "wh_main"), retryable(429, retry_after=7, method=""))

    run = start(channel, BulkRun.Kind.STOCK_INITIAL)

    assert run.state == BulkRun.State.RUNNING  # the route waits: the step is queued for later
    assert (run.done, run.changed, run.deferred) == (2, 1, 1)
    assert CatalogWork.objects.filter(channel=channel, vario_article_id="78", topic="stock", state="queued").exists()
    assert run.checkpoint["page"]["after_id"] == SkuMapping.objects.get(vario_article_id="78").pk  # 79 runs again

    bulk_run_step(run_id=run.pk)  # the route open again

    run.refresh_from_db()
    assert (run.state, run.done, run.changed) == (BulkRun.State.FINISHED, 3, 2)
    assert remotes["vario"].calls[-1] == ("stock", ("79",))


def test_the_admin_starts_a_stock_initial_sync_over_the_whole_channel_after_saying_how_many_skus(
    channel,  # noqa: F811
    remotes,
    django_user_model,
    django_capture_on_commit_callbacks,
):
    from django.urls import reverse

    from tests.sync.bulk.test_admin import logged_in

    three_skus(channel, remotes)
    manager = logged_in(
        django_user_model, "manager", "bulk.start_bulkrun", "bulk.view_bulkrun", "mappings.view_saleschannel"
    )
    start_url = reverse("admin:bulk_bulkrun_start")
    fields = {"channel": channel.pk, "kind": BulkRun.Kind.STOCK_INITIAL, "since": "", "until": "", "ids": ""}

    confirm = manager.post(start_url, fields)
    refused = manager.post(start_url, {**fields, "since": "2026-11-01"})
    with django_capture_on_commit_callbacks():
        started = manager.post(start_url, {**fields, "confirmed": "yes"})

    assert confirm.status_code == 200 and "3" in confirm.content.decode() and "mapped SKUs" in confirm.content.decode()
    assert "does not read since" in refused.content.decode()  # a scope field the kind does not read
    run = BulkRun.objects.get()
    assert started.status_code == 302 and (run.kind, run.scope) == (BulkRun.Kind.STOCK_INITIAL, {})
    page = manager.get(reverse("admin:bulk_bulkrun_change", args=[run.pk]))
    assert page.status_code == 200 and "Every mapped SKU of the channel gets its stock" in page.content.decode()


def test_a_forced_initial_sync_sends_even_what_vtex_was_last_told(channel, remotes):  # noqa: F811
    three_skus(channel, remotes)
    start(channel, BulkRun.Kind.STOCK_INITIAL)
    writes = len(remotes["logistics"].calls)

    run = bulk_run_start(
        channel=channel, kind=BulkRun.Kind.STOCK_INITIAL, scope={"force": "True"}, dry_run=False, started_by="ann"
    )
    bulk_run_step(run_id=run.pk)
    run.refresh_from_db()

    assert run.scope == {"force": True} and (run.done, run.changed) == (3, 3)
    assert len(remotes["logistics"].calls) == writes + 6


def test_the_reconciliation_does_not_read_force(channel):  # noqa: F811
    from sync.bulk.kinds import ScopeInvalid
    from sync.bulk.registry import KINDS

    with pytest.raises(ScopeInvalid, match="does not read force"):
        KINDS[BulkRun.Kind.CATALOG_RECONCILIATION].scope_clean({"force": "True"})
    with pytest.raises(ScopeInvalid, match="force: yes or no"):
        KINDS[BulkRun.Kind.STOCK_INITIAL].scope_clean({"force": "maybe"})
