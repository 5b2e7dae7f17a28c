"""A dry run of one order (sync/dry_run.py): the VTEX order after each action (sync.plan.vtex_order_after),
the HTTP layer holding writes back (sync.clients.http.writes_held), the services against the sandbox over
HTTP (nothing sent, nothing stored), and the order sync page's "Dry run". The comparison with the calls a
real run then sends is tests/e2e/test_dry_run.py."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
import responses
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from mappings.models import CarrierCode, OrderLink
from mappings.services import status_mappings_load_defaults
from portal.redaction import MASK
from sandbox.harness import VTEX_APP_KEY, VTEX_APP_TOKEN, Sim, order_pair, vario_settings
from sync import dry_run as dry_run_module
from sync.clients.dtos import ChannelOrderResult, ErpDocument, VtexReceipt
from sync.clients.errors import RejectedError
from sync.clients.http import HttpClient, PlannedCall, writes_held
from sync.clients.vario import VarioClient, VarioCredentials
from sync.clients.vtex import vtex_error
from sync.dry_run import (
    DryRun,
    erp_document_created,
    order_import_dry_run,
    order_status_dry_run,
    remote_answer,
)
from sync.models import InboxEvent, OrderSync, TimelineEntry
from sync.outcomes import Conflict, NotYet
from sync.plan import (
    BARRIERS,
    CancelOrder,
    OutboundFacts,
    PatchTracking,
    PostInvoice,
    PutTrackingEvents,
    RemoveItems,
    StartHandling,
    outbound_plan,
    vtex_order_after,
)
from sync.transforms import CarrierInfo, erp_fulfilment_state_from
from tests.factories import OrderSyncFactory, SalesChannelFactory
from tests.support.stack import FAST_SYNC
from tests.sync.builders import erp_order, follow_up, order_line, package, shipment, vtex_item, vtex_order

NOW = datetime(2026, 3, 3, 12, tzinfo=UTC)
DHL = CarrierInfo(courier="DHL", tracking_url_template="https://dhl.example/t?id={tracking_number}")


def two_items(status="handling", packages=(), **kwargs):
    return vtex_order(
        [vtex_item(0, quantity=2, price=2950), vtex_item(1, quantity=1, price=4000)],
        status=status,
        shipping=1700,
        packages=packages,
        **kwargs,
    )


def invoice(number, items, *, value, type_="Output", tracking=""):
    return {
        "type": type_,
        "issuanceDate": "2026-03-03T12:00:00+00:00",
        "invoiceNumber": number,
        "invoiceValue": str(value),
        "courier": "DHL" if tracking else "",
        "trackingNumber": tracking,
        "trackingUrl": "",
        "items": [{"id": sku, "price": price, "quantity": quantity} for sku, quantity, price in items],
    }


# --- the VTEX order after an action (pure) ---------------------------------------------------------------


def test_start_handling_moves_a_ready_order_to_handling_and_leaves_any_other_alone():
    assert vtex_order_after(two_items("ready-for-handling"), StartHandling()).status == "handling"
    assert vtex_order_after(two_items("invoiced"), StartHandling()).status == "invoiced"


def test_a_partial_invoice_becomes_a_package_on_the_skus_lines_and_the_order_verifies_it():
    order = two_items("handling")

    after = vtex_order_after(order, PostInvoice(invoice("LS-1", [("100", 2, 2950)], value=7600), "2044"))

    [sale] = after.packages
    assert (sale.type, sale.invoice_number, sale.invoice_value) == ("Output", "LS-1", 7600)
    assert [(i.item_index, i.quantity, i.price) for i in sale.items] == [(0, 2, 2950)]
    assert after.status == "invoice"
    assert after.items == order.items and after.value == order.value


def test_a_skus_units_fill_its_first_line_then_the_next():
    order = vtex_order([vtex_item(0, sku="7", quantity=1), vtex_item(1, sku="7", quantity=2)], status="handling")
    first = vtex_order_after(order, PostInvoice(invoice("LS-1", [("7", 2, 1000)], value=2000), ""))

    second = vtex_order_after(first, PostInvoice(invoice("LS-2", [("7", 1, 1000)], value=1500), ""))

    assert [(i.item_index, i.quantity) for i in first.packages[0].items] == [(0, 1), (1, 1)]
    assert [(i.item_index, i.quantity) for i in second.packages[1].items] == [(1, 1)]


def test_the_invoice_that_brings_the_sum_to_the_value_makes_the_order_invoiced():
    order = two_items("invoice", packages=[package("LS-1", [(0, 2, 2950)], value=7600)])

    after = vtex_order_after(order, PostInvoice(invoice("LS-2", [("101", 1, 4000)], value=4000), ""))

    assert after.status == "invoiced"
    assert [p.invoice_number for p in after.packages] == ["LS-1", "LS-2"]


def test_a_return_invoice_is_a_package_and_the_status_stays():
    order = two_items("invoiced", packages=[package("LS-1", [(0, 2, 2950), (1, 1, 4000)], value=11600)])

    after = vtex_order_after(order, PostInvoice(invoice("RE-1", [("100", 1, 2950)], value=2950, type_="Input"), ""))

    assert after.status == "invoiced"
    assert [(p.type, [(i.item_index, i.quantity) for i in p.items]) for p in after.invoices("Input")] == [
        ("Input", [(0, 1)])
    ]


def test_a_tracking_patch_sets_the_tracking_of_that_invoice_only():
    order = two_items(
        "invoice", packages=[package("LS-1", [(0, 2, 2950)], value=7600), package("LS-2", [(1, 1, 4000)], value=4000)]
    )

    after = vtex_order_after(order, PatchTracking("LS-2", "0034", "https://dhl.example/t?id=0034", "DHL", None))

    assert [(p.invoice_number, p.tracking_number, p.courier) for p in after.packages] == [
        ("LS-1", "", ""),
        ("LS-2", "0034", "DHL"),
    ]
    assert after.packages[1].tracking_url == "https://dhl.example/t?id=0034"


def test_tracking_events_are_appended_and_a_delivery_finishes_the_package():
    order = two_items("invoiced", packages=[package("LS-1", [(0, 2, 2950)], value=11600, tracking="0034")])
    scan = {"city": "Berlin", "state": "BE", "description": "Picked up", "date": "2026-03-03"}
    first = vtex_order_after(
        order, PutTrackingEvents("LS-1", {"isDelivered": False, "deliveredDate": None, "events": [scan]})
    )

    second = vtex_order_after(
        first, PutTrackingEvents("LS-1", {"isDelivered": True, "deliveredDate": "2026-03-04 10:00", "events": [scan]})
    )

    assert first.packages[0].tracking_event_contents == (("Berlin", "BE", "Picked up"),)
    assert not first.packages[0].delivered
    assert second.packages[0].tracking_events == 2  # VTEX appends a resent event (reference §8.3)
    assert second.packages[0].delivered


def test_an_item_removal_shrinks_the_line_and_the_value_and_completes_a_partly_invoiced_order():
    order = two_items("invoice", packages=[package("LS-1", [(0, 2, 2950)], value=7600)])
    changes = {"reason": "closed", "remove": {"items": [{"id": "101", "quantity": 1, "price": 4000, "uniqueId": "U1"}]}}

    after = vtex_order_after(order, RemoveItems(changes, targets={"U1": 0}))

    assert [item.quantity for item in after.items] == [2, 0]
    assert after.value == order.value - 4000 == 7600
    assert after.status == "invoiced"


def test_a_removal_by_unique_id_leaves_another_line_of_the_same_sku():
    order = vtex_order([vtex_item(0, sku="7", quantity=1), vtex_item(1, sku="7", quantity=2)], status="handling")
    changes = {"reason": "x", "remove": {"items": [{"id": "7", "quantity": 1, "price": 1000, "uniqueId": "U1"}]}}

    after = vtex_order_after(order, RemoveItems(changes))

    assert [item.quantity for item in after.items] == [1, 1]
    assert after.status == "handling"


def test_a_cancel_leaves_the_order_cancelling_and_a_verdict_changes_nothing():
    order = two_items("handling")

    assert vtex_order_after(order, CancelOrder(reason="r", note="n")).status == "cancel"
    assert vtex_order_after(order, NotYet("later")) == order
    assert vtex_order_after(order, Conflict("a person")) == order


def _sent_until_settled(facts: OutboundFacts, platform_status: str) -> tuple[list, list]:
    """What a dry run does: send the plan up to a barrier or verdict, read the order back as it would be
    after those actions, plan again. Returns the actions sent and the last plan."""
    sent: list = []
    for _ in range(8):
        plan = outbound_plan(facts, platform_status=platform_status)
        if not plan or isinstance(plan[0], Conflict | NotYet):
            return sent, plan
        for action in plan:
            if isinstance(action, Conflict | NotYet):
                break
            sent.append(action)
            facts = replace(facts, vtex_order=vtex_order_after(facts.vtex_order, action))
            if isinstance(action, BARRIERS):
                break
    raise AssertionError(f"the plan never settled; sent {sent}")


def _facts(vtex, order, **kwargs) -> OutboundFacts:
    state = erp_fulfilment_state_from(order, cancelled_state_keys=["CANCELLED"], returns=kwargs.get("returns", ()))
    return OutboundFacts(order=order, vtex_order=vtex, now=NOW, carriers={"DHL": DHL}, erp_state=state, **kwargs)


DELIVERED = erp_order([order_line(1, quantity=2, committed=2), order_line(2, committed=1)], state="DELIVERED")
SITUATIONS = {
    "shipped in full with tracking": (
        _facts(
            two_items("ready-for-handling"),
            DELIVERED,
            delivery_notes=[follow_up("1", "LS-1", {1: 2, 2: 1})],
            shipments={"1": [shipment("1", "DHL", "0034")]},
        ),
        "fulfilled",
        [StartHandling, PostInvoice],
    ),
    "split shipment": (
        _facts(
            two_items("ready-for-handling"),
            DELIVERED,
            delivery_notes=[follow_up("1", "LS-1", {1: 2}), follow_up("2", "LS-2", {2: 1}, date="2026-03-04")],
        ),
        "fulfilled",
        [StartHandling, PostInvoice, PostInvoice],
    ),
    "the rest closed after a partial delivery": (
        _facts(
            two_items("handling"),
            erp_order([order_line(1, quantity=2, committed=2, complete=True), order_line(2, complete=True)]),
            delivery_notes=[follow_up("1", "LS-1", {1: 2})],
        ),
        "fulfilled",
        [RemoveItems, PostInvoice],
    ),
    "tracking after the invoice": (
        _facts(
            two_items("invoiced", packages=[package("LS-1", [(0, 2, 2950), (1, 1, 4000)], value=11600)]),
            DELIVERED,
            delivery_notes=[follow_up("1", "LS-1", {1: 2, 2: 1})],
            shipments={"1": [shipment("1", "DHL", "0034")]},
        ),
        "fulfilled",
        [PatchTracking],
    ),
    "returned before it was invoiced": (
        _facts(
            two_items("handling"),
            DELIVERED,
            delivery_notes=[follow_up("1", "LS-1", {1: 2, 2: 1})],
            returns=[follow_up("5", "RE-1", {1: 1}, category="CUSTOMER_GOODS_RETURN", date="2026-03-05")],
        ),
        "refunded",
        [PostInvoice, PostInvoice],
    ),
    "cancelled": (
        _facts(two_items("handling"), erp_order([order_line(1, quantity=2), order_line(2)], state="CANCELLED")),
        "cancelled",
        [CancelOrder],
    ),
}


@pytest.mark.parametrize("situation", SITUATIONS)
def test_the_plans_own_actions_read_back_leave_nothing_to_send(situation):
    # The plan and vtex_order_after agree: once the order shows what was sent, nothing is missing.
    facts, platform_status, expected = SITUATIONS[situation]

    sent, last = _sent_until_settled(facts, platform_status)

    assert [type(action) for action in sent] == expected
    assert last == []


# --- the HTTP layer holds writes ---------------------------------------------------------------------------

BASE = "https://demostore.vtexcommercestable.com.br"


def vtex_http(recorded=None) -> HttpClient:
    return HttpClient(
        remote="vtex",
        base_url=BASE,
        headers={"X-VTEX-API-AppToken": "SECRET-TOKEN"},
        timeout=(1, 1),
        error_reader=vtex_error,
        recorder=recorded.append if recorded is not None else None,
    )


@responses.activate
def test_a_held_write_is_recorded_answered_and_never_sent():
    held: list[PlannedCall] = []
    responses.patch(f"{BASE}/api/order-system/orders/1-01/changes", status=202, json={"sent": True})
    recorded = []

    with writes_held(lambda call: (held.append(call), (202, {"requestId": "dry"}))[1]):
        answer = vtex_http(recorded).request_json(
            "PATCH", "/api/order-system/orders/1-01/changes", json_body={"reason": "r"}, params={"accountName": "a"}
        )

    assert answer == {"requestId": "dry"}
    assert held == [
        PlannedCall("vtex", "PATCH", "/api/order-system/orders/1-01/changes?accountName=a", {"reason": "r"})
    ]
    assert len(responses.calls) == 0 and recorded == []  # not sent, so no call on the timeline either


@responses.activate
def test_reads_and_calls_marked_read_are_sent_while_writes_are_held():
    responses.get(f"{BASE}/x", json={"read": 1})
    responses.post(f"{BASE}/query", json={"read": 2})
    held = []

    with writes_held(lambda call: (held.append(call), (200, None))[1]):
        client = vtex_http()
        assert client.request_json("GET", "/x") == {"read": 1}
        assert client.request_json("POST", "/query", json_body={"q": 1}, read=True) == {"read": 2}

    assert held == [] and len(responses.calls) == 2


@responses.activate
def test_writes_are_sent_again_once_the_dry_run_is_over():
    responses.post(f"{BASE}/w", json={"sent": True})
    with writes_held(lambda call: (200, None)):
        vtex_http().request("POST", "/w")

    assert vtex_http().request_json("POST", "/w") == {"sent": True}
    assert len(responses.calls) == 1


def test_a_held_bodys_secrets_are_masked():
    held = []
    body = {
        "marketplaceOrderId": "M-1",
        "connectorEndpoint": "https://portal.example.com/webhooks/vtex/shop/THE-CONNECTOR-SECRET",
        "appToken": "THE-TOKEN",
        "nested": [{"client_secret": "X"}],
    }
    with writes_held(lambda call: (held.append(call), (200, None))[1]):
        vtex_http().request("PUT", "/api/order-integration/orders/status", json_body=body)

    [call] = held
    shown = json.dumps(call.body)
    assert "THE-CONNECTOR-SECRET" not in shown and "THE-TOKEN" not in shown and '"X"' not in shown
    assert call.body["connectorEndpoint"] == f"https://portal.example.com/webhooks/vtex/shop/{MASK}"
    assert call.body["marketplaceOrderId"] == "M-1"


def test_a_refusal_the_tap_predicts_is_raised_as_the_remotes_would_be():
    with writes_held(lambda call: (400, {"error": {"code": "X1", "message": "no"}})), pytest.raises(RejectedError):
        vtex_http().request("POST", "/w")


@responses.activate
def test_varios_token_grant_and_queries_are_sent_and_its_create_is_held(settings, redis_conn):
    credentials = VarioCredentials(
        base_url="https://acme.vario.cloud",
        token_url="https://sso.example/token",
        client_id="portal-dry",
        client_secret="S",
        app_identifier="app",
        refresh_token="R",
    )
    vario = VarioClient(credentials=credentials, timeout=(1, 1), redis_url=settings.REDIS_URL)
    vario.drop_token()
    responses.post("https://sso.example/token", json={"access_token": "A", "expires_in": 60})
    responses.post("https://acme.vario.cloud/api/vario/cmn/computed-queries/execute", json={"data": []})
    held = []
    request = {"transitionId": "create", "document": {"externalId": "1-01", "lines": [{"articleId": 5, "quantity": 1}]}}

    with writes_held(lambda call: (held.append(call), remote_answer(call))[1]):
        assert vario.find_order_by_external_id(sales_channel_id="7", external_id="1-01") is None
        created = vario.create_document(request)

    assert [call.request.url for call in responses.calls] == [
        "https://sso.example/token",
        "https://acme.vario.cloud/api/vario/cmn/computed-queries/execute",
    ]
    assert held == [PlannedCall("vario", "POST", "/api/vario/erp/documents", request)]
    assert (created.category, created.state_key, created.external_identifier) == ("CUSTOMER_ORDER", "SAVED", "")
    assert [(line.id, line.quantity) for line in created.lines] == [("(new ERP order) line 1", 1)]


def test_the_predicted_answers_read_as_the_clients_read_the_real_ones():
    def answer(remote, method, path, body=None):
        return remote_answer(PlannedCall(remote, method, path, body))

    assert answer("vtex", "POST", "/api/oms/pvt/orders/1-01/start-handling") == (204, None)
    status, receipt = answer("vtex", "POST", "/api/oms/pvt/orders/1-01/invoice", {"type": "Output"})
    assert status == 200 and VtexReceipt.from_json(receipt).order_id == "1-01"
    result = ChannelOrderResult.from_json(
        answer("vtex", "PUT", "/api/order-integration/orders/status?an=a", {"marketplaceOrderId": "M-1"})[1]
    )
    assert (result.success, result.code, result.not_yet, result.marketplace_order_id) == (True, "SOI003", False, "M-1")
    assert answer("vtex", "PATCH", "/api/order-system/orders/1-01/changes?accountName=a", {"reason": "r"})[0] == 202
    document = ErpDocument.from_json(erp_document_created({"document": {"externalId": "1-01", "lines": []}}))
    assert (document.id, document.number, document.category) == (
        "(new ERP order)",
        "(number VARIO assigns)",
        "CUSTOMER_ORDER",
    )


# --- the services against the sandbox over HTTP ------------------------------------------------------------

TWO_ITEMS = [("SKU-RED-M", 2, 1999), ("SKU-BLUE-L", 1, 2499)]


@pytest.fixture
def sim(settings, live_sandbox, sandbox_url, redis_conn):
    for name, value in {**vario_settings(sandbox_url), **FAST_SYNC}.items():
        setattr(settings, name, float(value) if name in FAST_SYNC else value)
    return Sim(sandbox_url)


@pytest.fixture
def shop(db, sim, live_sandbox):
    channel = SalesChannelFactory(
        code="shop",
        vtex_account_name="demostore",
        vtex_base_url_override=live_sandbox.url,
        vtex_app_key=VTEX_APP_KEY,
        vtex_app_token=VTEX_APP_TOKEN,
        vario_sales_channel_id="7",
    )
    status_mappings_load_defaults(channel=channel)
    CarrierCode.objects.create(
        channel=channel,
        erp_carrier_key="DHL",
        vtex_courier_name="DHL",
        tracking_url_template="https://www.dhl.de/track?piececode={tracking_number}",
    )
    return channel


def writes_received(sim) -> list[dict]:
    """What the sandbox received that could change something (its token endpoint and VQL only read)."""
    return [
        r
        for r in sim.get("requests")
        if r["method"] != "GET" and "/computed-queries/execute" not in r["path"] and "/token" not in r["path"]
    ]


def portal_state() -> tuple:
    return (
        list(OrderSync.objects.values()),
        list(OrderLink.objects.values()),
        TimelineEntry.objects.count(),
        InboxEvent.objects.count(),
    )


def test_a_status_dry_run_predicts_start_handling_and_the_invoice_and_sends_and_stores_nothing(sim, shop):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "00340434161234567890"})
    before = portal_state()

    result = order_status_dry_run(channel=shop, erp_order_id=erp["id"])

    order_path = f"/api/oms/pvt/orders/{vtex['orderId']}"
    assert [(c.remote, c.method, c.path) for c in result.calls] == [
        ("vtex", "POST", f"{order_path}/start-handling"),
        ("vtex", "POST", f"{order_path}/invoice"),
    ]
    body = result.calls[1].body
    assert (body["type"], body["invoiceValue"], body["trackingNumber"]) == (
        "Output",
        str(vtex["value"]),
        "00340434161234567890",
    )
    assert result.outcome == "Up to date: ERP fully shipped, VTEX invoiced"
    assert result.reads > 0 and result.notes[0] == "Start handling sent"
    assert writes_received(sim) == []
    assert sim.vtex_order(vtex["orderId"])["order"]["status"] == "ready-for-handling"
    assert portal_state() == before


def test_a_dry_run_starts_from_what_the_order_sync_wrote_down_and_leaves_it_as_it_was(sim, shop):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{erp['id']}/cancel")
    cancelled = OrderSyncFactory(channel=shop, key=erp["id"], status=OrderSync.Status.WAITING)
    without = order_status_dry_run(channel=shop, erp_order_id=erp["id"])
    OrderSync.objects.filter(pk=cancelled.pk).update(vtex_pending={"cancel_at": timezone.now().isoformat()})
    before = portal_state()

    waiting = order_status_dry_run(channel=shop, erp_order_id=erp["id"])

    assert [(c.method, c.path) for c in without.calls] == [
        ("POST", f"/api/oms/pvt/orders/{vtex['orderId']}/cancel"),
        ("POST", "/api/do/notes"),
    ]
    assert without.calls[1].body["target"]["id"] == vtex["orderId"]
    assert waiting.calls == ()
    assert waiting.outcome.startswith("would wait: cancellation of VTEX order")
    assert portal_state() == before
    assert writes_received(sim) == []


def test_an_unmapped_carrier_would_park_before_anything_is_sent(sim, shop):
    _, erp = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "GLS", "trackingNumber": "123456789012"})

    result = order_status_dry_run(channel=shop, erp_order_id=erp["id"])

    assert result.calls == ()
    assert result.outcome == "would park: channel shop has no carrier mapping for ERP carrier 'GLS'"


def test_an_import_dry_run_predicts_the_erp_create_and_start_handling(sim, shop):
    vtex = sim.post(
        "vtex/orders",
        {
            "items": [{"skuId": "2001", "name": "Shirt", "quantity": 2, "price": 1999, "refId": "SKU-RED-M"}],
            "shippingValue": 490,
        },
    )
    erp_orders_before = sim.get("vario/orders")
    before = portal_state()

    result = order_import_dry_run(channel=shop, vtex_order_id=vtex["orderId"])

    [create, start] = result.calls
    assert (create.remote, create.method, create.path) == ("vario", "POST", "/api/vario/erp/documents")
    document = create.body["document"]
    assert document["externalId"] == vtex["orderId"]
    assert [(line["lineType"], line["quantity"]) for line in document["lines"]] == [
        ("ARTICLE_LINE", 2),
        ("SHIPPING_COST_LINE", 1),
    ]
    assert (start.method, start.path) == ("POST", f"/api/oms/pvt/orders/{vtex['orderId']}/start-handling")
    assert result.outcome == f"VTEX order {vtex['orderId']} imported as (number VARIO assigns); VTEX handling"
    assert sim.get("vario/orders") == erp_orders_before
    assert writes_received(sim) == []
    assert portal_state() == before


# --- the order sync page's "Dry run" -----------------------------------------------------------------------


def staff(username: str, *codenames: str) -> Client:
    user = User.objects.create_user(username, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="sync", codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


PREDICTED = DryRun(
    kind="status",
    channel="shop",
    key="1042",
    calls=(
        PlannedCall("vtex", "POST", "/api/oms/pvt/orders/1-01/start-handling"),
        PlannedCall(
            "vtex", "POST", "/api/oms/pvt/orders/1-01/invoice", {"invoiceNumber": "LS-1", "invoiceValue": "7600"}
        ),
    ),
    outcome="Up to date: ERP fully shipped, VTEX invoiced",
    notes=("Start handling sent",),
    reads=5,
)


def test_only_who_may_change_order_syncs_gets_the_dry_run_button_and_page(db, monkeypatch):
    sync = OrderSyncFactory()
    monkeypatch.setattr("sync.admin.order_sync_dry_run", lambda order_sync: PREDICTED)
    change = reverse("admin:sync_ordersync_change", args=[sync.pk])
    dry_run = reverse("admin:sync_ordersync_dry_run", args=[sync.pk])
    manager = staff("manager", "view_ordersync", "change_ordersync")
    viewer = staff("viewer", "view_ordersync")

    assert 'id="dry-run-form"' in manager.get(change).content.decode()
    assert 'id="dry-run-form"' not in viewer.get(change).content.decode()
    assert viewer.post(dry_run).status_code == 403
    assert manager.get(dry_run).status_code == 405  # a dry run reads both remotes: POST only


def test_the_dry_run_page_shows_each_call_and_says_nothing_was_sent(db, monkeypatch):
    sync = OrderSyncFactory()
    asked = []
    monkeypatch.setattr("sync.admin.order_sync_dry_run", lambda order_sync: asked.append(order_sync) or PREDICTED)
    manager = staff("manager", "view_ordersync", "change_ordersync")

    response = manager.post(reverse("admin:sync_ordersync_dry_run", args=[sync.pk]))

    page = response.content.decode()
    assert response.status_code == 200 and asked == [sync]
    assert "Nothing was sent to VTEX or VARIO ERP, and nothing a sync reads was stored" in page
    assert "/api/oms/pvt/orders/1-01/invoice" in page and "Up to date: ERP fully shipped, VTEX invoiced" in page
    assert "&quot;invoiceNumber&quot;: &quot;LS-1&quot;,\n" in page  # the body as indented JSON
    [note] = TimelineEntry.objects.filter(order_sync=sync)
    assert (note.kind, note.title) == (TimelineEntry.Kind.OPERATOR, "Dry run by manager: 2 call(s)")


def test_a_dry_run_of_an_import_runs_the_import(db, monkeypatch):
    sync = OrderSyncFactory(kind=OrderSync.Kind.IMPORT, key="1510-01")
    asked = []
    monkeypatch.setattr(dry_run_module, "order_import_dry_run", lambda **kwargs: asked.append(kwargs) or PREDICTED)

    assert dry_run_module.order_sync_dry_run(order_sync=sync) is PREDICTED
    assert asked == [{"channel": sync.channel, "vtex_order_id": "1510-01"}]
