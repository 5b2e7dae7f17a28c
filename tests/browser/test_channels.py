"""Setting up a sales channel in the browser: the add form, its secrets, toggles, carriers, default mappings."""

from __future__ import annotations

import django_rq
from django.db import connection
from playwright.sync_api import Page, expect

from mappings.models import SalesChannel, StatusMapping, SyncType, TransferToggle
from sync import queue as sync_queue
from sync.models import OrderSync, TimelineEntry
from tests.factories import OrderSyncFactory, SalesChannelFactory

TOKEN = "VTEX-APP-TOKEN-BROWSER-5513-never-shown"


def stored_ciphertext(channel: SalesChannel) -> str:
    """The token as the database holds it (the model field would decrypt it)."""
    table, column = SalesChannel._meta.db_table, SalesChannel._meta.get_field("vtex_app_token").column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [channel.pk])  # noqa: S608 - model names
        (value,) = cursor.fetchone()
    assert value and TOKEN not in value
    return value


def test_a_manager_creates_a_channel_whose_token_is_never_shown_and_loads_the_default_mappings(admin_page: Page):
    page = admin_page
    page.get_by_role("link", name="Sales channels").click()
    page.get_by_role("link", name="Add sales channel").click()

    page.get_by_label("Name:", exact=True).press_sequentially("Berlin Store")
    expect(page.get_by_label("Code:", exact=True)).to_have_value("berlin-store")  # the admin's prepopulate script
    page.get_by_label("VTEX account name:").fill("berlinstore")
    page.get_by_label("VTEX app key:").fill("vtexappkey-berlinstore-QWERTY")
    page.get_by_label("VTEX app token:").fill(TOKEN)
    page.get_by_label("VARIO sales channel id:").fill("9")
    page.get_by_role("button", name="Save and continue editing").click()

    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
    channel = SalesChannel.objects.get(code="berlin-store")
    assert (channel.name, channel.vtex_app_token, channel.vario_sales_channel_id) == ("Berlin Store", TOKEN, "9")
    # Every sync type got its toggle, and the change page lists them.
    toggles = page.locator("#transfer_toggles-group tbody tr.form-row")
    expect(toggles.locator("td.field-sync_type")).to_have_text([label for _, label in sorted(SyncType.choices)])
    for (_, label), checkbox in zip(sorted(SyncType.choices), toggles.get_by_role("checkbox").all(), strict=True):
        # Stock and price upload start off until the catalog settings are done (mappings.models).
        if label in (SyncType.UPLOAD_ARTICLE_STOCK.label, SyncType.UPLOAD_ARTICLE_PRICE.label):
            expect(checkbox).not_to_be_checked()
        else:
            expect(checkbox).to_be_checked()
    # The token is write-only: neither it nor its ciphertext is anywhere in the page.
    expect(page.get_by_label("VTEX app token:")).to_have_value("")
    html = page.content()
    assert TOKEN not in html
    assert stored_ciphertext(channel)[:40] not in html

    # Saving again with the token field left empty keeps the stored token.
    page.get_by_label("Name:", exact=True).fill("Berlin Flagship Store")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")
    channel.refresh_from_db()
    assert (channel.name, channel.vtex_app_token) == ("Berlin Flagship Store", TOKEN)
    row = page.locator("#result_list tbody tr", has_text="berlin-store")
    expect(row.locator("td.field-credentials_set img")).to_have_attribute("alt", "True")

    # The changelist action seeds the status mappings the merchant expects.
    row.get_by_role("checkbox").check()
    page.locator("select[name=action]").select_option(label="Load default status mappings (keeps existing ones)")
    page.get_by_role("button", name="Go").click()

    # (The admin capitalises every message, so the code reads "Berlin-store" on the page.)
    expect(page.locator("ul.messagelist")).to_have_text(
        "berlin-store: 5 default status mappings added.", ignore_case=True
    )
    assert dict(StatusMapping.objects.filter(channel=channel).values_list("erp_state", "platform_status")) == {
        "confirmed": "processing",
        "partially_shipped": "partially_fulfilled",
        "fully_shipped": "fulfilled",
        "cancelled": "cancelled",
        "returned": "refunded",
    }


def test_a_manager_turns_a_toggle_on_and_adds_the_carrier_a_parked_order_waits_for(admin_page: Page, redis_conn):
    page = admin_page
    channel = SalesChannelFactory(code="shop")
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.TRACKING_UPLOAD).update(enabled=False)
    parked = OrderSyncFactory(channel=channel, key="1042", erp_order_id="1042", parked=True)

    page.goto(f"/admin/mappings/saleschannel/{channel.pk}/change/")
    toggle = page.locator("#transfer_toggles-group tr.form-row", has_text="Tracking upload (ERP → VTEX)")
    expect(toggle.get_by_role("checkbox")).not_to_be_checked()
    toggle.get_by_role("checkbox").check()
    page.get_by_role("button", name="Add another Carrier code").click()
    page.locator("[name='carrier_codes-0-erp_carrier_key']").fill("HERMES")
    page.locator("[name='carrier_codes-0-vtex_courier_name']").fill("Hermes")
    page.locator("[name='carrier_codes-0-tracking_url_template']").fill("http://hermes.example/track")
    page.get_by_role("button", name="Save and continue editing").click()

    # A template without the placeholder, over plain http, is refused with both reasons; nothing is saved.
    errors = page.locator("#carrier_codes-group .errorlist")
    expect(errors).to_contain_text("must contain the {tracking_number} placeholder")
    expect(errors).to_contain_text("must be an absolute https:// URL")
    assert not channel.carrier_codes.exists()
    assert not TransferToggle.objects.get(channel=channel, sync_type=SyncType.TRACKING_UPLOAD).enabled

    page.locator("[name='carrier_codes-0-tracking_url_template']").fill(
        "https://hermes.example/track?id={tracking_number}"
    )
    page.get_by_role("button", name="Save and continue editing").click()

    expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")
    assert TransferToggle.objects.get(channel=channel, sync_type=SyncType.TRACKING_UPLOAD).enabled
    carrier = channel.carrier_codes.get()
    assert (carrier.erp_carrier_key, carrier.vtex_courier_name, carrier.tracking_url("H 1")) == (
        "HERMES",
        "Hermes",
        "https://hermes.example/track?id=H%201",
    )
    # The order parked for HERMES runs again by itself: pending, queued, noted on its timeline.
    parked.refresh_from_db()
    assert parked.status == OrderSync.Status.PENDING
    assert [(job.func_name, job.args) for job in django_rq.get_queue(sync_queue.QUEUE).jobs] == [
        ("sync.jobs.order_status_sync_job", [parked.pk])
    ]
    assert parked.timeline.filter(
        kind=TimelineEntry.Kind.OPERATOR, title="Mapping carrier:HERMES saved: running again"
    ).exists()
