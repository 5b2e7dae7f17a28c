import io
import re

import pytest
import tablib
from django.urls import reverse
from import_export.formats.base_formats import CSV, JSON, XLSX

from mappings.models import CarrierCode, OrderLink, StatusMapping
from mappings.resources import CarrierCodeResource, OrderLinkResource, StatusMappingResource
from tests.factories import CarrierCodeFactory, OrderLinkFactory, SalesChannelFactory, StatusMappingFactory

pytestmark = pytest.mark.django_db

FORMATS = [CSV, XLSX, JSON]


@pytest.fixture
def configured():
    channel = SalesChannelFactory(code="shop", vtex_app_token="TOKEN-NEVER-EXPORTED")
    for state, status in [("confirmed", "processing"), ("fully_shipped", "fulfilled")]:
        StatusMappingFactory(channel=channel, erp_state=state, platform_status=status)
    CarrierCodeFactory(channel=channel, erp_carrier_key="DHL")
    CarrierCodeFactory(channel=channel, erp_carrier_key="UPS", integrated_with_vtex_tracking=True)
    OrderLinkFactory(channel=channel, marketplace_order_id="702-1")
    OrderLinkFactory(channel=channel)
    return channel


RESOURCES = [
    (StatusMappingResource, StatusMapping),
    (CarrierCodeResource, CarrierCode),
    (OrderLinkResource, OrderLink),
]


def roundtrip(resource_class, fmt_class):
    fmt = fmt_class()
    exported = fmt.export_data(resource_class().export())
    dataset = fmt.create_dataset(exported)
    return resource_class().import_data(dataset, dry_run=False)


@pytest.mark.parametrize("fmt_class", FORMATS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(("resource_class", "model"), RESOURCES, ids=lambda r: getattr(r, "__name__", ""))
def test_an_export_reimported_unchanged_reports_no_changes(configured, resource_class, model, fmt_class):
    before = list(model.objects.order_by("pk").values())

    result = roundtrip(resource_class, fmt_class)

    assert not result.has_errors() and not result.has_validation_errors()
    assert result.totals["skip"] == model.objects.count()
    assert result.totals["new"] == result.totals["update"] == 0
    assert list(model.objects.order_by("pk").values()) == before


def test_export_uses_natural_keys_and_no_database_ids_or_secrets(configured):
    exported = CSV().export_data(CarrierCodeResource().export())
    header = exported.splitlines()[0]
    assert header.split(",")[:2] == ["channel", "erp_carrier_key"]
    assert "id" not in header.split(",")
    assert "shop,DHL" in exported
    for resource_class, _ in RESOURCES:
        assert "TOKEN-NEVER-EXPORTED" not in CSV().export_data(resource_class().export())


def test_import_creates_new_rows_and_updates_changed_ones(configured):
    dataset = tablib.Dataset(headers=["channel", "erp_state", "platform_status", "marketplace_status"])
    dataset.append(["shop", "confirmed", "processing", ""])  # unchanged
    dataset.append(["shop", "fully_shipped", "ignored", ""])  # changed
    dataset.append(["shop", "Returned", "Refunded (return invoice)", "approved"])  # new, by label

    result = StatusMappingResource().import_data(dataset, dry_run=False)

    assert not result.has_errors() and not result.has_validation_errors()
    assert (result.totals["skip"], result.totals["update"], result.totals["new"]) == (1, 1, 1)
    assert configured.status_mappings.get(erp_state="fully_shipped").platform_status == "ignored"
    assert configured.status_mappings.get(erp_state="returned").marketplace_status == "approved"


def test_bad_rows_are_reported_with_row_number_and_reason_and_nothing_is_saved(configured):
    dataset = tablib.Dataset(
        headers=[
            "channel",
            "erp_carrier_key",
            "vtex_courier_name",
            "tracking_url_template",
            "accepted_by_marketplace",
            "integrated_with_vtex_tracking",
        ]
    )
    dataset.append(["shop", "GLS", "GLS", "https://gls.example/{tracking_number}", "1", "0"])  # row 1 fine
    dataset.append(["nowhere", "DPD", "DPD", "https://dpd.example/{tracking_number}", "1", "0"])  # row 2
    dataset.append(["shop", "HERMES", "Hermes", "http://hermes.example/track", "1", "0"])  # row 3

    result = CarrierCodeResource().import_data(dataset, dry_run=False, raise_errors=False)

    assert result.has_validation_errors()
    invalid = {row.number: row for row in result.invalid_rows}
    assert set(invalid) == {2, 3}
    assert "No sales channel with code 'nowhere'" in str(invalid[2].error_dict)
    assert "{tracking_number} placeholder" in str(invalid[3].error_dict)
    assert not CarrierCode.objects.filter(erp_carrier_key__in=["GLS", "DPD", "HERMES"]).exists()


CARRIER_HEADERS = [
    "channel",
    "erp_carrier_key",
    "vtex_courier_name",
    "tracking_url_template",
    "accepted_by_marketplace",
    "integrated_with_vtex_tracking",
]


@pytest.mark.parametrize(("cell", "expected"), [("yes", True), ("TRUE", True), ("1", True), ("No", False), ("", False)])
def test_yes_no_cells_read_as_people_write_them(configured, cell, expected):
    dataset = tablib.Dataset(headers=CARRIER_HEADERS)
    dataset.append(["shop", "GLS", "GLS", "https://gls.example/{tracking_number}", "0", cell])

    result = CarrierCodeResource().import_data(dataset, dry_run=False)

    assert not result.has_validation_errors() and not result.has_errors()
    assert CarrierCode.objects.get(erp_carrier_key="GLS").integrated_with_vtex_tracking is expected


def test_a_yes_no_cell_the_portal_cannot_read_is_a_row_error_not_false(configured):
    dataset = tablib.Dataset(headers=CARRIER_HEADERS)
    dataset.append(["shop", "GLS", "GLS", "https://gls.example/{tracking_number}", "0", "ja"])

    result = CarrierCodeResource().import_data(dataset, dry_run=False)

    assert result.has_validation_errors()
    assert "'ja' is not a yes/no value" in str(result.invalid_rows[0].error_dict)
    assert not CarrierCode.objects.filter(erp_carrier_key="GLS").exists()


def test_two_rows_for_one_key_fail_the_file_naming_both(configured):
    dataset = tablib.Dataset(headers=["channel", "erp_state", "platform_status", "marketplace_status"])
    dataset.append(["shop", "returned", "refunded", ""])
    dataset.append(["shop", "Returned", "cancelled", ""])  # the label of the same state

    result = StatusMappingResource().import_data(dataset, dry_run=False, raise_errors=False)

    assert result.has_errors()
    assert "Rows 1 and 2 are both for channel=shop, erp_state=Returned" in str(result.base_errors[0].error)
    assert not StatusMapping.objects.filter(erp_state="returned").exists()


def test_an_unknown_status_value_names_the_allowed_values(configured):
    dataset = tablib.Dataset(headers=["channel", "erp_state", "platform_status", "marketplace_status"])
    dataset.append(["shop", "shipped-ish", "fulfilled", ""])
    result = StatusMappingResource().import_data(dataset, dry_run=False)
    assert result.has_validation_errors()
    message = str(result.invalid_rows[0].error_dict)
    assert "'shipped-ish' is not one of" in message and "fully_shipped" in message


def test_duplicate_erp_order_id_in_an_import_is_reported(configured):
    existing = configured.order_links.first()
    dataset = tablib.Dataset(headers=["channel", "vtex_order_id", "erp_order_id"])
    dataset.append(["shop", "999-01", existing.erp_order_id])
    result = OrderLinkResource().import_data(dataset, dry_run=False)
    assert result.has_validation_errors()
    assert "already has an order link for this ERP order document id" in str(result.invalid_rows[0].error_dict)
    assert not OrderLink.objects.filter(vtex_order_id="999-01").exists()


def test_admin_import_shows_row_errors_and_saves_nothing(admin_client, configured):
    csv = "channel,erp_state,platform_status,marketplace_status\nshop,returned,refunded,\nghost,confirmed,processing,\n"
    upload = io.BytesIO(csv.encode())
    upload.name = "mappings.csv"
    response = admin_client.post(
        reverse("admin:mappings_statusmapping_import"),
        {"resource": "0", "format": "0", "import_file": upload},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "No sales channel with code" in html and "ghost" in html
    assert "Some rows failed to validate" in html
    assert re.search(r"<td>\s*2\s*</td>", html)  # the data row number of the bad row
    assert not StatusMapping.objects.filter(erp_state="returned").exists()


def test_admin_export_offers_csv_xlsx_and_json(admin_client, configured):
    response = admin_client.get(reverse("admin:mappings_carriercode_export"))
    assert response.status_code == 200
    formats = [label for _, label in response.context["form"].fields["format"].choices]
    assert {"csv", "xlsx", "json"} <= {str(f).lower() for f in formats}


@pytest.mark.parametrize("column", ["marketplace_order_id", "erp_order_id", "erp_order_number"])
def test_an_import_cannot_change_an_existing_links_ids(configured, column):
    link = configured.order_links.get(marketplace_order_id="702-1")
    before = getattr(link, column)
    dataset = tablib.Dataset(headers=["channel", "vtex_order_id", column])
    dataset.append(["shop", link.vtex_order_id, f"{before}-changed"])

    result = OrderLinkResource().import_data(dataset, dry_run=False)

    assert result.has_validation_errors()
    assert "ids cannot change by import" in str(result.invalid_rows[0].error_dict)
    link.refresh_from_db()
    assert getattr(link, column) == before


def test_an_import_may_still_update_an_existing_links_statuses(configured):
    link = configured.order_links.get(marketplace_order_id="702-1")
    dataset = tablib.Dataset(headers=["channel", "vtex_order_id", "marketplace_order_id", "vtex_status"])
    dataset.append(["shop", link.vtex_order_id, "702-1", "invoiced"])

    result = OrderLinkResource().import_data(dataset, dry_run=False)

    assert not result.has_errors() and not result.has_validation_errors()
    link.refresh_from_db()
    assert link.vtex_status == "invoiced"
