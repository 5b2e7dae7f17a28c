"""Watching the catalog sync in the browser (sync.catalog.admin): a SKU's timeline on its mapping page, the failures
grouped by cause, and a failed item retried from the filtered list through the confirmation."""

from __future__ import annotations

import django_rq
from playwright.sync_api import Page, expect

from sync import queue as sync_queue
from sync.catalog.models import CatalogTimelineEntry, CatalogWork
from tests.factories import CatalogTimelineEntryFactory, CatalogWorkFactory, SalesChannelFactory, SkuMappingFactory

UNKNOWN_WH = "VTEX does not know warehouse WH-X (the warehouse map names it): Warehouse not found"
INVENTORY_PATH = "/api/logistics/pvt/inventory/skus/1001/warehouses/WH-X"


def queued_jobs() -> list[tuple[str, list]]:
    return [(job.func_name, list(job.args)) for job in django_rq.get_queue(sync_queue.QUEUE).jobs]


def test_a_manager_reads_a_skus_timeline_and_retries_its_failed_stock_from_the_causes_page(
    admin_page: Page, redis_conn
):
    page = admin_page
    shop = SalesChannelFactory(code="shop")
    mapping = SkuMappingFactory(channel=shop, vario_article_id="77", article_number="SKU-RED-M", vtex_sku_id=1001)
    failed = CatalogWorkFactory(
        channel=shop, vario_article_id="77", state="failed", reason="UNKNOWN_WAREHOUSE", message=UNKNOWN_WH
    )
    done = CatalogWorkFactory(channel=shop, vario_article_id="77", topic="price", state="done", message="Price sent.")
    CatalogTimelineEntryFactory(channel=shop, vario_article_id="77", title="VARIO: sales_channel.stockChange")
    CatalogTimelineEntryFactory(
        channel=shop,
        vario_article_id="77",
        kind="call",
        title="VTEX PUT inventory → 404",
        remote="vtex",
        method="PUT",
        path=INVENTORY_PATH,
        status_code=404,
        duration_ms=38.2,
        response_excerpt='{"error": {"code": "LOG404", "message": "Warehouse not found"}}',
    )

    # The SKU's page: the work's outcome and the timeline, each call with method, path, status and duration.
    page.goto(f"/admin/mappings/skumapping/{mapping.pk}/change/")
    work = page.locator("#catalog-work")
    expect(work.locator('tr[data-topic="stock"]')).to_contain_text("Failed (UNKNOWN_WAREHOUSE)")
    expect(work.locator('tr[data-topic="price"]')).to_contain_text("Done")
    call = page.locator("#catalog-timeline tr.timeline-call")
    expect(call).to_contain_text(f"VTEX PUT {INVENTORY_PATH}")
    expect(call).to_contain_text("404")
    expect(call).to_contain_text("38 ms")
    call.get_by_text("show").click()
    expect(call.locator("pre")).to_contain_text("Warehouse not found")

    # The failures by cause, from the work list; the cause links to its items.
    page.goto("/admin/catalog/catalogwork/")
    page.get_by_role("link", name="Failures by cause…").click()
    cause = page.locator('#catalog-causes tr[data-reason="UNKNOWN_WAREHOUSE"]')
    expect(cause).to_contain_text("VTEX warehouse WH-X does not exist")
    expect(cause).to_contain_text("Fix the channel's warehouse map")
    cause.get_by_role("link", name="VTEX warehouse WH-X does not exist").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("VTEX does not know warehouse WH-X")

    # Retry: a confirmation first, nothing queued before the click.
    page.locator("#action-toggle").check()
    page.locator("select[name=action]").select_option(label="Retry the selected failed or parked items now")
    page.get_by_role("button", name="Go").click()
    expect(page.locator("#bulk-action-summary")).to_contain_text("1 catalog work item will be run again now.")
    assert queued_jobs() == []
    page.get_by_role("button", name="Yes, retry them").click()

    expect(page.locator("ul.messagelist")).to_have_text("1 item queued again.")
    failed.refresh_from_db()
    done.refresh_from_db()
    assert (failed.state, failed.reason, failed.attempts) == (CatalogWork.State.QUEUED, "", 0)
    assert done.state == CatalogWork.State.DONE
    assert queued_jobs() == [("sync.catalog.jobs.catalog_push_job", [shop.pk, "stock"])]

    # The retry is on the SKU's timeline, with who asked.
    page.goto(f"/admin/mappings/skumapping/{mapping.pk}/change/")
    operator = page.locator("#catalog-timeline tr.timeline-operator")
    expect(operator).to_contain_text("Retry of stock requested by manager")
    expect(page.locator('#catalog-work tr[data-topic="stock"]')).to_contain_text("Queued")
    assert CatalogTimelineEntry.objects.filter(vario_article_id="77", kind="operator").count() == 1
