"""Stock and price configuration: what a save refuses (reference/catalog-sync.md §3.1, §3.2)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from mappings.models import (
    CatalogSettings,
    ListPriceSource,
    MatchedBy,
    PriceTableMapping,
    SkuMapping,
    SkuMappingStatus,
    SyncType,
    TransferToggle,
    WarehouseMapping,
)
from tests.factories import (
    CatalogSettingsFactory,
    PriceTableMappingFactory,
    SalesChannelFactory,
    SkuMappingFactory,
    WarehouseMappingFactory,
)

pytestmark = pytest.mark.django_db


def errors_of(obj) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc_info:
        obj.full_clean()
    return exc_info.value.message_dict


def test_a_new_channel_gets_its_catalog_settings_with_the_defaults():
    channel = SalesChannelFactory()

    settings = CatalogSettings.objects.get(channel=channel)

    assert (settings.stock_field, settings.safety_stock, settings.lead_time) == ("stockAvailable", 0, "00:00:00")
    assert (settings.stock_debounce_seconds, settings.price_debounce_seconds) == (5, 10)  # §3.5 step 2
    assert (settings.price_mode, settings.list_price_source) == ("gross", "none")
    assert (settings.base_price_group_id, settings.currency) == ("", "")  # the tenant's own: no guess
    assert settings.unlimited_when_sellable_without_stock is False


def test_stock_and_price_upload_start_switched_off():
    channel = SalesChannelFactory()
    toggles = dict(TransferToggle.objects.filter(channel=channel).values_list("sync_type", "enabled"))

    assert toggles[SyncType.UPLOAD_ARTICLE_STOCK] is False
    assert toggles[SyncType.UPLOAD_ARTICLE_PRICE] is False
    assert toggles[SyncType.ORDER_STATUS_UPLOAD] is True


@pytest.mark.parametrize("lead_time", ["00:00:00", "23:59:59", "1.00:00:00", "10.10:00:00", "9999.12:30:00"])
def test_lead_times_in_vtex_format_are_accepted(lead_time):
    settings = CatalogSettingsFactory(lead_time=lead_time)
    settings.full_clean()


@pytest.mark.parametrize(
    "lead_time", ["78:00:00", "24:00:00", "1.24:00:00", "0:00:00", "1d", "00:00", " 00:00:00", "00:00:00\n"]
)
def test_lead_times_vtex_would_read_otherwise_are_refused(lead_time):
    settings = CatalogSettingsFactory(lead_time="00:00:00")
    settings.lead_time = lead_time
    errors = errors_of(settings)
    assert list(errors) == ["lead_time"]
    assert "dd.hh:mm:ss" in errors["lead_time"][0]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("base_price_group_id", "one"),
        ("list_price_group_id", "4a"),
        ("currency", "eur"),
        ("currency", "EURO"),
        ("list_price_country", "de"),
        ("stock_debounce_seconds", 3601),
        ("price_debounce_seconds", 86400),
    ],
)
def test_settings_refuse_malformed_values(field, value):
    settings = CatalogSettingsFactory()
    setattr(settings, field, value)
    assert list(errors_of(settings)) == [field]


@pytest.mark.parametrize(("field", "value"), [("base_price_group_id", "1\n"), ("currency", "EUR\n")])
def test_a_trailing_line_break_is_not_part_of_a_valid_id(field, value):
    settings = CatalogSettingsFactory()
    setattr(settings, field, value)
    assert list(errors_of(settings)) == [field]


def test_a_negative_safety_stock_is_refused():
    settings = CatalogSettingsFactory()
    settings.safety_stock = -1
    assert list(errors_of(settings)) == ["safety_stock"]


def test_a_list_price_from_a_price_group_needs_the_group():
    settings = CatalogSettingsFactory()
    settings.list_price_source, settings.list_price_group_id = ListPriceSource.PRICE_GROUP, ""
    assert errors_of(settings) == {"list_price_group_id": ["Give the VARIO price group the list price comes from."]}
    settings.list_price_group_id = "2"
    settings.full_clean()


def test_a_list_price_from_the_rrp_needs_its_country():
    settings = CatalogSettingsFactory()
    settings.list_price_source, settings.list_price_country = ListPriceSource.RRP, ""
    assert list(errors_of(settings)) == ["list_price_country"]
    settings.list_price_country = "DEU"
    settings.full_clean()


def test_one_row_of_catalog_settings_per_channel():
    channel = SalesChannelFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CatalogSettings.objects.create(channel=channel)


@pytest.mark.parametrize("warehouse", ["wh main", "wh_main ", "wh\tmain", "wh\nmain", "wh_main\n", "wh\x00", ""])
def test_warehouse_ids_with_blanks_are_refused(warehouse):
    mapping = WarehouseMapping(channel=SalesChannelFactory(), vario_storage_id="1", vtex_warehouse_id=warehouse)
    assert "vtex_warehouse_id" in errors_of(mapping)


def test_warehouse_ids_are_kept_exactly_as_typed():
    mapping = WarehouseMappingFactory(vtex_warehouse_id="WH_Main-1.b")
    mapping.full_clean()
    mapping.refresh_from_db()
    assert mapping.vtex_warehouse_id == "WH_Main-1.b"  # case and punctuation untouched (§1.3)


def test_a_storage_goes_to_one_warehouse_per_channel_but_a_warehouse_takes_several_storages():
    channel = SalesChannelFactory()
    WarehouseMappingFactory(channel=channel, vario_storage_id="1", vtex_warehouse_id="wh_main")
    WarehouseMappingFactory(channel=channel, vario_storage_id="3", vtex_warehouse_id="wh_main")
    WarehouseMappingFactory(vario_storage_id="1", vtex_warehouse_id="wh_other")  # another channel

    again = WarehouseMapping(channel=channel, vario_storage_id="1", vtex_warehouse_id="wh_berlin")

    assert "a storage goes to one VTEX warehouse only" in " ".join(errors_of(again)["__all__"])


def test_storage_ids_are_vario_ids():
    mapping = WarehouseMapping(channel=SalesChannelFactory(), vario_storage_id="HL", vtex_warehouse_id="wh_main")
    assert "vario_storage_id" in errors_of(mapping)


def test_a_price_table_is_mapped_once_per_channel():
    mapping = PriceTableMappingFactory(vtex_price_table="b2b")
    again = PriceTableMapping(channel=mapping.channel, vtex_price_table="b2b", vario_price_group_id="5")
    assert "already maps this VTEX price table" in " ".join(errors_of(again)["__all__"])
    PriceTableMapping(channel=mapping.channel, vtex_price_table="B2B", vario_price_group_id="5").full_clean()


@pytest.mark.parametrize("table", ["b 2 b", "b2b\n", ""])
def test_price_tables_with_blanks_are_refused(table):
    mapping = PriceTableMapping(channel=SalesChannelFactory(), vtex_price_table=table, vario_price_group_id="4")
    assert "vtex_price_table" in errors_of(mapping)


def test_a_vtex_sku_is_one_articles_per_channel():
    mapping = SkuMappingFactory(vtex_sku_id=435)
    other = SkuMapping(channel=mapping.channel, vario_article_id="999", vtex_sku_id=435)
    assert "already mapped to this VTEX SKU" in " ".join(errors_of(other)["__all__"])
    with pytest.raises(IntegrityError), transaction.atomic():
        SkuMapping.objects.create(channel=mapping.channel, vario_article_id="999", vtex_sku_id=435)


def test_many_articles_may_have_no_sku_and_another_channel_may_use_the_same_sku():
    channel = SalesChannelFactory()
    SkuMappingFactory(channel=channel, unmapped=True)
    SkuMappingFactory(channel=channel, ambiguous=True)
    first = SkuMappingFactory(channel=channel, vtex_sku_id=435)
    SkuMappingFactory(vtex_sku_id=435)

    assert SkuMapping.objects.filter(vtex_sku_id=435).exclude(channel=first.channel).count() == 1


def test_an_article_is_mapped_once_per_channel():
    mapping = SkuMappingFactory(vario_article_id="77")
    with pytest.raises(IntegrityError), transaction.atomic():
        SkuMapping.objects.create(channel=mapping.channel, vario_article_id="77")


def test_a_mapped_article_needs_its_sku():
    with pytest.raises(IntegrityError), transaction.atomic():
        SkuMapping.objects.create(
            channel=SalesChannelFactory(), vario_article_id="1", status=SkuMappingStatus.MAPPED, vtex_sku_id=None
        )


@pytest.mark.parametrize("sku", [0, 2_147_483_648])
def test_sku_ids_are_vtex_int32_ids(sku):
    mapping = SkuMapping(channel=SalesChannelFactory(), vario_article_id="1", vtex_sku_id=sku)
    assert "vtex_sku_id" in errors_of(mapping)


def test_a_sku_set_by_hand_is_mapped_manually_and_a_removed_one_unmaps():
    mapping = SkuMappingFactory(unmapped=True)

    mapping.vtex_sku_id = 4351
    mapping.sku_set_by_hand(by="anna")
    assert (mapping.status, mapping.matched_by) == ("mapped", MatchedBy.MANUAL)
    assert mapping.message == "Mapped by hand by anna."

    mapping.vtex_sku_id = None
    mapping.sku_set_by_hand(by="anna")
    assert (mapping.status, mapping.matched_by) == ("unmapped", "")
    mapping.save()
