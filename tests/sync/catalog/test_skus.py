"""SKU matching (sync.catalog.skus; reference/catalog-sync.md §3.2), its "match now" in the admin, the VTEX
checks of the warehouse and price table maps (sync.catalog.checks) and ``manage.py match_skus``."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.urls import reverse

from mappings import checks
from mappings.models import SkuMapping, TransferToggle
from sync import queue as sync_queue
from sync.catalog import skus
from sync.catalog.checks import catalog_checks_register, vtex_price_table_ids, vtex_warehouse_ids
from sync.catalog.models import CatalogTimelineEntry, CatalogWork
from sync.catalog.push import catalog_batch_run
from sync.catalog.skus import sku_mappings_match
from sync.clients.catalog_dtos import VtexSku
from sync.clients.errors import RetryableError
from tests.factories import CatalogWorkFactory, SalesChannelFactory, SkuMappingFactory
from tests.sync.catalog.fakes import FakeCatalog, FakeLogistics, FakePricing, FakeVario, listing, retryable

pytestmark = pytest.mark.django_db


@pytest.fixture
def remotes(monkeypatch, redis_conn):
    fakes = {"vario": FakeVario(), "catalog": FakeCatalog(), "logistics": FakeLogistics(), "pricing": FakePricing()}

    def builder(name):
        def build(*args, recorder=None):
            fakes[name].recorder = recorder
            return fakes[name]

        return build

    monkeypatch.setattr(skus, "vario_client", builder("vario"))
    monkeypatch.setattr(skus, "vtex_catalog_client_for", builder("catalog"))
    monkeypatch.setattr("sync.catalog.checks.vtex_logistics_client_for", builder("logistics"))
    monkeypatch.setattr("sync.catalog.checks.vtex_pricing_client_for", builder("pricing"))
    return fakes


@pytest.fixture
def channel():
    channel = SalesChannelFactory(code="shop", vario_sales_channel_id="7")
    TransferToggle.objects.filter(channel=channel).update(enabled=True)
    return channel


def sku(id: int, ref_id: str = "", *, active: bool = True) -> VtexSku:
    return VtexSku(id=id, product_id=1, is_active=active, name="x", ref_id=ref_id)


def row(article: str) -> SkuMapping:
    return SkuMapping.objects.get(vario_article_id=article)


def test_articles_are_matched_by_refid_then_ean_into_their_states(channel, remotes):
    remotes["vario"].listings = [
        listing("77", "SKU-RED-M", ean="4006381333931"),
        listing("78", "SKU-NEW", ean="4006381333948"),
        listing("79", "SKU-OLD", ean="4006381333955"),
        listing("80", "SKU-MISSING", ean="4006381333962"),
        listing("81", "SKU-ODD", ean="4006381333979"),
        listing("82", "SKU-NOEAN"),
        listing("83", "SKU-DELISTED", listed=False),
    ]
    remotes["catalog"].by_ref_id = {"SKU-RED-M": 2077}
    remotes["catalog"].by_ean = {
        "4006381333948": sku(2078),  # no RefId in VTEX: matched by EAN
        "4006381333955": sku(2079, active=False),
        "4006381333979": sku(2081, "OTHER-REF"),  # EAN and RefId disagree
    }

    report = sku_mappings_match(channel=channel)

    states = {r.vario_article_id: (r.status, r.vtex_sku_id, r.matched_by) for r in SkuMapping.objects.all()}
    assert states == {
        "77": ("mapped", 2077, "refid"),
        "78": ("mapped", 2078, "ean"),
        "79": ("inactive", 2079, "ean"),
        "80": ("unmapped", None, ""),
        "81": ("ambiguous", None, ""),
        "82": ("unmapped", None, ""),
    }
    assert report.listed == 6 and report.counts == {"mapped": 2, "inactive": 1, "unmapped": 2, "ambiguous": 1}
    assert "SKU-MISSING or EAN 4006381333962" in row("80").message
    assert "OTHER-REF" in row("81").message
    # One RefId batch for the chunk (unique, at most 100), EAN lookups only where the RefId found nothing.
    assert [c for c in remotes["catalog"].calls if c[0] == "refids"] == [
        ("refids", ("SKU-RED-M", "SKU-NEW", "SKU-OLD", "SKU-MISSING", "SKU-ODD", "SKU-NOEAN"))
    ]
    assert {c[1] for c in remotes["catalog"].calls if c[0] == "ean"} == {
        "4006381333948",
        "4006381333955",
        "4006381333962",
        "4006381333979",
    }


def test_refids_are_looked_up_in_batches_of_at_most_100(channel, remotes):
    remotes["vario"].listings = [listing(str(1000 + n), f"REF-{n}") for n in range(250)]
    remotes["catalog"].by_ref_id = {f"REF-{n}": 5000 + n for n in range(250)}

    report = sku_mappings_match(channel=channel)

    batches = [len(c[1]) for c in remotes["catalog"].calls if c[0] == "refids"]
    assert batches == [100, 100, 50]
    assert report.counts == {"mapped": 250} and SkuMapping.objects.filter(status="mapped").count() == 250


def test_a_refid_that_names_another_sku_than_before_is_ambiguous(channel, remotes):
    SkuMappingFactory(channel=channel, vario_article_id="77", article_number="SKU-RED-M", vtex_sku_id=2077)
    remotes["vario"].listings = [listing("77", "SKU-RED-M")]
    remotes["catalog"].by_ref_id = {"SKU-RED-M": 9999}

    sku_mappings_match(channel=channel, article_ids=["77"])

    assert (row("77").status, row("77").vtex_sku_id) == ("ambiguous", None)
    assert "2077" in row("77").message and "9999" in row("77").message


def test_a_mapping_set_by_hand_is_left_alone(channel, remotes):
    mapping = SkuMappingFactory(channel=channel, vario_article_id="77", vtex_sku_id=4242)
    mapping.sku_set_by_hand(by="tester")
    mapping.save()
    remotes["vario"].listings = [listing("77", "SKU-RED-M")]
    remotes["catalog"].by_ref_id = {"SKU-RED-M": 2077}

    report = sku_mappings_match(channel=channel, article_ids=["77"])

    assert (row("77").vtex_sku_id, row("77").matched_by) == (4242, "manual")
    assert report.kept_by_hand == ["77"]


def test_articles_no_longer_listed_are_unmapped_by_a_whole_channel_match(channel, remotes):
    SkuMappingFactory(channel=channel, vario_article_id="90", article_number="GONE", vtex_sku_id=2090)
    remotes["vario"].listings = [listing("77", "SKU-RED-M")]
    remotes["catalog"].by_ref_id = {"SKU-RED-M": 2077}

    sku_mappings_match(channel=channel)

    assert (row("90").status, row("90").article_number) == ("unmapped", "GONE")
    assert "No longer listed" in row("90").message


def test_an_article_without_a_listing_in_the_channel_is_unmapped_keeping_its_keys(channel, remotes):
    SkuMappingFactory(channel=channel, vario_article_id="77", article_number="SKU-RED-M", ean="4006381333931")

    sku_mappings_match(channel=channel, article_ids=["77"])

    assert (row("77").status, row("77").article_number, row("77").ean) == ("unmapped", "SKU-RED-M", "4006381333931")


def test_matching_releases_the_work_parked_for_the_newly_mapped(channel, remotes, django_capture_on_commit_callbacks):
    SkuMappingFactory(channel=channel, vario_article_id="80", unmapped=True)
    CatalogWorkFactory(channel=channel, vario_article_id="80", parked=True)
    remotes["vario"].listings = [listing("80", "SKU-80")]
    remotes["catalog"].by_ref_id = {"SKU-80": 2080}

    with django_capture_on_commit_callbacks(execute=True):
        report = sku_mappings_match(channel=channel, article_ids=["80"])

    assert report.newly_mapped == ["80"] and report.released == 1
    assert CatalogWork.objects.get(vario_article_id="80", topic="stock").state == "queued"


def test_a_match_batch_maps_and_requests_stock_and_price(channel, remotes, django_capture_on_commit_callbacks):
    CatalogWorkFactory(channel=channel, vario_article_id="90", topic="match")
    remotes["vario"].listings = [listing("90", "SKU-90")]
    remotes["catalog"].by_ref_id = {"SKU-90": 2090}

    with django_capture_on_commit_callbacks(execute=True):
        catalog_batch_run(channel_id=channel.pk, topic="match")

    assert CatalogWork.objects.get(topic="match").state == "done"
    assert set(CatalogWork.objects.filter(state="queued").values_list("topic", flat=True)) == {"stock", "price"}
    assert sync_queue.catalog_push_queued(channel_id=channel.pk, topic="price")
    assert CatalogTimelineEntry.objects.filter(vario_article_id="90", kind="call").exists()


def test_a_match_batch_runs_with_both_uploads_off_and_requests_nothing(channel, remotes):
    TransferToggle.objects.filter(channel=channel).update(enabled=False)
    CatalogWorkFactory(channel=channel, vario_article_id="90", topic="match")
    remotes["vario"].listings = [listing("90", "SKU-90")]
    remotes["catalog"].by_ref_id = {"SKU-90": 2090}

    catalog_batch_run(channel_id=channel.pk, topic="match")

    assert row("90").status == "mapped"
    assert list(CatalogWork.objects.values_list("topic", "state")) == [("match", "done")]


def test_a_match_batch_waits_when_vtex_asks(channel, remotes):
    CatalogWorkFactory(channel=channel, vario_article_id="90", topic="match")
    remotes["vario"].listings = [listing("90", "SKU-90")]
    remotes["catalog"].fail("refids", retryable(503, method="POST"))

    catalog_batch_run(channel_id=channel.pk, topic="match")

    work = CatalogWork.objects.get()
    assert (work.state, work.attempts) == ("queued", 1)


# --- the admin ------------------------------------------------------------------------------------------------


def test_match_now_queues_the_selected_articles(admin_client, channel, redis_conn):
    mappings = [SkuMappingFactory(channel=channel, unmapped=True) for _ in range(2)]
    url = reverse("admin:mappings_skumapping_changelist")

    response = admin_client.post(url, {"action": "match_now", "_selected_action": [m.pk for m in mappings]})

    assert response.status_code == 302
    assert CatalogWork.objects.filter(topic="match", state="queued").count() == 2
    assert CatalogTimelineEntry.objects.filter(kind="operator", title__contains="admin").count() == 2


def test_match_channels_queues_one_whole_channel_match(admin_client, channel, redis_conn):
    mapping = SkuMappingFactory(channel=channel)
    url = reverse("admin:mappings_skumapping_changelist")

    admin_client.post(url, {"action": "match_channels", "_selected_action": [mapping.pk]})

    jobs = [(j.func_name, j.args) for j in sync_queue.django_rq.get_queue("bulk").jobs]
    assert jobs == [("sync.catalog.jobs.sku_mappings_match_job", ["shop"])]


def test_the_mapping_page_shows_the_articles_work_and_timeline(admin_client, channel):
    mapping = SkuMappingFactory(channel=channel, vario_article_id="77")
    CatalogWorkFactory(channel=channel, vario_article_id="77", failed=True)
    CatalogTimelineEntry.objects.create(
        channel=channel, vario_article_id="77", kind="call", title="VTEX PUT /x → 423", duration_ms=41.0
    )

    page = admin_client.get(reverse("admin:mappings_skumapping_change", args=[mapping.pk])).content.decode()

    assert "INVALID_PRICE" in page and "VTEX PUT /x → 423" in page and "41 ms" in page


# --- VTEX's lists for the maps (mappings.checks) ---------------------------------------------------------------


def test_the_listers_read_vtexs_warehouses_and_price_tables(channel, remotes):
    remotes["logistics"].list_warehouses = lambda: (
        type("W", (), {"id": "wh_main"})(),
        type("W", (), {"id": "WH_Berlin"})(),
    )

    assert vtex_warehouse_ids(channel) == ["wh_main", "WH_Berlin"]
    assert vtex_price_table_ids(channel) == ["1", "b2b"]


def test_a_channel_without_credentials_is_saved_unchecked(remotes):
    assert vtex_warehouse_ids(SalesChannelFactory(vtex_app_key="", vtex_app_token="")) is None


def test_vtex_not_answering_refuses_with_a_reason(channel, remotes):
    remotes["pricing"].fail("tables", retryable(503, method="GET"))

    with pytest.raises(checks.RemoteListUnavailable, match="503"):
        vtex_price_table_ids(channel)


def test_the_app_registers_its_listers_with_mappings(channel, remotes):
    catalog_checks_register()

    assert checks.RemoteLists().missing(kind=checks.VTEX_PRICE_TABLES, channel=channel, ids=["b2b", "gold"]) == ["gold"]


# --- the command ----------------------------------------------------------------------------------------------


def test_match_skus_reports_what_matched(channel, remotes):
    remotes["vario"].listings = [listing("77", "SKU-RED-M"), listing("80", "SKU-NONE")]
    remotes["catalog"].by_ref_id = {"SKU-RED-M": 2077}
    out = io.StringIO()

    call_command("match_skus", "shop", stdout=out)

    assert "2 listed article(s) of shop: mapped 1, unmapped 1." in out.getvalue()


def test_match_skus_says_when_the_erp_does_not_answer(channel, remotes):
    remotes["vario"].fail("listings", RetryableError("down", remote="vario", status=503))

    with pytest.raises(Exception, match="Matching stopped"):
        call_command("match_skus", "shop")
