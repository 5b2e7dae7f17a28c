"""The catalog configuration and the SKU mapping in the admin: VTEX's lists checked on save, SKUs set by hand,
the unmatched report (catalog-sync.md §3.1, §3.2)."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from mappings import checks
from mappings.models import CatalogSettings, PriceTableMapping, SalesChannel, SkuMapping, WarehouseMapping
from tests.factories import (
    CatalogSettingsFactory,
    SalesChannelFactory,
    SkuMappingFactory,
    WarehouseMappingFactory,
)
from tests.support.admin_forms import admin_post_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def warehouses():
    """VTEX's warehouse list as the catalog flow's lister would answer it, counting the calls."""
    calls = []

    def lister(channel):
        calls.append(channel.code)
        return ["wh_main", "wh_store_berlin"]

    previous = checks.checks_register(kind=checks.VTEX_WAREHOUSES, lister=lister)
    yield calls
    checks.checks_register(kind=checks.VTEX_WAREHOUSES, lister=previous)


def add_warehouse(client, channel, storage: str, warehouse: str):
    return client.post(
        reverse("admin:mappings_warehousemapping_add"),
        {"channel": channel.pk, "vario_storage_id": storage, "vtex_warehouse_id": warehouse},
    )


def test_a_warehouse_vtex_lists_is_saved(admin_client, warehouses):
    channel = SalesChannelFactory(code="shop")

    response = add_warehouse(admin_client, channel, "1", "wh_store_berlin")

    assert response.status_code == 302
    assert WarehouseMapping.objects.get(channel=channel).vtex_warehouse_id == "wh_store_berlin"
    assert warehouses == ["shop"]


def test_a_warehouse_vtex_does_not_list_is_refused_with_the_ones_it_does(admin_client, warehouses):
    channel = SalesChannelFactory(code="shop")

    response = add_warehouse(admin_client, channel, "1", "WH-X")

    assert response.status_code == 200
    [error] = response.context["adminform"].form.errors["vtex_warehouse_id"]
    assert error.startswith("'WH-X' is not among the VTEX warehouses of channel 'shop' (wh_main, wh_store_berlin).")
    assert not WarehouseMapping.objects.exists()


def test_a_warehouse_id_with_a_space_is_refused_without_asking_vtex(admin_client, warehouses):
    response = add_warehouse(admin_client, SalesChannelFactory(), "1", "wh main")

    assert "has no spaces" in str(response.context["adminform"].form.errors["vtex_warehouse_id"])
    assert warehouses == []


def test_saving_an_unchanged_row_asks_vtex_nothing(admin_client, warehouses):
    mapping = WarehouseMappingFactory(vtex_warehouse_id="wh_gone")  # VTEX no longer lists it
    url = reverse("admin:mappings_warehousemapping_change", args=[mapping.pk])

    response = admin_client.post(url, admin_post_data(admin_client.get(url)))

    assert response.status_code == 302
    assert warehouses == []


def test_vtex_not_answering_refuses_the_save_with_the_reason(admin_client):
    def unavailable(channel):
        raise checks.RemoteListUnavailable("VTEX did not answer within 10 s.")

    previous = checks.checks_register(kind=checks.VTEX_PRICE_TABLES, lister=unavailable)
    try:
        response = admin_client.post(
            reverse("admin:mappings_pricetablemapping_add"),
            {"channel": SalesChannelFactory().pk, "vtex_price_table": "b2b", "vario_price_group_id": "4"},
        )
    finally:
        checks.checks_register(kind=checks.VTEX_PRICE_TABLES, lister=previous)

    assert response.context["adminform"].form.errors["vtex_price_table"] == [
        "Could not check it against the VTEX price tables: VTEX did not answer within 10 s. Try again later."
    ]
    assert not PriceTableMapping.objects.exists()


def test_a_channel_the_lister_cannot_check_saves_unchecked(admin_client):
    previous = checks.checks_register(kind=checks.VTEX_PRICE_TABLES, lister=lambda channel: None)
    try:
        response = admin_client.post(
            reverse("admin:mappings_pricetablemapping_add"),
            {"channel": SalesChannelFactory().pk, "vtex_price_table": "b2b", "vario_price_group_id": "4"},
        )
    finally:
        checks.checks_register(kind=checks.VTEX_PRICE_TABLES, lister=previous)

    assert response.status_code == 302
    assert PriceTableMapping.objects.get().price_mode == ""


def test_registering_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown remote list"):
        checks.checks_register(kind="vtex_docks", lister=lambda channel: [])


def test_the_channel_page_edits_its_catalog_settings(admin_client):
    channel = SalesChannelFactory(code="shop")
    url = reverse("admin:mappings_saleschannel_change", args=[channel.pk])
    page = admin_client.get(url)
    data = admin_post_data(page)
    formset = next(f.formset for f in page.context["inline_admin_formsets"] if f.formset.model is CatalogSettings)
    data[f"{formset.forms[0].prefix}-safety_stock"] = "4"
    data[f"{formset.forms[0].prefix}-lead_time"] = "2.00:00:00"

    response = admin_client.post(url, data)

    assert response.status_code == 302
    settings = CatalogSettings.objects.get(channel=channel)
    assert (settings.safety_stock, settings.lead_time) == (4, "2.00:00:00")


def test_the_channel_page_refuses_a_bad_lead_time(admin_client):
    channel = SalesChannelFactory(code="shop")
    url = reverse("admin:mappings_saleschannel_change", args=[channel.pk])
    page = admin_client.get(url)
    data = admin_post_data(page)
    formset = next(f.formset for f in page.context["inline_admin_formsets"] if f.formset.model is CatalogSettings)
    data[f"{formset.forms[0].prefix}-lead_time"] = "78:00:00"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert CatalogSettings.objects.get(channel=channel).lead_time == "00:00:00"


def test_deleting_a_channel_takes_its_catalog_settings_and_maps(admin_client):
    channel = SalesChannelFactory(code="gone")
    WarehouseMappingFactory(channel=channel)
    SkuMappingFactory(channel=channel)

    response = admin_client.post(reverse("admin:mappings_saleschannel_delete", args=[channel.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not SalesChannel.objects.filter(code="gone").exists()
    assert not CatalogSettings.objects.filter(channel_id=channel.pk).exists()


def test_a_sku_set_by_hand_in_the_admin_is_mapped_manually(admin_client, admin_user):
    mapping = SkuMappingFactory(unmapped=True)
    url = reverse("admin:mappings_skumapping_change", args=[mapping.pk])
    data = admin_post_data(admin_client.get(url))
    data["vtex_sku_id"] = "4351"

    assert admin_client.post(url, data).status_code == 302

    mapping.refresh_from_db()
    assert (mapping.status, mapping.vtex_sku_id, mapping.matched_by) == ("mapped", 4351, "manual")
    assert mapping.message == f"Mapped by hand by {admin_user.username}."


def test_removing_a_sku_in_the_admin_unmaps_the_article(admin_client):
    mapping = SkuMappingFactory()
    url = reverse("admin:mappings_skumapping_change", args=[mapping.pk])
    data = admin_post_data(admin_client.get(url))
    data["vtex_sku_id"] = ""

    assert admin_client.post(url, data).status_code == 302

    mapping.refresh_from_db()
    assert (mapping.status, mapping.vtex_sku_id, mapping.matched_by) == ("unmapped", None, "")


def test_the_state_and_the_articles_ids_are_not_editable_after_creation(admin_client):
    mapping = SkuMappingFactory(vario_article_id="77", article_number="SKU-RED-M")
    url = reverse("admin:mappings_skumapping_change", args=[mapping.pk])
    data = admin_post_data(admin_client.get(url))
    data.update({"status": "inactive", "matched_by": "ean", "vario_article_id": "78", "article_number": "X"})

    admin_client.post(url, data)

    mapping.refresh_from_db()
    assert (mapping.status, mapping.matched_by, mapping.vario_article_id) == ("mapped", "refid", "77")
    assert mapping.article_number == "SKU-RED-M"


def test_a_sku_already_mapped_to_another_article_is_refused(admin_client):
    taken = SkuMappingFactory(vtex_sku_id=435)
    mapping = SkuMappingFactory(channel=taken.channel, unmapped=True)
    url = reverse("admin:mappings_skumapping_change", args=[mapping.pk])
    data = admin_post_data(admin_client.get(url))
    data["vtex_sku_id"] = "435"

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "Another article of this channel is already mapped to this VTEX SKU." in response.content.decode()


@pytest.mark.parametrize("term", ["4351", "SKU-RED", "4006381333931", "77", "abc", "' OR 1=1 --", "9" * 40])
def test_the_sku_list_searches_any_text_without_failing(admin_client, term):
    SkuMappingFactory(vario_article_id="77", article_number="SKU-RED-M", ean="4006381333931", vtex_sku_id=4351)

    response = admin_client.get(reverse("admin:mappings_skumapping_changelist"), {"q": term})

    assert response.status_code == 200
    found = response.context["cl"].result_count
    assert found == (1 if term in ("4351", "SKU-RED", "4006381333931", "77") else 0)


def test_the_sku_list_shows_what_was_last_sent(admin_client):
    SkuMappingFactory(
        last_stock_sent={"wh_main": {"quantity": 9}, "wh_berlin": {"quantity": 0, "unlimitedQuantity": True}},
        last_price_sent={"basePrice": 19.99, "listPrice": 24.99, "fixedPrices": [{}, {}]},
    )

    html = admin_client.get(reverse("admin:mappings_skumapping_changelist")).content.decode()

    assert "wh_berlin: ∞, wh_main: 9" in html
    assert "19.99 (list 24.99), 2 fixed" in html


# --- the unmatched report ---------------------------------------------------------------------------------


@pytest.fixture
def unmatched():
    shop, outlet = SalesChannelFactory(code="shop"), SalesChannelFactory(code="outlet")
    SkuMappingFactory(channel=shop, vario_article_id="77")  # mapped: not in the report
    SkuMappingFactory(channel=shop, vario_article_id="78", unmapped=True, article_number="=cmd|'/c calc'!A1")
    SkuMappingFactory(channel=shop, vario_article_id="79", ambiguous=True)
    SkuMappingFactory(channel=outlet, vario_article_id="80", unmapped=True)
    SkuMappingFactory(channel=outlet, vario_article_id="81", status="inactive", vtex_sku_id=99)
    return shop


def report(client, **params):
    return client.get(reverse("admin:mappings_skumapping_unmatched"), params)


def test_the_report_lists_unmapped_and_ambiguous_articles_with_the_reason(admin_client, unmatched):
    response = report(admin_client)

    assert response.status_code == 200
    rows = response.context["page"].object_list
    assert [(r.channel.code, r.vario_article_id, r.status) for r in rows] == [
        ("outlet", "80", "unmapped"),
        ("shop", "79", "ambiguous"),
        ("shop", "78", "unmapped"),
    ]
    html = response.content.decode()
    assert "RefId and EAN name different VTEX SKUs." in html
    assert {(c["channel__code"], c["status"], c["n"]) for c in response.context["counts"]} == {
        ("outlet", "unmapped", 1),
        ("shop", "ambiguous", 1),
        ("shop", "unmapped", 1),
    }


def test_the_report_filters_by_channel_and_state(admin_client, unmatched):
    response = report(admin_client, channel="shop", status="ambiguous")

    assert [r.vario_article_id for r in response.context["page"].object_list] == ["79"]


@pytest.mark.parametrize(
    "params",
    [{"channel": "nowhere"}, {"status": "mapped"}, {"p": "9999"}, {"p": "-1"}, {"p": "x"}, {"channel": "\x00"}],
)
def test_the_report_answers_odd_parameters_without_failing(admin_client, unmatched, params):
    response = report(admin_client, **params)

    assert response.status_code == 200
    assert all(r.status in ("unmapped", "ambiguous") for r in response.context["page"].object_list)


def test_the_report_downloads_as_csv_that_runs_nothing_in_a_spreadsheet(admin_client, unmatched):
    response = report(admin_client, channel="shop", format="csv")

    assert response["Content-Disposition"] == 'attachment; filename="unmatched-skus-shop.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["channel", "vario_article_id", "article_number", "ean", "status", "reason", "last_matched_at"]
    assert [(r[1], r[4]) for r in rows[1:]] == [("79", "ambiguous"), ("78", "unmapped")]
    assert rows[2][2] == "'=cmd|'/c calc'!A1"


def test_the_report_needs_a_view_of_the_sku_mappings(client, unmatched):
    user = User.objects.create_user("viewer", is_staff=True)
    client.force_login(user)
    assert report(client).status_code == 403
    assert report(client, format="csv").status_code == 403

    user.user_permissions.add(Permission.objects.get(codename="view_skumapping"))
    assert report(client).status_code == 200
    changelist = client.get(reverse("admin:mappings_skumapping_changelist")).content.decode()
    assert 'id="sku-unmatched-link"' in changelist


def test_the_report_takes_no_post(admin_client, unmatched):
    assert admin_client.post(reverse("admin:mappings_skumapping_unmatched")).status_code == 405


def test_catalog_settings_are_neither_added_nor_deleted_by_hand(admin_client):
    settings = CatalogSettingsFactory()

    assert admin_client.get(reverse("admin:mappings_catalogsettings_add")).status_code == 403
    assert admin_client.get(reverse("admin:mappings_catalogsettings_delete", args=[settings.pk])).status_code == 403
    assert admin_client.get(reverse("admin:mappings_catalogsettings_import")).status_code == 200
    assert SkuMapping.objects.count() == 0


def test_the_sku_list_offers_import_export_and_the_report(admin_client):
    SkuMappingFactory()

    html = admin_client.get(reverse("admin:mappings_skumapping_changelist")).content.decode()

    assert reverse("admin:mappings_skumapping_unmatched") in html
    assert reverse("admin:mappings_skumapping_import") in html
    assert reverse("admin:mappings_skumapping_export") in html
