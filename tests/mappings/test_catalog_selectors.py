"""What the stock and price pipeline reads of the configuration, and in how many queries."""

import pytest

from mappings import selectors
from mappings.models import CatalogSettings, SkuMappingStatus
from tests.factories import (
    CatalogSettingsFactory,
    PriceTableMappingFactory,
    SalesChannelFactory,
    SkuMappingFactory,
    WarehouseMappingFactory,
)

pytestmark = pytest.mark.django_db


def test_the_catalog_config_is_read_in_three_queries(django_assert_num_queries):
    channel = SalesChannelFactory()
    CatalogSettingsFactory(channel=channel, price_mode="net", safety_stock=2)
    WarehouseMappingFactory(channel=channel, vario_storage_id="1", vtex_warehouse_id="wh_main")
    WarehouseMappingFactory(channel=channel, vario_storage_id="3", vtex_warehouse_id="wh_main")
    WarehouseMappingFactory(channel=channel, vario_storage_id="5", vtex_warehouse_id="wh_store_berlin")
    PriceTableMappingFactory(channel=channel, vtex_price_table="b2b", vario_price_group_id="4", price_mode="gross")
    PriceTableMappingFactory(channel=channel, vtex_price_table="1", vario_price_group_id="1", price_mode="")
    WarehouseMappingFactory(vario_storage_id="9", vtex_warehouse_id="elsewhere")  # another channel's

    with django_assert_num_queries(3):
        config = selectors.catalog_config_get(channel=channel)

    assert config.settings.safety_stock == 2
    assert config.warehouses == {"1": "wh_main", "3": "wh_main", "5": "wh_store_berlin"}
    assert config.warehouse_storages() == {"wh_main": ("1", "3"), "wh_store_berlin": ("5",)}
    assert [(r.vtex_price_table, r.vario_price_group_id, r.price_mode) for r in config.price_tables] == [
        ("1", "1", "net"),  # no mode of its own: the channel's
        ("b2b", "4", "gross"),
    ]
    assert config.stock_problems() == () and config.price_problems() == ()


def test_an_unconfigured_channel_says_why_nothing_can_be_sent():
    channel = SalesChannelFactory()

    config = selectors.catalog_config_get(channel=channel)

    assert config.stock_problems() == (
        "No VARIO storage is mapped to a VTEX warehouse (Configuration › Warehouse mappings).",
    )
    assert config.price_problems() == (
        "The catalog settings name no VARIO base price group.",
        "The catalog settings name no currency.",
    )


def test_a_channel_without_settings_reads_the_defaults_without_creating_them():
    channel = SalesChannelFactory()
    CatalogSettings.objects.filter(channel=channel).delete()

    settings = selectors.catalog_settings_get(channel=channel)

    assert (settings.pk, settings.lead_time, settings.stock_field) == (None, "00:00:00", "stockAvailable")
    assert not CatalogSettings.objects.filter(channel=channel).exists()


def test_mapped_skus_of_a_batch_of_articles_in_one_query(django_assert_num_queries):
    channel = SalesChannelFactory()
    mapped = SkuMappingFactory(channel=channel, vario_article_id="77")
    SkuMappingFactory(channel=channel, vario_article_id="78", unmapped=True)
    SkuMappingFactory(channel=channel, vario_article_id="79", ambiguous=True)
    SkuMappingFactory(vario_article_id="77")  # the same article in another channel

    with django_assert_num_queries(1):
        found = selectors.sku_mappings_mapped(channel=channel, vario_article_ids=iter(["77", "78", "79", "80"]))

    assert found == {"77": mapped}


def test_every_state_of_a_batch_of_articles_in_one_query(django_assert_num_queries):
    channel = SalesChannelFactory()
    SkuMappingFactory(channel=channel, vario_article_id="77")
    SkuMappingFactory(channel=channel, vario_article_id="78", unmapped=True)

    with django_assert_num_queries(1):
        found = selectors.sku_mappings_for_articles(channel=channel, vario_article_ids=["77", "78", "80"])

    assert {article: row.status for article, row in found.items()} == {"77": "mapped", "78": "unmapped"}


def test_pages_of_mapped_skus_follow_the_id_and_count_them():
    channel = SalesChannelFactory()
    rows = [SkuMappingFactory(channel=channel) for _ in range(5)]
    SkuMappingFactory(channel=channel, unmapped=True)
    SkuMappingFactory()  # another channel's

    first = selectors.sku_mappings_page(channel=channel, after_id=0, limit=3)
    rest = selectors.sku_mappings_page(channel=channel, after_id=first[-1].id, limit=3)

    assert [r.pk for r in first + rest] == [r.pk for r in rows]
    assert selectors.sku_mappings_count(channel=channel) == 5
    assert selectors.sku_mappings_count(channel=channel, statuses=[SkuMappingStatus.UNMAPPED]) == 1
