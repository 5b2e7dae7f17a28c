"""Writes of the SKU mapping: match results in bulk, last sent values, unmapping (catalog-sync.md §3.2, §3.4)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mappings.models import CatalogSettings, MatchedBy, SkuMapping, SkuMappingStatus, SyncType, TransferToggle
from mappings.services import (
    SkuMatch,
    catalog_settings_ensure,
    sku_mapping_unmap,
    sku_mappings_match_record,
    sku_mappings_price_sent_record,
    sku_mappings_stock_sent_record,
    transfer_toggles_ensure,
)
from tests.factories import SalesChannelFactory, SkuMappingFactory

pytestmark = pytest.mark.django_db

MAPPED, UNMAPPED, AMBIGUOUS, INACTIVE = (
    SkuMappingStatus.MAPPED,
    SkuMappingStatus.UNMAPPED,
    SkuMappingStatus.AMBIGUOUS,
    SkuMappingStatus.INACTIVE,
)


def by_refid(article: str, sku: int, **kwargs) -> SkuMatch:
    return SkuMatch(
        vario_article_id=article,
        status=MAPPED,
        article_number=f"SKU-{article}",
        vtex_sku_id=sku,
        matched_by=MatchedBy.REFID,
        **kwargs,
    )


def not_found(article: str) -> SkuMatch:
    return SkuMatch(vario_article_id=article, status=UNMAPPED, article_number=f"SKU-{article}", message="No SKU.")


def state(channel) -> dict[str, tuple]:
    rows = SkuMapping.objects.filter(channel=channel)
    return {r.vario_article_id: (r.status, r.vtex_sku_id, r.matched_by) for r in rows}


def updates_of(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]


def test_toggles_ensure_restores_a_missing_stock_toggle_switched_off():
    channel = SalesChannelFactory()
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.UPLOAD_ARTICLE_STOCK).delete()
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.UPLOAD_ARTICLE_PRICE).update(enabled=True)

    toggles = {t.sync_type: t.enabled for t in transfer_toggles_ensure(channel=channel)}

    assert toggles[SyncType.UPLOAD_ARTICLE_STOCK] is False
    assert toggles[SyncType.UPLOAD_ARTICLE_PRICE] is True  # switched on by a person: kept


def test_catalog_settings_ensure_keeps_the_existing_row():
    channel = SalesChannelFactory()
    CatalogSettings.objects.filter(channel=channel).update(safety_stock=3)

    assert catalog_settings_ensure(channel=channel).safety_stock == 3
    CatalogSettings.objects.filter(channel=channel).delete()
    assert catalog_settings_ensure(channel=channel).safety_stock == 0


def test_match_results_are_created_and_updated_in_bulk():
    channel = SalesChannelFactory()
    SkuMappingFactory(channel=channel, vario_article_id="78", unmapped=True)
    at = timezone.now() - timedelta(minutes=1)

    outcome = sku_mappings_match_record(
        channel=channel,
        matches=[by_refid("77", 435), by_refid("78", 436), not_found("79")],
        checked_at=at,
    )

    assert (outcome.created, outcome.updated) == (2, 1)
    assert outcome.newly_mapped == ("77", "78")
    assert state(channel) == {
        "77": (MAPPED, 435, "refid"),
        "78": (MAPPED, 436, "refid"),
        "79": (UNMAPPED, None, ""),
    }
    assert set(SkuMapping.objects.filter(channel=channel).values_list("last_checked_at", flat=True)) == {at}
    assert SkuMapping.objects.get(channel=channel, vario_article_id="79").message == "No SKU."


def test_recording_matches_takes_a_few_queries_not_one_per_article():
    def queries_for(channel, count: int) -> int:
        existing = [str(n) for n in range(count // 2)]
        for article in existing:
            SkuMappingFactory(channel=channel, vario_article_id=article, unmapped=True)
        matches = [by_refid(str(n), 10_000 + n) for n in range(count)]
        with CaptureQueriesContext(connection) as queries:
            sku_mappings_match_record(channel=channel, matches=matches)
        return len(queries.captured_queries)

    # Read, taken SKUs, give-up, update, create; SQLite's bound on query parameters splits the bulk writes of
    # many rows into a few statements.
    assert queries_for(SalesChannelFactory(), 10) <= 6
    assert queries_for(SalesChannelFactory(), 200) <= 10


def test_a_sku_matched_again_unchanged_is_not_newly_mapped():
    channel = SalesChannelFactory()
    sku_mappings_match_record(channel=channel, matches=[by_refid("77", 435)])

    outcome = sku_mappings_match_record(channel=channel, matches=[by_refid("77", 435)])

    assert outcome.newly_mapped == ()
    assert outcome.updated == 1


def test_a_mapping_set_by_hand_is_left_alone():
    channel = SalesChannelFactory()
    manual = SkuMappingFactory(channel=channel, vario_article_id="77", vtex_sku_id=999, matched_by=MatchedBy.MANUAL)

    outcome = sku_mappings_match_record(channel=channel, matches=[by_refid("77", 435), by_refid("78", 436)])

    assert outcome.kept_by_hand == ("77",)
    manual.refresh_from_db()
    assert (manual.status, manual.vtex_sku_id, manual.matched_by) == (MAPPED, 999, "manual")
    assert state(channel)["78"] == (MAPPED, 436, "refid")


def test_two_articles_matching_one_sku_are_both_ambiguous():
    channel = SalesChannelFactory()

    outcome = sku_mappings_match_record(
        channel=channel, matches=[by_refid("77", 435), by_refid("78", 435), by_refid("79", 437)]
    )

    assert outcome.conflicts == ("77", "78")
    assert state(channel) == {"77": (AMBIGUOUS, None, ""), "78": (AMBIGUOUS, None, ""), "79": (MAPPED, 437, "refid")}
    assert "VTEX SKU 435 matches articles 78 too." in SkuMapping.objects.get(vario_article_id="77").message


def test_a_sku_another_article_keeps_makes_the_match_ambiguous():
    channel = SalesChannelFactory()
    SkuMappingFactory(channel=channel, vario_article_id="70", vtex_sku_id=435, matched_by=MatchedBy.MANUAL)

    outcome = sku_mappings_match_record(channel=channel, matches=[by_refid("77", 435)])

    assert outcome.conflicts == ("77",) and outcome.newly_mapped == ()
    assert state(channel)["77"] == (AMBIGUOUS, None, "")
    assert SkuMapping.objects.get(vario_article_id="77").message == "VTEX SKU 435 is already article 70's."
    assert state(channel)["70"] == (MAPPED, 435, "manual")


def test_skus_may_swap_between_articles_in_one_batch():
    channel = SalesChannelFactory()
    sku_mappings_match_record(channel=channel, matches=[by_refid("77", 435), by_refid("78", 436)])

    outcome = sku_mappings_match_record(channel=channel, matches=[by_refid("77", 436), by_refid("78", 435)])

    assert state(channel) == {"77": (MAPPED, 436, "refid"), "78": (MAPPED, 435, "refid")}
    assert outcome.newly_mapped == ("77", "78")


def test_a_sku_freed_by_one_article_may_go_to_a_new_one():
    channel = SalesChannelFactory()
    sku_mappings_match_record(channel=channel, matches=[by_refid("77", 435)])

    sku_mappings_match_record(channel=channel, matches=[not_found("77"), by_refid("90", 435)])

    assert state(channel) == {"77": (UNMAPPED, None, ""), "90": (MAPPED, 435, "refid")}


def test_a_new_sku_forgets_what_was_sent_to_the_old_one():
    channel = SalesChannelFactory()
    mapping = SkuMappingFactory(
        channel=channel,
        vario_article_id="77",
        vtex_sku_id=435,
        last_stock_sent={"wh_main": {"quantity": 9}},
        last_stock_at=timezone.now(),
        last_price_sent={"basePrice": 19.99},
        last_price_at=timezone.now(),
    )
    kept = SkuMappingFactory(channel=channel, vario_article_id="78", vtex_sku_id=436, last_stock_sent={"wh": {}})

    sku_mappings_match_record(channel=channel, matches=[by_refid("77", 999), by_refid("78", 436)])

    mapping.refresh_from_db()
    assert (mapping.last_stock_sent, mapping.last_stock_at, mapping.last_price_sent, mapping.last_price_at) == (
        {},
        None,
        {},
        None,
    )
    kept.refresh_from_db()
    assert kept.last_stock_sent == {"wh": {}}


def test_an_inactive_sku_is_recorded_with_its_id_but_not_mapped():
    channel = SalesChannelFactory()
    inactive = SkuMatch(
        vario_article_id="77", status=INACTIVE, vtex_sku_id=435, matched_by=MatchedBy.EAN, message="Inactive."
    )

    outcome = sku_mappings_match_record(channel=channel, matches=[inactive])

    assert state(channel) == {"77": (INACTIVE, 435, "ean")}
    assert outcome.newly_mapped == ()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": MAPPED, "vtex_sku_id": None},
        {"status": UNMAPPED, "vtex_sku_id": 435},
        {"status": "lost"},
        {"status": MAPPED, "vtex_sku_id": 435, "matched_by": MatchedBy.MANUAL},
    ],
)
def test_a_match_that_contradicts_itself_is_a_programming_error(kwargs):
    with pytest.raises(ValueError):
        SkuMatch(vario_article_id="77", **kwargs)


def test_an_article_twice_in_one_batch_is_refused():
    with pytest.raises(ValueError, match="twice"):
        sku_mappings_match_record(channel=SalesChannelFactory(), matches=[by_refid("77", 435), not_found("77")])


def test_stock_sent_merges_warehouses_and_writes_only_what_changed():
    channel = SalesChannelFactory()
    mapping = SkuMappingFactory(channel=channel, vtex_sku_id=435, last_stock_sent={"wh_a": {"quantity": 1}})
    other = SkuMappingFactory(channel=channel, vtex_sku_id=436)
    at = timezone.now()

    with CaptureQueriesContext(connection) as queries:
        written = sku_mappings_stock_sent_record(
            channel=channel, sent={435: {"wh_b": {"quantity": 5}}, 999: {"wh_a": {"quantity": 2}}}, at=at
        )

    assert written == 1
    [update] = updates_of(queries.captured_queries)
    assert "last_price" not in update
    mapping.refresh_from_db()
    assert mapping.last_stock_sent == {"wh_a": {"quantity": 1}, "wh_b": {"quantity": 5}}
    assert mapping.last_stock_at == at
    other.refresh_from_db()
    assert (other.last_stock_sent, other.last_stock_at) == ({}, None)


def test_stock_sent_unchanged_and_at_no_later_writes_nothing():
    channel = SalesChannelFactory()
    at = timezone.now()
    SkuMappingFactory(channel=channel, vtex_sku_id=435, last_stock_sent={"wh": {"quantity": 3}}, last_stock_at=at)

    with CaptureQueriesContext(connection) as queries:
        written = sku_mappings_stock_sent_record(
            channel=channel, sent={435: {"wh": {"quantity": 3}}}, at=at - timedelta(seconds=5)
        )

    assert written == 0
    assert updates_of(queries.captured_queries) == []


def test_price_sent_replaces_the_whole_price_and_keeps_the_latest_time():
    channel = SalesChannelFactory()
    later = timezone.now()
    mapping = SkuMappingFactory(
        channel=channel, vtex_sku_id=435, last_price_sent={"basePrice": 1, "fixedPrices": [{}]}, last_price_at=later
    )

    sku_mappings_price_sent_record(channel=channel, sent={435: {"basePrice": 19.99}}, at=later - timedelta(minutes=1))

    mapping.refresh_from_db()
    assert mapping.last_price_sent == {"basePrice": 19.99}
    assert mapping.last_price_at == later


def test_recording_sent_values_takes_the_same_queries_for_three_skus_as_for_sixty():
    def queries_for(count: int) -> int:
        channel = SalesChannelFactory()
        for n in range(count):
            SkuMappingFactory(channel=channel, vtex_sku_id=20_000 + n)
        sent = {20_000 + n: {"wh": {"quantity": n}} for n in range(count)}
        with CaptureQueriesContext(connection) as queries:
            assert sku_mappings_stock_sent_record(channel=channel, sent=sent, at=timezone.now()) == count
        return len(queries.captured_queries)

    assert queries_for(3) == queries_for(60)


def test_unmap_gives_the_sku_up_with_the_reason():
    channel = SalesChannelFactory()
    mapping = SkuMappingFactory(
        channel=channel, vtex_sku_id=435, matched_by=MatchedBy.MANUAL, last_stock_sent={"wh": {"quantity": 3}}
    )

    row = sku_mapping_unmap(channel=channel, vtex_sku_id=435, message="VTEX does not know SKU 435.")

    mapping.refresh_from_db()
    assert row.pk == mapping.pk
    assert (mapping.status, mapping.vtex_sku_id, mapping.matched_by) == (UNMAPPED, None, "")
    assert (mapping.message, mapping.last_stock_sent) == ("VTEX does not know SKU 435.", {})
    assert sku_mapping_unmap(channel=channel, vtex_sku_id=435, message="again") is None
