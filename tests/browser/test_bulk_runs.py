"""Bulk runs in the browser: started from the channel page through the confirmation, watched to 100 % on
the run page without reloading it, paused, resumed and cancelled (sync.bulk.admin, sync.bulk.views).

The kind is the real order status initial sync against the sandbox over HTTP. The run's steps are executed
in the test's own process (``bulk_run_step``) instead of a worker: each step then does exactly one order
(``BULK_STEP_SECONDS`` 0), so the page can be watched between steps. The admin is in English only (no
catalogues or LocaleMiddleware yet), so these tests are too.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from mappings.services import status_mappings_load_defaults
from sandbox.harness import VTEX_APP_KEY, VTEX_APP_TOKEN, Sim, order_pair, vario_settings
from sync.bulk import views as bulk_views
from sync.bulk.models import BulkRun
from sync.bulk.services import bulk_run_step
from tests.factories import CarrierCodeFactory, SalesChannelFactory

ONE_ITEM = [("SKU-RED-M", 1, 1999)]


@pytest.fixture
def sim(sandbox_url) -> Sim:
    return Sim(sandbox_url)


@pytest.fixture
def shop(settings, live_sandbox, sim, redis_conn, monkeypatch):
    """The sandbox's demo channel, the live server's VARIO settings pointed at the sandbox, one order a step,
    and the run page polling fast."""
    for name, value in vario_settings(live_sandbox.url).items():
        setattr(settings, name, value)
    settings.BULK_STEP_SECONDS = 0
    settings.SYNC_LOCK_SECONDS = 4
    monkeypatch.setattr(bulk_views, "POLL_MS", 300)
    channel = SalesChannelFactory(
        code="shop",
        name="Demo store",
        vtex_account_name="demostore",
        vtex_base_url_override=live_sandbox.url,
        vtex_app_key=VTEX_APP_KEY,
        vtex_app_token=VTEX_APP_TOKEN,
        vario_sales_channel_id="7",
    )
    status_mappings_load_defaults(channel=channel)
    CarrierCodeFactory(channel=channel, erp_carrier_key="DHL", vtex_courier_name="DHL")
    return channel


def state_badge(page: Page):
    return page.locator("#bulk-run-state")


def progress(page: Page):
    return page.get_by_role("progressbar", name="Progress")


def the_run() -> BulkRun:
    return BulkRun.objects.get()


def test_a_manager_starts_an_initial_sync_from_the_channel_page_and_watches_it_to_the_end(admin_page: Page, shop, sim):
    page = admin_page
    shipped_vtex, shipped = order_pair(sim, ONE_ITEM)
    sim.post(f"vario/orders/{shipped['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-777"})
    _, unmapped = order_pair(sim, ONE_ITEM)  # shipped with a carrier the channel has no code for
    sim.post(f"vario/orders/{unmapped['id']}/deliver", {"carrier": "HERMES", "trackingNumber": "H-1"})
    order_pair(sim, ONE_ITEM)

    page.goto(f"/admin/mappings/saleschannel/{shop.pk}/change/")
    page.get_by_role("link", name="Start a bulk run…").click()
    expect(page.get_by_label("Sales channel:")).to_have_value(str(shop.pk))
    page.get_by_label("Kind:").select_option(label="Order status initial sync (ERP → VTEX)")
    page.get_by_label("Since:").fill("2000-01-01")
    page.get_by_role("button", name="Next: how many orders?").click()

    # The confirmation counts the scope in VARIO; nothing is stored before the click.
    expect(page.locator("#bulk-run-summary")).to_contain_text("This run touches about 3 orders.")
    expect(page.locator("#bulk-run-summary")).to_contain_text("Scope: from 2000-01-01 00:00 to")
    assert not BulkRun.objects.exists()
    page.get_by_role("button", name="Start the run").click()

    run = the_run()
    expect(page).to_have_url(re.compile(rf"/admin/bulk/bulkrun/{run.pk}/change/$"))
    expect(page.locator("ul.messagelist")).to_have_text(f"Bulk run #{run.pk} started.")
    expect(state_badge(page)).to_have_text("Queued")
    assert (run.started_by, run.dry_run) == ("manager", False)

    # Each step does one order; the page follows without being reloaded by the test.
    bulk_run_step(run_id=run.pk)
    expect(state_badge(page)).to_have_text("Running")  # the state changed: the page reloaded itself once
    expect(progress(page)).to_have_attribute("aria-valuenow", "33")
    expect(page.locator("#bulk-run-percent")).to_have_text("33 %")
    bulk_run_step(run_id=run.pk)
    expect(progress(page)).to_have_attribute("aria-valuenow", "66")
    expect(page.locator("#bulk-run-counts td[data-field=done]")).to_have_text("2")
    expect(page.locator("#bulk-run-rate")).to_contain_text("per minute")
    bulk_run_step(run_id=run.pk)
    expect(progress(page)).to_have_attribute("aria-valuenow", "100")
    bulk_run_step(run_id=run.pk)  # nothing left: the run ends

    expect(state_badge(page)).to_have_text("Finished")
    expect(page.locator("#bulk-run-percent")).to_have_text("100 %")
    expect(page.locator("#bulk-run-eta")).to_have_text("ended")
    expect(page.locator("#bulk-run-buttons")).to_have_count(0)  # nothing left to pause or cancel
    shipped_row = page.locator(f'#bulk-run-items tr[data-key="{shipped["id"]}"]')
    expect(shipped_row).to_contain_text("Changed")
    expect(shipped_row).to_contain_text("nvoice")  # what the sync did for it, as its timeline says
    page.locator("#bulk-run-outcomes").get_by_role("link", name="Failed (1)").click()
    expect(page.locator("#bulk-run-items tbody > tr")).to_have_count(1)
    expect(page.locator("#bulk-run-items")).to_contain_text("no carrier mapping for ERP carrier 'HERMES'")
    run.refresh_from_db()
    assert (run.state, run.total, run.done, run.changed, run.failed) == (BulkRun.State.FINISHED, 3, 3, 2, 1)
    assert sim.vtex_order(shipped_vtex["orderId"])["order"]["status"] == "invoiced"


def test_a_manager_pauses_resumes_and_cancels_a_run_started_from_the_run_list(admin_page: Page, shop, sim):
    page = admin_page
    for _ in range(3):
        order_pair(sim, ONE_ITEM)

    page.goto("/admin/bulk/bulkrun/")
    page.get_by_role("link", name="Start a bulk run…").click()
    page.get_by_label("Sales channel:").select_option(label=str(shop))
    page.get_by_label("Kind:").select_option(label="Order status initial sync (ERP → VTEX)")
    page.get_by_label("Since:").fill("2000-01-01")
    page.get_by_role("button", name="Next: how many orders?").click()
    page.get_by_role("button", name="Start the run").click()
    expect(state_badge(page)).to_have_text("Queued")
    run = the_run()
    bulk_run_step(run_id=run.pk)
    expect(progress(page)).to_have_attribute("aria-valuenow", "33")

    page.get_by_role("button", name="Pause").click()
    expect(page.locator("ul.messagelist")).to_contain_text("Paused: the run stops after the order in hand")
    expect(state_badge(page)).to_have_text("Paused")
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)
    bulk_run_step(run_id=run.pk)  # a paused run's step does nothing
    run.refresh_from_db()
    assert (run.state, run.done) == (BulkRun.State.PAUSED, 1)

    page.get_by_role("button", name="Resume").click()
    expect(page.locator("ul.messagelist")).to_have_text("Resumed: the run goes on from where it stopped.")
    expect(state_badge(page)).to_have_text("Running")
    bulk_run_step(run_id=run.pk)
    expect(progress(page)).to_have_attribute("aria-valuenow", "66")

    page.get_by_role("button", name="Cancel the run…").click()
    expect(page.locator("#bulk-run-cancel-summary")).to_contain_text("1 order of the scope will not be processed")
    page.get_by_role("button", name="Yes, cancel the run").click()
    expect(state_badge(page)).to_have_text("Cancelled")
    expect(page.locator("#bulk-run-buttons")).to_have_count(0)
    bulk_run_step(run_id=run.pk)  # a cancelled run's step does nothing either
    run.refresh_from_db()
    assert (run.state, run.done) == (BulkRun.State.CANCELLED, 2)
