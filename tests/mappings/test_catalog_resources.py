"""Import and export of the catalog configuration and the SKU mapping (design §2.7: round-trip without change)."""

import io

import pytest
import tablib
from django.contrib.auth.models import User
from django.urls import reverse
from import_export.formats.base_formats import CSV, JSON, XLSX

from mappings import checks
from mappings.models import CatalogSettings, PriceTableMapping, SkuMapping, WarehouseMapping
from mappings.resources import (
    CatalogSettingsResource,
    PriceTableMappingResource,
    SkuMappingResource,
    WarehouseMappingResource,
)
from tests.factories import (
    CatalogSettingsFactory,
    PriceTableMappingFactory,
    SalesChannelFactory,
    SkuMappingFactory,
    WarehouseMappingFactory,
)

pytestmark = pytest.mark.django_db

FORMATS = [CSV, XLSX, JSON]
RESOURCES = [
    (CatalogSettingsResource, CatalogSettings),
    (WarehouseMappingResource, WarehouseMapping),
    (PriceTableMappingResource, PriceTableMapping),
    (SkuMappingResource, SkuMapping),
]


@pytest.fixture
def configured():
    channel = SalesChannelFactory(code="shop", vtex_app_token="TOKEN-NEVER-EXPORTED")
    CatalogSettingsFactory(channel=channel, list_price_source="rrp", list_price_country="DEU", safety_stock=2)
    SalesChannelFactory(code="outlet")  # default settings
    WarehouseMappingFactory(channel=channel, vario_storage_id="1", vtex_warehouse_id="wh_main")
    WarehouseMappingFactory(channel=channel, vario_storage_id="3", vtex_warehouse_id="wh_main")
    PriceTableMappingFactory(channel=channel, vtex_price_table="b2b", vario_price_group_id="4", price_mode="net")
    PriceTableMappingFactory(channel=channel, vtex_price_table="1", vario_price_group_id="1", price_mode="")
    SkuMappingFactory(
        channel=channel, vario_article_id="77", last_stock_sent={"wh_main": {"quantity": 9}}, message="=HYPERLINK()"
    )
    SkuMappingFactory(channel=channel, vario_article_id="78", unmapped=True, ean="")
    SkuMappingFactory(channel=channel, vario_article_id="79", ambiguous=True)
    return channel


@pytest.fixture
def vtex_lists():
    """Registered listers answering like VTEX would, counting their calls by channel code."""
    calls: list[tuple[str, str]] = []
    listed = {checks.VTEX_WAREHOUSES: {"wh_main", "wh_store_berlin"}, checks.VTEX_PRICE_TABLES: {"1", "b2b"}}

    def lister(kind):
        def lists(channel):
            calls.append((kind, channel.code))
            return listed[kind]

        return lists

    previous = {kind: checks.checks_register(kind=kind, lister=lister(kind)) for kind in listed}
    yield calls
    for kind, lister_before in previous.items():
        checks.checks_register(kind=kind, lister=lister_before)


def roundtrip(resource_class, fmt_class):
    fmt = fmt_class()
    exported = fmt.export_data(resource_class().export())
    return resource_class().import_data(fmt.create_dataset(exported), dry_run=False)


@pytest.mark.parametrize("fmt_class", FORMATS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("resource_class", "model"), RESOURCES, ids=lambda r: getattr(r, "__name__", ""))
def test_an_export_reimported_unchanged_reports_no_changes(configured, vtex_lists, resource_class, model, fmt_class):
    before = list(model.objects.order_by("pk").values())

    result = roundtrip(resource_class, fmt_class)

    assert not result.has_errors() and not result.has_validation_errors(), result.invalid_rows
    assert result.totals["skip"] == model.objects.count()
    assert result.totals["new"] == result.totals["update"] == 0
    assert list(model.objects.order_by("pk").values()) == before
    assert vtex_lists == []  # unchanged rows cost no VTEX call


def test_exports_use_natural_keys_and_no_ids_or_secrets(configured):
    for resource_class, _ in RESOURCES:
        exported = CSV().export_data(resource_class().export())
        header = exported.splitlines()[0].split(",")
        assert header[0] == "channel" and "id" not in header
        assert "TOKEN-NEVER-EXPORTED" not in exported
    assert "shop,1,wh_main" in CSV().export_data(WarehouseMappingResource().export())


def test_a_new_warehouse_row_is_checked_against_vtex_once_per_channel(configured, vtex_lists):
    dataset = tablib.Dataset(headers=["channel", "vario_storage_id", "vtex_warehouse_id"])
    dataset.append(["shop", "5", "wh_store_berlin"])
    dataset.append(["shop", "6", "wh_store_berlin"])
    dataset.append(["outlet", "1", "wh_main"])

    result = WarehouseMappingResource().import_data(dataset, dry_run=False)

    assert not result.has_validation_errors() and result.totals["new"] == 3
    assert sorted(vtex_lists) == [("vtex_warehouses", "outlet"), ("vtex_warehouses", "shop")]


def test_an_id_vtex_does_not_list_fails_the_file_naming_the_row(configured, vtex_lists):
    dataset = tablib.Dataset(headers=["channel", "vario_storage_id", "vtex_warehouse_id"])
    dataset.append(["shop", "5", "wh_store_berlin"])
    dataset.append(["shop", "6", "WH_MAIN"])  # case counts (§1.3)

    result = WarehouseMappingResource().import_data(dataset, dry_run=False)

    assert result.has_validation_errors()
    [invalid] = result.invalid_rows
    assert invalid.number == 2
    assert "'WH_MAIN' is not among the VTEX warehouses of channel 'shop' (wh_main, wh_store_berlin)" in str(
        invalid.error_dict
    )
    assert not WarehouseMapping.objects.filter(vario_storage_id__in=["5", "6"]).exists()


def test_a_malformed_id_is_refused_without_asking_vtex(configured, vtex_lists):
    dataset = tablib.Dataset(headers=["channel", "vtex_price_table", "vario_price_group_id", "price_mode"])
    dataset.append(["shop", "b 2 b", "4", "gross"])

    result = PriceTableMappingResource().import_data(dataset, dry_run=False)

    assert "has no spaces" in str(result.invalid_rows[0].error_dict)
    assert vtex_lists == []


def test_vtex_not_answering_refuses_the_row_with_the_reason(configured):
    def unavailable(channel):
        raise checks.RemoteListUnavailable("VTEX answered 503.")

    previous = checks.checks_register(kind=checks.VTEX_PRICE_TABLES, lister=unavailable)
    try:
        dataset = tablib.Dataset(headers=["channel", "vtex_price_table", "vario_price_group_id", "price_mode"])
        dataset.append(["shop", "gold", "9", ""])
        result = PriceTableMappingResource().import_data(dataset, dry_run=False)
    finally:
        checks.checks_register(kind=checks.VTEX_PRICE_TABLES, lister=previous)

    assert "Could not check it against the VTEX price tables: VTEX answered 503." in str(
        result.invalid_rows[0].error_dict
    )
    assert not PriceTableMapping.objects.filter(vtex_price_table="gold").exists()


def test_price_modes_read_a_value_a_label_or_an_empty_cell(configured):
    dataset = tablib.Dataset(headers=["channel", "vtex_price_table", "vario_price_group_id", "price_mode"])
    dataset.append(["shop", "gold", "9", "Net"])
    dataset.append(["shop", "silver", "8", ""])
    dataset.append(["shop", "bronze", "7", "brutto"])

    result = PriceTableMappingResource().import_data(dataset, dry_run=False)

    assert [row.number for row in result.invalid_rows] == [3]
    assert "'brutto' is not one of: gross, net." in str(result.invalid_rows[0].error_dict)


def test_catalog_settings_import_changes_a_channels_row_and_validates_it(configured):
    dataset = tablib.Dataset(headers=["channel", "lead_time", "list_price_source", "list_price_country"])
    dataset.append(["outlet", "1.12:00:00", "Recommended retail price (RRP)", "AUT"])

    result = CatalogSettingsResource().import_data(dataset, dry_run=False)

    assert not result.has_validation_errors() and result.totals["update"] == 1
    settings = CatalogSettings.objects.get(channel__code="outlet")
    assert (settings.lead_time, settings.list_price_source, settings.list_price_country) == ("1.12:00:00", "rrp", "AUT")

    bad = tablib.Dataset(headers=["channel", "lead_time", "list_price_source"])
    bad.append(["outlet", "78:00:00", "price_group"])
    result = CatalogSettingsResource().import_data(bad, dry_run=False)
    errors = str(result.invalid_rows[0].error_dict)
    assert "dd.hh:mm:ss" in errors and "Give the VARIO price group the list price comes from." in errors


def sku_rows(*rows) -> tablib.Dataset:
    dataset = tablib.Dataset(headers=["channel", "vario_article_id", "article_number", "ean", "vtex_sku_id", "status"])
    for row in rows:
        dataset.append(row)
    return dataset


def test_an_imported_sku_id_is_a_mapping_set_by_hand_and_the_state_columns_are_ignored(configured):
    user = User.objects.create_user("anna")
    dataset = sku_rows(
        ["shop", "78", "SKU-78", "", "4351", "unmapped"],  # the SKU given: mapped by hand
        ["shop", "90", "SKU-90", "4006381333931", "4390", "ambiguous"],  # new
        ["shop", "77", "SKU-00000", "", "", "mapped"],  # emptied: unmapped
    )

    result = SkuMappingResource().import_data(dataset, dry_run=False, user=user)

    assert not result.has_validation_errors(), result.invalid_rows
    rows = {m.vario_article_id: m for m in SkuMapping.objects.filter(channel=configured)}
    assert (rows["78"].status, rows["78"].vtex_sku_id, rows["78"].matched_by) == ("mapped", 4351, "manual")
    assert rows["78"].message == "Mapped by hand by anna (import)."
    assert (rows["90"].status, rows["90"].vtex_sku_id, rows["90"].matched_by) == ("mapped", 4390, "manual")
    assert (rows["77"].status, rows["77"].vtex_sku_id, rows["77"].matched_by) == ("unmapped", None, "")


@pytest.mark.parametrize("cell", ["12.5", "0123x", "-4", "١٢", "true"])
def test_a_sku_id_that_is_not_a_whole_number_is_a_row_error(configured, cell):
    result = SkuMappingResource().import_data(sku_rows(["shop", "78", "SKU-78", "", cell, ""]), dry_run=False)

    assert "is not a VTEX SKU id" in str(result.invalid_rows[0].error_dict)
    assert SkuMapping.objects.get(vario_article_id="78").vtex_sku_id is None


def test_a_sku_another_article_has_is_refused_on_import(configured):
    taken = SkuMapping.objects.get(vario_article_id="77").vtex_sku_id

    result = SkuMappingResource().import_data(sku_rows(["shop", "78", "SKU-78", "", str(taken), ""]), dry_run=False)

    assert "Another article of this channel is already mapped to this VTEX SKU." in str(
        result.invalid_rows[0].error_dict
    )


def test_the_admin_imports_warehouse_rows_and_shows_a_row_vtex_does_not_list(admin_client, configured, vtex_lists):
    upload = io.BytesIO(b"channel,vario_storage_id,vtex_warehouse_id\nshop,5,wh_elsewhere\n")
    upload.name = "warehouses.csv"

    response = admin_client.post(
        reverse("admin:mappings_warehousemapping_import"), {"resource": "0", "format": "0", "import_file": upload}
    )

    assert response.status_code == 200
    assert "&#x27;wh_elsewhere&#x27; is not among the VTEX warehouses" in response.content.decode()
    assert not WarehouseMapping.objects.filter(vario_storage_id="5").exists()
