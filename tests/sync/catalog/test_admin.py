"""Watching the catalog sync in the admin (sync.catalog.admin): the SKU mapping list and page, the work items, their
"retry now" behind a confirmation, the failures grouped by cause, and who may do what."""

from __future__ import annotations

from datetime import timedelta

import django_rq
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from sync import queue as sync_queue
from sync.catalog.admin import catalog_failures_by_cause
from sync.catalog.models import CatalogTimelineEntry, CatalogWork
from tests.factories import CatalogTimelineEntryFactory, CatalogWorkFactory, SalesChannelFactory, SkuMappingFactory

pytestmark = pytest.mark.django_db

WORK_LIST = "admin:catalog_catalogwork_changelist"
CAUSES = "admin:catalog_catalogwork_causes"
UNKNOWN_WH = (
    "VTEX does not know warehouse WH-X (the warehouse map names it): "
    '{"error": {"code": "LOG404", "message": "Warehouse not found"}}'
)
REFUSED_400 = "vtex PUT /api/pricing/prices/1001 → 400 [PRC001]: Bad Request. VTEX answered: costPrice missing"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def shop():
    return SalesChannelFactory(code="shop", vario_sales_channel_id="7")


@pytest.fixture
def queue(redis_conn):
    return django_rq.get_queue(sync_queue.QUEUE)


def failed(channel, article, reason, message, **fields) -> CatalogWork:
    return CatalogWorkFactory(
        channel=channel, vario_article_id=article, state="failed", reason=reason, message=message, **fields
    )


def staff(django_user_model, name: str, *codenames: str):
    user = django_user_model.objects.create_user(name, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames))
    return user


def client_for(client, user):
    client.force_login(user)
    return client


# --- the SKU mapping list and page ----------------------------------------------------------------------------


def test_the_mapping_list_shows_the_last_stock_and_price_sent_the_state_and_the_open_work(admin_client, shop):
    sent = timezone.now() - timedelta(minutes=5)
    SkuMappingFactory(
        channel=shop,
        vario_article_id="77",
        last_stock_sent={"WH-1": {"quantity": 12, "unlimited": False}},
        last_stock_at=sent,
    )
    failed(shop, "77", "INVALID_PRICE", "grossPrice is 0", topic="price")
    CatalogWorkFactory(channel=shop, vario_article_id="77", topic="stock", state="done")

    html = admin_client.get(reverse("admin:mappings_skumapping_changelist")).content.decode()

    assert "column-open_work" in html
    assert "catalog-state-failed" in html and "Failed (INVALID_PRICE)" in html
    assert "catalog-state-done" not in html  # done work is not open
    assert "Mapped" in html  # the mapping's state


def test_the_mapping_list_costs_the_same_queries_for_many_rows(admin_client, shop, django_assert_max_num_queries):
    for n in range(30):
        SkuMappingFactory(channel=shop, vario_article_id=str(500 + n))
        failed(shop, str(500 + n), "INVALID_PRICE", "grossPrice is 0")

    with django_assert_max_num_queries(25):
        response = admin_client.get(reverse("admin:mappings_skumapping_changelist"))

    assert response.content.decode().count("catalog-state-failed") == 30


def test_the_mapping_page_shows_the_timeline_with_each_call_and_the_outcome(admin_client, shop):
    mapping = SkuMappingFactory(channel=shop, vario_article_id="77", vtex_sku_id=1001)
    failed(shop, "77", "UNKNOWN_WAREHOUSE", UNKNOWN_WH)
    CatalogTimelineEntryFactory(channel=shop, vario_article_id="77", title="VARIO: sales_channel.stockChange")
    CatalogTimelineEntryFactory(
        channel=shop,
        vario_article_id="77",
        kind="call",
        title="VTEX PUT → 404",
        remote="vtex",
        method="PUT",
        path="/api/logistics/pvt/inventory/skus/1001/warehouses/WH-X",
        status_code=404,
        duration_ms=41.4,
        response_excerpt="Warehouse not found",
    )
    CatalogTimelineEntryFactory(channel=shop, vario_article_id="78", title="another article's event")

    html = admin_client.get(reverse("admin:mappings_skumapping_change", args=[mapping.pk])).content.decode()

    assert 'id="catalog-timeline"' in html and 'id="catalog-work"' in html
    assert "VTEX PUT /api/logistics/pvt/inventory/skus/1001/warehouses/WH-X" in html
    assert "<td>404</td>" in html and "41 ms" in html and "← Warehouse not found" in html
    assert "VARIO: sales_channel.stockChange" in html
    assert "Failed (UNKNOWN_WAREHOUSE)" in html and "VTEX does not know warehouse WH-X" in html
    assert "another article&#x27;s event" not in html and "another article's event" not in html
    assert html.index("VARIO: sales_channel.stockChange") < html.index("VTEX PUT /api/logistics")  # oldest first


def test_the_mapping_page_shows_the_newest_entries_of_a_long_timeline(admin_client, shop, monkeypatch):
    from sync.catalog import admin as catalog_admin

    monkeypatch.setattr(catalog_admin, "TIMELINE_LIMIT", 3)
    mapping = SkuMappingFactory(channel=shop, vario_article_id="77")
    for n in range(5):
        CatalogTimelineEntryFactory(channel=shop, vario_article_id="77", title=f"entry number {n}")

    html = admin_client.get(reverse("admin:mappings_skumapping_change", args=[mapping.pk])).content.decode()

    assert "Only the newest 3 entries are shown." in html
    assert "entry number 4" in html and "entry number 2" in html and "entry number 1" not in html


# --- the work items -------------------------------------------------------------------------------------------


def test_the_work_list_filters_by_channel_topic_state_and_reason(admin_client, shop):
    other = SalesChannelFactory(code="outlet")
    failed(shop, "77", "INVALID_PRICE", "grossPrice is 0", topic="price")
    failed(shop, "78", "UNKNOWN_WAREHOUSE", UNKNOWN_WH)
    failed(other, "79", "INVALID_PRICE", "grossPrice is 0", topic="price")
    CatalogWorkFactory(channel=shop, vario_article_id="80")

    def shown(**query):
        response = admin_client.get(reverse(WORK_LIST), query)
        assert response.status_code == 200
        return sorted(w.vario_article_id for w in response.context["cl"].result_list)

    assert shown() == ["77", "78", "79", "80"]
    assert shown(reason="INVALID_PRICE") == ["77", "79"]
    assert shown(reason="INVALID_PRICE", channel__id__exact=shop.pk) == ["77"]
    assert shown(topic__exact="stock") == ["78", "80"]
    assert shown(state__exact="queued") == ["80"]


def test_the_work_item_page_is_read_only_even_for_a_superuser(admin_client, shop):
    work = failed(shop, "77", "INVALID_PRICE", "grossPrice is 0")
    url = reverse("admin:catalog_catalogwork_change", args=[work.pk])

    html = admin_client.get(url).content.decode()
    admin_client.post(url, {"state": "done", "reason": "", "message": "edited"})

    assert 'name="state"' not in html and 'name="message"' not in html
    work.refresh_from_db()
    assert (work.state, work.message) == ("failed", "grossPrice is 0")
    assert admin_client.get(reverse("admin:catalog_catalogwork_add")).status_code == 403


def test_hostile_filters_and_searches_do_not_break_the_list(admin_client, shop):
    failed(shop, "77", "INVALID_PRICE", "grossPrice is 0")

    for query in ({"q": "'; DROP TABLE x; --"}, {"q": '"unclosed'}, {"attempts": "many"}, {"o": "99"}):
        assert admin_client.get(reverse(WORK_LIST), query).status_code in (200, 302)
    # PostgreSQL's text refuses a NUL: refused before any query, on both lists.
    for url in (reverse(WORK_LIST), reverse("admin:mappings_skumapping_changelist")):
        for query in ({"q": "77\x00"}, {"state__exact": "\x00"}, {"reason": "a\x00b"}):
            assert admin_client.get(url, query).status_code == 400


# --- retry now ------------------------------------------------------------------------------------------------


def test_retry_asks_first_and_leaves_out_items_it_does_not_apply_to(admin_client, shop, queue):
    target = failed(shop, "77", "INVALID_PRICE", "grossPrice is 0")
    done = CatalogWorkFactory(channel=shop, vario_article_id="78", state="done")
    running = CatalogWorkFactory(channel=shop, vario_article_id="79", state="running")

    response = admin_client.post(
        reverse(WORK_LIST), {"action": "retry", "_selected_action": [target.pk, done.pk, running.pk]}
    )

    assert response.status_code == 200
    assert response.context["applicable_pks"] == [target.pk]
    html = response.content.decode()
    assert "1 catalog work item will be run again now." in html
    assert "done: nothing is left to do" in html and "queued or running already" in html
    target.refresh_from_db()
    assert target.state == "failed" and queue.count == 0  # nothing happens before the confirmation


def test_confirming_queues_the_failed_items_now_and_notes_who_asked(
    admin_client, shop, queue, django_capture_on_commit_callbacks
):
    SkuMappingFactory(channel=shop, vario_article_id="77")
    target = failed(shop, "77", "UNKNOWN_WAREHOUSE", UNKNOWN_WH, attempts=3)
    done = CatalogWorkFactory(channel=shop, vario_article_id="78", state="done")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse(WORK_LIST),
            {"action": "retry", "_selected_action": [target.pk, done.pk], "post": "yes"},
            follow=True,
        )

    assert "1 item queued again." in response.content.decode()
    target.refresh_from_db()
    done.refresh_from_db()
    assert (target.state, target.attempts, target.reason) == ("queued", 0, "")
    assert target.eligible_at <= timezone.now()
    assert done.state == "done"
    assert [(j.func_name, j.args) for j in queue.jobs] == [("sync.catalog.jobs.catalog_push_job", [shop.pk, "stock"])]
    entry = CatalogTimelineEntry.objects.get(vario_article_id="77", kind="operator")
    assert entry.title == "Retry of stock requested by admin"


def test_a_parked_item_whose_sku_is_still_unmapped_stays_parked_and_is_matched_again(admin_client, shop, queue):
    SkuMappingFactory(channel=shop, vario_article_id="77", unmapped=True)
    parked = CatalogWorkFactory(channel=shop, vario_article_id="77", parked=True)

    admin_client.post(reverse(WORK_LIST), {"action": "retry", "_selected_action": [parked.pk], "post": "yes"})

    parked.refresh_from_db()
    assert parked.state == "parked"
    assert CatalogWork.objects.get(vario_article_id="77", topic="match").state == "queued"
    assert "still not mapped" in CatalogTimelineEntry.objects.get(vario_article_id="77", kind="operator").title


def test_a_parked_item_whose_sku_is_mapped_now_is_queued(admin_client, shop, queue):
    SkuMappingFactory(channel=shop, vario_article_id="77")
    parked = CatalogWorkFactory(channel=shop, vario_article_id="77", parked=True)

    admin_client.post(reverse(WORK_LIST), {"action": "retry", "_selected_action": [parked.pk], "post": "yes"})

    parked.refresh_from_db()
    assert parked.state == "queued"
    assert not CatalogWork.objects.filter(topic="match").exists()


# --- failures by cause ----------------------------------------------------------------------------------------


def test_failures_are_grouped_by_reason_warehouse_and_vtex_code(shop):
    old = timezone.now() - timedelta(hours=2)
    for n in range(3):
        failed(shop, str(100 + n), "UNKNOWN_WAREHOUSE", UNKNOWN_WH)
    failed(shop, "200", "UNKNOWN_WAREHOUSE", UNKNOWN_WH.replace("WH-X", "WH-Y"))
    failed(shop, "300", "VTEX_REJECTED", REFUSED_400, topic="price")
    failed(shop, "301", "VTEX_REJECTED", REFUSED_400.replace("1001", "1002"), topic="price")
    CatalogWorkFactory(channel=shop, vario_article_id="400", parked=True)
    CatalogWorkFactory(channel=shop, vario_article_id="500", state="done", reason="", message="Price sent.")
    CatalogWorkFactory(channel=shop, vario_article_id="501", state="skipped", reason="TOGGLE_OFF")
    retrying = CatalogWorkFactory(
        channel=shop, vario_article_id="600", state="queued", attempts=2, reason="VTEX_UNAVAILABLE", message="503"
    )
    CatalogWork.objects.filter(pk=retrying.pk).update(updated_at=old)

    causes = {(c.reason, c.detail): c for c in catalog_failures_by_cause()}

    assert {key: c.count for key, c in causes.items()} == {
        ("UNKNOWN_WAREHOUSE", "WH-X"): 3,
        ("UNKNOWN_WAREHOUSE", "WH-Y"): 1,
        ("VTEX_REJECTED", "HTTP 400 [PRC001]"): 2,
        ("UNMAPPED", ""): 1,
        ("VTEX_UNAVAILABLE", ""): 1,
    }
    assert causes[("UNKNOWN_WAREHOUSE", "WH-X")].title == "VTEX warehouse WH-X does not exist"
    assert "warehouse map" in causes[("UNKNOWN_WAREHOUSE", "WH-X")].hint
    assert causes[("VTEX_REJECTED", "HTTP 400 [PRC001]")].title == "VTEX refused the request (HTTP 400 [PRC001])"
    assert causes[("VTEX_UNAVAILABLE", "")].first_seen == causes[("VTEX_UNAVAILABLE", "")].last_seen
    assert causes[("VTEX_UNAVAILABLE", "")].first_seen < timezone.now() - timedelta(hours=1)


def test_the_causes_page_links_each_cause_to_its_items(admin_client, shop):
    for n in range(3):
        failed(shop, str(100 + n), "UNKNOWN_WAREHOUSE", UNKNOWN_WH)
    failed(shop, "200", "UNKNOWN_WAREHOUSE", UNKNOWN_WH.replace("WH-X", "WH-Y"))
    failed(shop, "300", "VTEX_REJECTED", REFUSED_400, topic="price")
    failed(shop, "301", "VTEX_REJECTED", "vtex PUT /x → 403: Forbidden.", topic="price")

    response = admin_client.get(reverse(CAUSES))
    html = response.content.decode()

    assert response.status_code == 200
    assert "6 items in 4 causes." in html
    assert "VTEX warehouse WH-X does not exist" in html and "fix its role" not in html
    links = {row["cause"].title: row["url"] for row in response.context["causes"]}
    for title, articles in {
        "VTEX warehouse WH-X does not exist": ["100", "101", "102"],
        "VTEX warehouse WH-Y does not exist": ["200"],
        "VTEX refused the request (HTTP 400 [PRC001])": ["300"],
        "VTEX refused the request (HTTP 403)": ["301"],
    }.items():
        listed = admin_client.get(links[title])
        assert listed.status_code == 200, title
        assert sorted(w.vario_article_id for w in listed.context["cl"].result_list) == articles, title


def test_the_causes_page_says_when_nothing_failed(admin_client, shop):
    CatalogWorkFactory(channel=shop, state="done")

    assert "No open failures" in admin_client.get(reverse(CAUSES)).content.decode()


def test_the_work_list_links_to_the_causes_page(admin_client, shop):
    html = admin_client.get(reverse(WORK_LIST)).content.decode()

    assert f'href="{reverse(CAUSES)}"' in html


def test_the_causes_page_answers_only_get(admin_client):
    assert admin_client.post(reverse(CAUSES)).status_code == 405


# --- who may do what ------------------------------------------------------------------------------------------


def test_a_viewer_sees_the_items_and_causes_but_no_action_and_cannot_retry(client, django_user_model, shop, queue):
    work = failed(shop, "77", "INVALID_PRICE", "grossPrice is 0")
    viewer = client_for(client, staff(django_user_model, "viewer", "view_catalogwork"))

    page = viewer.get(reverse(WORK_LIST))
    assert page.status_code == 200
    assert 'name="action"' not in page.content.decode()
    assert viewer.get(reverse(CAUSES)).status_code == 200
    assert viewer.get(reverse("admin:catalog_catalogwork_change", args=[work.pk])).status_code == 200

    for confirmed in ({}, {"post": "yes"}):
        data = {"action": "retry", "_selected_action": [work.pk], **confirmed}
        assert viewer.post(reverse(WORK_LIST), data).status_code == 403
    work.refresh_from_db()
    assert work.state == "failed"
    assert viewer.post(reverse("admin:catalog_catalogwork_change", args=[work.pk]), {}).status_code == 403


def test_staff_without_permissions_gets_403_everywhere(client, django_user_model, shop):
    work = failed(shop, "77", "INVALID_PRICE", "grossPrice is 0")
    nobody = client_for(client, staff(django_user_model, "nobody"))

    assert nobody.get(reverse(WORK_LIST)).status_code == 403
    assert nobody.get(reverse(CAUSES)).status_code == 403
    assert nobody.get(reverse("admin:catalog_catalogwork_change", args=[work.pk])).status_code == 403
    response = nobody.post(reverse(WORK_LIST), {"action": "retry", "_selected_action": [work.pk], "post": "yes"})
    assert response.status_code == 403
    work.refresh_from_db()
    assert work.state == "failed"


def test_a_manager_with_the_change_permission_may_retry(client, django_user_model, shop, queue):
    SkuMappingFactory(channel=shop, vario_article_id="77")
    work = failed(shop, "77", "INVALID_PRICE", "grossPrice is 0")
    manager = client_for(client, staff(django_user_model, "manager", "change_catalogwork"))

    assert manager.get(reverse(CAUSES)).status_code == 200
    manager.post(reverse(WORK_LIST), {"action": "retry", "_selected_action": [work.pk], "post": "yes"})

    work.refresh_from_db()
    assert work.state == "queued"
