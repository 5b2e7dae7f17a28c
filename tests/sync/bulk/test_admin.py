"""The bulk runs' admin (sync.bulk.admin, sync.bulk.views): starting from the channel page through the
confirmation, the run page and its live progress, pause/resume/cancel, a reconciliation's repairs, and who
may do what.

The kind under the form is the real registry's entry for the order status initial sync, replaced by a
scripted kind (``ScriptedKind``) where a test needs a count, a counting error or items without the remotes;
the browser test (tests/browser/test_bulk_runs.py) runs the real kind against the sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mappings.models import SalesChannel
from sync.bulk.kinds import BulkKind, Item, ItemResult, Page, Preview, Scope, StepContext
from sync.bulk.models import BulkRun, BulkRunItem
from sync.bulk.registry import KINDS
from sync.bulk.services import bulk_run_step
from sync.bulk.views import run_progress
from sync.clients.errors import RetryableError
from sync.models import OrderSync, TimelineEntry
from tests.factories import BulkRunFactory, BulkRunItemFactory, OrderLinkFactory, SalesChannelFactory

pytestmark = pytest.mark.django_db

INITIAL = BulkRun.Kind.ORDER_STATUS_INITIAL
START = reverse("admin:bulk_bulkrun_start")


class ScriptedKind(BulkKind):
    """The initial sync's scope rules (it subclasses nothing of the real kind but its fields), with a
    count, a counting error and items a test chooses; items are processed without any remote."""

    kind = INITIAL
    scope_fields = ("since", "until", "erp_states", "ids")
    needs_range = True

    def __init__(self, *, count: int | None = 3, note: str = "", error: Exception | None = None, keys=("1", "2", "3")):
        self.count, self.note, self.error, self.keys = count, note, error, tuple(keys)

    def preview(self, *, channel: SalesChannel, scope: Scope) -> Preview:
        if self.error is not None:
            raise self.error
        return Preview(self.count, self.note)

    def pages(self, run: BulkRun, *, start: Mapping[str, Any]) -> Iterator[Page]:
        if not start.get("read"):
            yield Page(tuple(Item(key, f"AU-{key}") for key in self.keys), {"read": True})

    def process(self, run: BulkRun, item: Item, context: StepContext) -> ItemResult:
        if item.key.startswith("bad"):
            return ItemResult(BulkRunItem.Outcome.FAILED, f"VTEX rejected order {item.key}")
        return ItemResult(BulkRunItem.Outcome.CHANGED, "Invoice sent")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def scripted(monkeypatch):
    def install(**options) -> ScriptedKind:
        kind = ScriptedKind(**options)
        monkeypatch.setitem(KINDS, INITIAL, kind)
        return kind

    install()
    return install


@pytest.fixture
def shop():
    return SalesChannelFactory(code="shop", vario_sales_channel_id="7")


def logged_in(django_user_model, name: str, *perms: str) -> Client:
    user = django_user_model.objects.create_user(name, is_staff=True)
    for dotted in perms:
        app, codename = dotted.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager(django_user_model) -> Client:
    """May start runs: bulk.start_bulkrun, and sees the channels and runs."""
    return logged_in(
        django_user_model,
        "manager",
        "bulk.start_bulkrun",
        "bulk.view_bulkrun",
        "bulk.delete_bulkrun",
        "mappings.view_saleschannel",
    )


@pytest.fixture
def viewer(django_user_model) -> Client:
    return logged_in(django_user_model, "viewer", "bulk.view_bulkrun", "mappings.view_saleschannel")


@pytest.fixture
def staff(django_user_model) -> Client:
    return logged_in(django_user_model, "staff")


def run_url(run: BulkRun, view: str = "change") -> str:
    return reverse(f"admin:bulk_bulkrun_{view}", args=[run.pk])


def form(shop, **fields) -> dict:
    return {"channel": shop.pk, "kind": INITIAL, "since": "2026-11-01", "until": "", "ids": "", **fields}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- starting ---------------------------------------------------------------------------------------------


def test_the_channel_page_links_to_the_start_form_for_who_may_start(manager, viewer, shop):
    page = reverse("admin:mappings_saleschannel_change", args=[shop.pk])

    assert f'href="{START}?channel={shop.pk}"' in manager.get(page).content.decode()
    assert START not in viewer.get(page).content.decode()


def test_the_start_form_comes_with_the_channel_of_the_link_chosen(manager, shop, scripted):
    response = manager.get(f"{START}?channel={shop.pk}")

    assert response.status_code == 200
    assert response.context["form"]["channel"].value() == shop.pk


@pytest.mark.parametrize("query", ["?channel=abc", "?channel=99999999999999999999", "?kind=<script>", "?channel="])
def test_a_hostile_link_to_the_start_form_is_ignored(manager, shop, scripted, query):
    response = manager.get(START + query)

    assert response.status_code == 200
    assert response.context["form"]["channel"].value() is None


def test_the_run_list_offers_start_to_who_may_start(manager, viewer):
    changelist = reverse("admin:bulk_bulkrun_changelist")

    assert "Start a bulk run…" in manager.get(changelist).content.decode()
    assert "Start a bulk run…" not in viewer.get(changelist).content.decode()


def test_a_valid_form_shows_how_many_orders_the_run_touches_and_starts_nothing(manager, shop, scripted):
    scripted(count=12, note="ids VARIO does not know are left out")

    response = manager.post(START, form(shop, dry_run="on"))

    assert response.status_code == 200
    assert "This run touches about 12 orders." in text(response)
    assert "ids VARIO does not know are left out" in text(response)
    assert "as a dry run" in text(response)
    assert not BulkRun.objects.exists()


def test_confirming_starts_the_run_as_the_user_and_goes_to_its_page(
    manager, shop, scripted, django_capture_on_commit_callbacks
):
    data = manager.post(START, form(shop, since="2026-11-01 08:30", until="2026-11-08")).context["form"].data

    with django_capture_on_commit_callbacks() as callbacks:
        response = manager.post(START, {**data.dict(), "confirmed": "yes"})

    run = BulkRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == run_url(run)
    assert (run.channel, run.kind, run.dry_run, run.started_by, run.state) == (
        shop,
        INITIAL,
        False,
        "manager",
        BulkRun.State.QUEUED,
    )
    assert run.scope == {"since": "2026-11-01T08:30:00+00:00", "until": "2026-11-08T00:00:00+00:00"}
    assert len(callbacks) == 1  # its first step, queued once the run is committed


def test_the_confirmation_carries_the_form_so_start_takes_what_was_confirmed(manager, shop, scripted):
    confirm = manager.post(START, form(shop, ids="1042\n1043, 1044", since="", dry_run="on"))
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', confirm.content.decode()))
    hidden["ids"] = hidden["ids"].replace("&#x27;", "'")

    manager.post(START, {**hidden, "confirmed": "yes"})

    run = BulkRun.objects.get()
    assert (run.scope, run.dry_run) == ({"ids": ["1042", "1043", "1044"]}, True)


def test_change_the_scope_goes_back_to_the_filled_form(manager, shop, scripted):
    response = manager.post(START, {**form(shop, erp_states="SAVED"), "edit": "1"})

    assert response.templates[0].name == "admin/bulk/bulkrun/start.html"
    assert response.context["form"]["erp_states"].value() == "SAVED"
    assert not BulkRun.objects.exists()


def test_a_remote_error_while_counting_is_shown_and_the_run_can_still_be_started(manager, shop, scripted):
    scripted(error=RetryableError("Service Unavailable", remote="vario", method="POST", path="/vql", status=503))

    response = manager.post(START, form(shop))

    assert response.status_code == 200
    shown = "Could not count the orders in the scope: RetryableError: vario POST /vql → 503: Service Unavailable"
    assert shown in text(response)
    assert "Start the run" in text(response)
    assert manager.post(START, {**form(shop), "confirmed": "yes"}).status_code == 302
    assert BulkRun.objects.count() == 1


def test_a_count_that_crashes_is_shown_without_its_details_and_the_run_can_still_be_started(manager, shop, scripted):
    scripted(error=KeyError("internal detail"))

    response = manager.post(START, form(shop))

    assert response.status_code == 200
    assert "Unexpected error: KeyError (details in the portal&#x27;s log)" in text(response)
    assert "internal detail" not in text(response)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"since": ""}, "give a date range (since) or a list of ids"),
        ({"since": "2026-11-08", "until": "2026-11-01"}, "since must come before until"),
        ({"vtex_statuses": "invoiced"}, "this kind does not read vtex_statuses"),
        ({"ids": " ".join(str(n) for n in range(1001)), "since": ""}, "at most 1000 ids per run"),
    ],
)
def test_a_scope_the_kind_refuses_is_a_form_error(manager, shop, scripted, fields, error):
    response = manager.post(START, {**form(shop, **fields), "confirmed": "yes"})

    assert response.status_code == 200
    assert error in " ".join(response.context["form"].non_field_errors())
    assert not BulkRun.objects.exists()


@pytest.mark.parametrize(
    "fields",
    [
        {"channel": "abc"},
        {"channel": "99999999999999999999999"},
        {"kind": "drop table"},
        {"since": "2026-99-99"},
        {"since": "\x00"},
        {"ids": "1042\x07"},
        {"erp_states": "x" * 5000},
    ],
)
def test_hostile_input_on_the_start_form_is_a_form_error(manager, shop, scripted, fields):
    response = manager.post(START, {**form(shop, **fields), "confirmed": "yes"})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not BulkRun.objects.exists()


def test_the_real_kind_without_vario_settings_says_so_on_the_confirmation(manager, shop):
    response = manager.post(START, form(shop))

    assert "Could not count the orders in the scope: NotConfigured: VARIO ERP is not configured" in text(response)
    assert "Start the run" in text(response)


def test_an_invalid_date_is_that_fields_error_alone(manager, shop, scripted):
    response = manager.post(START, form(shop, since="2026-13-01"))

    assert response.context["form"].errors == {"since": ["Enter a valid date/time."]}


def test_a_second_run_of_the_same_kind_is_refused_with_a_link_to_the_active_one(manager, shop, scripted):
    active = BulkRunFactory(channel=shop, running=True)

    response = manager.post(START, {**form(shop), "confirmed": "yes"})

    assert response.status_code == 200
    assert f"Not started: run #{active.pk} of this kind is running on shop." in text(response)
    assert f'href="{run_url(active)}"' in response.content.decode()
    assert BulkRun.objects.count() == 1


def test_a_channel_without_a_vario_sales_channel_id_is_a_form_error_from_the_real_kind(manager, settings):
    for name in ("BASE_URL", "TOKEN_URL", "CLIENT_ID", "CLIENT_SECRET", "APP_IDENTIFIER", "REFRESH_TOKEN"):
        setattr(settings, f"VARIO_{name}", "https://vario.invalid/x")  # configured; nothing is sent
    bare = SalesChannelFactory(code="bare", vario_sales_channel_id="")

    response = manager.post(START, form(bare))

    assert response.status_code == 200
    assert "has no VARIO sales channel id" in " ".join(response.context["form"].non_field_errors())


# --- the run page -------------------------------------------------------------------------------------------


def test_the_run_page_shows_what_the_run_covers_and_its_counts(viewer, shop):
    run = BulkRunFactory(channel=shop, running=True, message="VTEX listed at most 30 pages for 2026-11-03")

    page = text(viewer.get(run_url(run)))

    assert "Order status initial sync (ERP → VTEX)" in page
    assert "from 2026-11-01 00:00 to 2026-11-08 00:00" in page
    assert "Started by</th><td>manager" in page
    assert '<strong data-field="percent_text" id="bulk-run-percent">50 %</strong>' in page
    assert 'aria-valuenow="50"' in page
    assert "VTEX listed at most 30 pages for 2026-11-03" in page
    assert re.search(r'id="bulk-run-progress"[^>]*data-active', page)  # the script polls while it is active


def test_an_ended_run_page_does_not_poll(viewer, shop):
    run = BulkRunFactory(channel=shop, finished=True)

    page = viewer.get(run_url(run)).content.decode()

    assert not re.search(r'id="bulk-run-progress"[^>]*data-active', page)
    assert '<strong data-field="percent_text" id="bulk-run-percent">100 %</strong>' in page


def test_the_run_page_lists_the_failed_orders_with_their_reasons_page_by_page(viewer, shop):
    run = BulkRunFactory(channel=shop, finished=True)
    BulkRunItemFactory.create_batch(55, run=run, detail="VARIO answered 404 for the order")
    BulkRunItemFactory(run=run, outcome=BulkRunItem.Outcome.DEFERRED, detail="VTEX said not yet (EOI008)")

    first = viewer.get(run_url(run))
    second = viewer.get(run_url(run) + "?page=2")
    deferred = viewer.get(run_url(run) + "?outcome=deferred")

    assert len(first.context["rows"]) == 50 and "VARIO answered 404 for the order" in text(first)
    assert len(second.context["rows"]) == 6
    assert [r["item"].detail for r in deferred.context["rows"]] == ["VTEX said not yet (EOI008)"]
    assert "Failed (55)" in text(first) and "Deferred to the normal retries (1)" in text(first)


@pytest.mark.parametrize("query", ["?page=abc", "?page=-1", "?page=99999", "?outcome=<x>", "?difference=%00"])
def test_hostile_filters_on_the_run_page_are_ignored(viewer, shop, query):
    run = BulkRunFactory(channel=shop, finished=True)
    BulkRunItemFactory(run=run)

    response = viewer.get(run_url(run) + query)

    assert response.status_code == 200
    assert len(response.context["rows"]) == 1


def test_a_dry_run_item_shows_its_planned_calls_with_the_body_as_indented_json(viewer, shop):
    run = BulkRunFactory(channel=shop, finished=True, dry_run=True)
    call = {
        "remote": "vtex",
        "method": "POST",
        "path": "/api/oms/pvt/orders/1510581234567-01/invoice",
        "body": {"type": "Output", "invoiceNumber": "LS-2044", "items": [{"id": "100", "quantity": 1}]},
    }
    BulkRunItemFactory(run=run, outcome=BulkRunItem.Outcome.CHANGED, detail="", calls=[call])

    page = viewer.get(run_url(run)).content.decode()

    assert "/api/oms/pvt/orders/1510581234567-01/invoice" in page
    assert "<td>VTEX</td><td>POST</td>" in page
    # Indented JSON; PostgreSQL's jsonb keeps no key order, so each key is looked for on a line of its own.
    assert "{\n  &quot;" in page
    assert "\n  &quot;type&quot;: &quot;Output&quot;" in page
    assert "\n  &quot;invoiceNumber&quot;: &quot;LS-2044&quot;" in page


def test_a_reconciliation_shows_its_differences_grouped_by_kind_with_counts(viewer, shop):
    run = BulkRunFactory(channel=shop, finished=True, reconciliation=True)
    BulkRunItemFactory.create_batch(2, run=run, difference=True)
    tracking = {"kind": "tracking", "title": "Tracking missing", "erp": "DHL-1", "vtex": "", "repairable": False}
    BulkRunItemFactory(run=run, difference=True, differences=[tracking], difference_kinds=" tracking ")

    response = viewer.get(run_url(run))
    summaries = [(s.kind, s.orders, s.repairable) for s in response.context["summaries"]]
    only_tracking = viewer.get(run_url(run) + "?difference=tracking")

    assert summaries == [("status", 2, 2), ("tracking", 1, 0)]
    assert [r["differences"][0]["title"] for r in only_tracking.context["rows"]] == ["Tracking missing"]
    assert "not repairable" in text(only_tracking)


def test_a_viewer_sees_no_buttons(viewer, shop):
    run = BulkRunFactory(channel=shop, running=True, reconciliation=True)
    BulkRunItemFactory(run=run, difference=True)

    page = viewer.get(run_url(run)).content.decode()

    for view in ("pause", "resume", "cancel", "repair"):
        assert run_url(run, view) not in page


@pytest.mark.parametrize(
    ("state", "buttons"),
    [
        (BulkRun.State.QUEUED, {"pause", "cancel"}),
        (BulkRun.State.RUNNING, {"pause", "cancel"}),
        (BulkRun.State.PAUSED, {"resume", "cancel"}),
        (BulkRun.State.FINISHED, set()),
        (BulkRun.State.CANCELLED, set()),
        (BulkRun.State.FAILED, set()),
    ],
)
def test_the_buttons_shown_are_those_that_apply(manager, shop, state, buttons):
    run = BulkRunFactory(channel=shop, state=state)

    page = manager.get(run_url(run)).content.decode()

    assert {view for view in ("pause", "resume", "cancel") if run_url(run, view) in page} == buttons


def test_the_run_page_needs_the_view_permission(staff, client, shop):
    run = BulkRunFactory(channel=shop)

    assert staff.get(run_url(run)).status_code == 403
    assert client.get(run_url(run)).status_code == 302  # anonymous: to the login page


def test_the_run_page_saves_nothing_on_a_post(admin_client, shop):
    run = BulkRunFactory(channel=shop, running=True)

    response = admin_client.post(run_url(run), {"state": "finished", "done": "4"})

    run.refresh_from_db()
    assert response.status_code == 405
    assert (run.state, run.done) == (BulkRun.State.RUNNING, 2)


# --- progress -----------------------------------------------------------------------------------------------


def test_the_progress_view_gives_counts_rate_and_time_left(viewer, shop):
    run = BulkRunFactory(
        channel=shop,
        state=BulkRun.State.RUNNING,
        started_at=timezone.now() - timedelta(minutes=2),
        total=100,
        done=20,
        changed=5,
        unchanged=12,
        failed=3,
    )

    data = viewer.get(run_url(run, "progress")).json()

    assert {k: data[k] for k in ("state", "active", "total", "done", "changed", "unchanged", "failed", "percent")} == {
        "state": "running",
        "active": True,
        "total": 100,
        "done": 20,
        "changed": 5,
        "unchanged": 12,
        "failed": 3,
        "percent": 20,
    }
    assert data["rate_per_minute"] == pytest.approx(10, rel=0.05)
    assert data["eta_seconds"] == pytest.approx(480, rel=0.05)  # 80 left at 10 per minute
    assert data["eta_text"] == "about 8 min"


def test_progress_without_a_known_total_has_no_percent_and_no_time_left(shop):
    run = BulkRunFactory.build(channel=shop, state=BulkRun.State.RUNNING, total=None, done=0)

    progress = run_progress(run, now=timezone.now())

    assert (progress["percent"], progress["eta_seconds"], progress["eta_text"]) == (None, None, "not known yet")


def test_a_paused_runs_rate_stops_at_its_last_progress(shop):
    started = timezone.now() - timedelta(hours=1)
    run = BulkRunFactory.build(
        channel=shop,
        state=BulkRun.State.PAUSED,
        started_at=started,
        heartbeat_at=started + timedelta(minutes=5),
        total=100,
        done=50,
    )

    progress = run_progress(run, now=timezone.now())

    assert (progress["rate_per_minute"], progress["eta_text"]) == (10.0, "paused")


def test_the_progress_view_needs_the_view_permission(staff, client, shop):
    run = BulkRunFactory(channel=shop)

    assert staff.get(run_url(run, "progress")).status_code == 403
    assert client.get(run_url(run, "progress")).status_code == 302
    assert staff.get(reverse("admin:bulk_bulkrun_progress", args=["999999"])).status_code == 404


def test_the_progress_follows_the_runs_steps_to_the_end(manager, shop, scripted, settings, redis_conn):
    scripted(keys=("1", "bad-2", "3", "4"), count=4)
    settings.BULK_STEP_SECONDS = 0  # one item a step: each step moves the bar
    manager.post(START, {**form(shop), "confirmed": "yes"})
    run = BulkRun.objects.get()
    seen = []

    for _ in range(4):
        bulk_run_step(run_id=run.pk)
        seen.append(manager.get(run_url(run, "progress")).json()["percent"])
    bulk_run_step(run_id=run.pk)  # nothing left: the run ends
    data = manager.get(run_url(run, "progress")).json()
    page = manager.get(run_url(run))

    assert seen == [25, 50, 75, 100]
    ended = (data["state"], data["active"], data["done"], data["changed"], data["failed"])
    assert ended == ("finished", False, 4, 3, 1)
    assert [(r["item"].key, r["item"].detail) for r in page.context["rows"] if r["item"].outcome == "failed"] == [
        ("bad-2", "VTEX rejected order bad-2")
    ]


# --- pause, resume, cancel ----------------------------------------------------------------------------------


def test_pause_stops_a_running_run_and_says_so(manager, shop):
    run = BulkRunFactory(channel=shop, running=True)

    response = manager.post(run_url(run, "pause"))

    run.refresh_from_db()
    assert (response.status_code, response["Location"]) == (302, run_url(run))
    assert run.state == BulkRun.State.PAUSED
    assert messages_of(response) == [
        "Paused: the run stops after the order in hand and goes on from there when resumed."
    ]


def test_resume_sets_a_paused_run_going_and_queues_its_next_step(manager, shop, django_capture_on_commit_callbacks):
    run = BulkRunFactory(channel=shop, running=True, state=BulkRun.State.PAUSED)

    with django_capture_on_commit_callbacks() as callbacks:
        manager.post(run_url(run, "resume"))

    run.refresh_from_db()
    assert run.state == BulkRun.State.RUNNING
    assert len(callbacks) == 1


def test_cancel_asks_first(manager, shop):
    run = BulkRunFactory(channel=shop, running=True)

    response = manager.post(run_url(run, "cancel"))

    run.refresh_from_db()
    assert response.status_code == 200
    assert "It stops after the order in hand and cannot be resumed." in text(response)
    assert "2 orders of the scope will not be processed" in text(response)
    assert run.state == BulkRun.State.RUNNING


def test_cancel_confirmed_cancels(manager, shop):
    run = BulkRunFactory(channel=shop, running=True)

    response = manager.post(run_url(run, "cancel"), {"post": "yes"})

    run.refresh_from_db()
    assert response.status_code == 302
    assert (run.state, run.finished_at is not None) == (BulkRun.State.CANCELLED, True)


@pytest.mark.parametrize("view", ["pause", "resume", "cancel"])
def test_a_state_change_that_no_longer_applies_is_a_message_not_an_error(manager, shop, view):
    run = BulkRunFactory(channel=shop, finished=True)

    response = manager.post(run_url(run, view), {"post": "yes"})

    run.refresh_from_db()
    assert response.status_code == 302
    assert messages_of(response) == [f"Could not {view} it: run #{run.pk} is finished."]
    assert run.state == BulkRun.State.FINISHED


@pytest.mark.parametrize("view", ["pause", "resume", "cancel", "repair"])
def test_the_buttons_views_answer_only_a_post(manager, shop, view):
    run = BulkRunFactory(channel=shop, running=True)

    assert manager.get(run_url(run, view)).status_code == 405


@pytest.mark.parametrize("view", ["pause", "cancel"])
@pytest.mark.parametrize("who", ["viewer", "staff"])
def test_without_the_start_permission_a_state_change_is_refused(request, shop, view, who):
    run = BulkRunFactory(channel=shop, running=True)

    response = request.getfixturevalue(who).post(run_url(run, view), {"post": "yes"})

    run.refresh_from_db()
    assert response.status_code == 403
    assert run.state == BulkRun.State.RUNNING


def test_a_state_change_needs_the_csrf_token(django_user_model, shop):
    user = django_user_model.objects.create_superuser("csrf", "csrf@example.com", None)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    run = BulkRunFactory(channel=shop, running=True)

    response = client.post(run_url(run, "pause"))

    run.refresh_from_db()
    assert response.status_code == 403
    assert run.state == BulkRun.State.RUNNING


def test_a_state_change_of_an_unknown_run_is_404(manager):
    assert manager.post(reverse("admin:bulk_bulkrun_pause", args=["999999"])).status_code == 404
    assert manager.post(reverse("admin:bulk_bulkrun_pause", args=["abc"])).status_code == 404


# --- repairs --------------------------------------------------------------------------------------------------


@pytest.fixture
def reconciled(shop):
    """A finished reconciliation: two orders with a repairable status difference, one with a tracking
    difference no sync changes."""
    run = BulkRunFactory(channel=shop, finished=True, reconciliation=True)
    status = BulkRunItemFactory.create_batch(2, run=run, difference=True)
    tracking = {"kind": "tracking", "title": "Courier not integrated", "erp": "X", "vtex": "", "repairable": False}
    other = BulkRunItemFactory(run=run, difference=True, differences=[tracking], difference_kinds=" tracking ")
    return run, status, other


def test_repairing_one_order_asks_first_then_requests_its_sync(manager, reconciled):
    run, (first, second), _ = reconciled

    asked = manager.post(run_url(run, "repair"), {"item": first.pk})
    done = manager.post(run_url(run, "repair"), {"item": first.pk, "post": "yes"})

    assert "1 order will be synced now" in text(asked)
    sync = OrderSync.objects.get()
    assert (sync.kind, sync.key, sync.status) == (OrderSync.Kind.STATUS, first.order_link.erp_order_id, "pending")
    assert sync.timeline.filter(
        kind=TimelineEntry.Kind.OPERATOR, title="Repair requested by manager after reconciliation"
    ).exists()
    assert messages_of(done) == ["1 order queued for a sync."]
    first.refresh_from_db(), second.refresh_from_db()
    assert first.repaired_at is not None and second.repaired_at is None


def test_repairing_a_kind_syncs_every_order_with_a_repairable_difference_of_it(manager, reconciled):
    run, status_items, _ = reconciled

    asked = manager.post(run_url(run, "repair"), {"kind": "status"})
    done = manager.post(run_url(run, "repair"), {"kind": "status", "post": "yes"})

    assert "2 orders will be synced now" in text(asked)
    # A real reconciliation of just those orders, in the bulk lane; the browser goes to its page.
    repair = BulkRun.objects.exclude(pk=run.pk).get()
    assert (repair.kind, repair.dry_run, repair.started_by) == ("reconciliation", False, "manager")
    assert sorted(repair.scope["ids"]) == sorted(i.order_link.vtex_order_id for i in status_items)
    assert done["Location"] == run_url(repair)
    assert set(run.items.filter(repaired_at__isnull=False)) == set(status_items)


def test_a_kind_with_no_repairable_difference_repairs_nothing(manager, reconciled):
    run, _, other = reconciled

    response = manager.post(run_url(run, "repair"), {"kind": "tracking", "post": "yes"})
    one = manager.post(run_url(run, "repair"), {"item": other.pk, "post": "yes"})

    assert response.status_code == one.status_code == 302
    assert "Nothing to repair" in messages_of(response)[0]
    assert not OrderSync.objects.exists()


def test_an_order_link_without_an_erp_order_is_reported_not_repaired(manager, shop):
    run = BulkRunFactory(channel=shop, finished=True, reconciliation=True)
    item = BulkRunItemFactory(
        run=run, difference=True, order_link=OrderLinkFactory(channel=shop, erp_order_id="", erp_order_number="")
    )

    response = manager.post(run_url(run, "repair"), {"item": item.pk, "post": "yes"})

    assert response.status_code == 302
    assert "has no ERP order" in messages_of(response)[0]
    assert not OrderSync.objects.exists()


@pytest.mark.parametrize(
    "data", [{}, {"item": "abc"}, {"item": "99999999999999999999999"}, {"item": "²"}, {"kind": "x" * 500}]
)
def test_a_repair_of_nothing_or_of_garbage_is_a_message(manager, reconciled, data):
    run, _, _ = reconciled

    response = manager.post(run_url(run, "repair"), {**data, "post": "yes"})

    assert response.status_code == 302
    assert not OrderSync.objects.exists()


def test_an_item_of_another_run_is_not_repaired_through_this_one(manager, reconciled, shop):
    run, _, _ = reconciled
    other_run = BulkRunFactory(channel=shop, finished=True, reconciliation=True)
    elsewhere = BulkRunItemFactory(run=other_run, difference=True)

    manager.post(run_url(run, "repair"), {"item": elsewhere.pk, "post": "yes"})

    assert not OrderSync.objects.exists()


def test_only_a_reconciliation_is_repaired(manager, shop):
    run = BulkRunFactory(channel=shop, finished=True)
    item = BulkRunItemFactory(run=run, difference=True)

    response = manager.post(run_url(run, "repair"), {"item": item.pk, "post": "yes"})

    assert messages_of(response) == ["Only a reconciliation's differences can be repaired."]
    assert not OrderSync.objects.exists()


def test_the_repair_buttons_are_shown_to_who_may_start(manager, viewer, reconciled):
    run, (first, _), _ = reconciled

    managers = manager.get(run_url(run)).content.decode()

    assert 'value="Repair all of this kind…"' in managers
    assert f'<input type="hidden" name="item" value="{first.pk}">' in managers
    viewers = viewer.get(run_url(run)).content.decode()
    assert "Repair" not in re.sub(r"Repairable|repairable", "", viewers)


@pytest.mark.parametrize("who", ["viewer", "staff"])
def test_without_the_start_permission_a_repair_is_refused(request, reconciled, who):
    run, (first, _), _ = reconciled

    response = request.getfixturevalue(who).post(run_url(run, "repair"), {"item": first.pk, "post": "yes"})

    assert response.status_code == 403
    assert not OrderSync.objects.exists()


# --- delete ---------------------------------------------------------------------------------------------------


def test_an_active_run_cannot_be_deleted_an_ended_one_can(manager, shop):
    active = BulkRunFactory(channel=shop, running=True)
    ended = BulkRunFactory(channel=shop, finished=True, kind=BulkRun.Kind.RECONCILIATION)
    BulkRunItemFactory.create_batch(3, run=ended)

    assert manager.get(run_url(active, "delete")).status_code == 403
    assert "3 item(s) of these runs" in text(manager.get(run_url(ended, "delete")))
    assert manager.post(run_url(ended, "delete"), {"post": "yes"}).status_code == 302
    assert list(BulkRun.objects.all()) == [active]
    assert not BulkRunItem.objects.exists()


def test_deleting_selected_runs_protects_the_active_ones(manager, shop):
    active = BulkRunFactory(channel=shop, running=True)
    ended = BulkRunFactory(channel=shop, finished=True, kind=BulkRun.Kind.RECONCILIATION)

    response = manager.post(
        reverse("admin:bulk_bulkrun_changelist"),
        {"action": "delete_selected", "_selected_action": [active.pk, ended.pk], "post": "yes"},
    )

    assert response.status_code == 200
    assert "is running: cancel it first" in text(response)
    assert BulkRun.objects.count() == 2


def test_the_list_shows_state_and_progress_newest_first(viewer, shop):
    older = BulkRunFactory(channel=shop, finished=True)
    newer = BulkRunFactory(channel=shop, running=True, kind=BulkRun.Kind.RECONCILIATION)

    response = viewer.get(reverse("admin:bulk_bulkrun_changelist"))

    assert [r.pk for r in response.context["cl"].result_list] == [newer.pk, older.pk]
    page = text(response)
    assert "2 / 4" in page and "4 / 4" in page
    assert "Running</span>" in page and "Finished</span>" in page
