import json

import pytest
import responses

from sync.clients.errors import NotFoundError, RejectedError
from sync.clients.vtex import VtexClient, VtexCredentials
from tests.support.fixtures import load_fixture
from tests.support.openapi import validate_vtex_request, validate_vtex_response

BASE = "https://demostore.vtexcommercestable.com.br"
RECEIPT = {
    "date": "2026-03-03T10:00:00.0000000+00:00",
    "orderId": "1510581234567-01",
    "receipt": "38e0e47da2934847b489216d208cfd91",
}


@pytest.fixture
def vtex():
    return VtexClient(
        credentials=VtexCredentials(account_name="demostore", base_url=BASE, app_key="key", app_token="TOKEN"),
        timeout=(1, 1),
    )


def sent(index: int = -1):
    call = responses.calls[index]
    body = json.loads(call.request.body) if call.request.body else None
    return call.request, body


def test_credentials_repr_hides_the_token():
    creds = VtexCredentials(account_name="a", base_url=BASE, app_key="k", app_token="TOP-SECRET")
    assert "TOP-SECRET" not in repr(creds)


def test_order_fixture_is_a_valid_vtex_answer():
    validate_vtex_response(
        "orders", "get", "/api/oms/pvt/orders/1510581234567-01", status=200, body=load_fixture("vtex/order__handling")
    )


@responses.activate
def test_get_order_reads_items_packages_and_totals(vtex):
    responses.get(f"{BASE}/api/oms/pvt/orders/1510581234567-01", json=load_fixture("vtex/order__handling"))

    order = vtex.get_order("1510581234567-01")

    assert (order.order_id, order.status, order.value) == ("1510581234567-01", "handling", 11600)
    assert [(i.sku_id, i.quantity, i.selling_price) for i in order.items] == [("18", 2, 2950), ("19", 1, 4000)]
    assert order.shipping_total == 1700
    [package] = order.invoices()
    assert (package.invoice_number, package.invoice_value, package.tracking_number) == (
        "LS-20044",
        5900,
        "00340434161234567890",
    )
    assert package.items[0].item_index == 0 and package.tracking_events == 1
    assert order.shipping_address.city == "Berlin" and order.client.email == "erika@example.com"
    request, _ = sent()
    assert request.headers["X-VTEX-API-AppKey"] == "key"
    assert request.headers["Accept"] == "application/json"


@responses.activate
def test_get_order_of_an_unknown_order_is_not_found(vtex):
    responses.get(f"{BASE}/api/oms/pvt/orders/nope", status=404, json={"error": {"code": "OMS001", "message": "x"}})
    with pytest.raises(NotFoundError):
        vtex.get_order("nope")


@responses.activate
def test_start_handling_posts_without_body(vtex):
    responses.post(f"{BASE}/api/oms/pvt/orders/1-01/start-handling", status=204)
    vtex.start_handling("1-01")
    _, body = sent()
    assert body is None
    validate_vtex_request("orders", "post", "/api/oms/pvt/orders/1-01/start-handling")


@responses.activate
def test_cancel_order_sends_reason(vtex):
    responses.post(f"{BASE}/api/oms/pvt/orders/1-01/cancel", json=RECEIPT)
    receipt = vtex.cancel_order("1-01", reason="Cancelled in the ERP")
    _, body = sent()
    assert body == {"reason": "Cancelled in the ERP", "requestedByUser": False}
    validate_vtex_request("orders", "post", "/api/oms/pvt/orders/1-01/cancel", body=body)
    assert receipt.receipt == RECEIPT["receipt"]


@responses.activate
def test_notify_invoice_sends_the_given_invoice(vtex):
    invoice = {
        "type": "Output",
        "issuanceDate": "2026-03-03T09:12:00+00:00",
        "invoiceNumber": "LS-20044",
        "invoiceValue": "5900",
        "courier": "",
        "trackingNumber": "",
        "trackingUrl": "",
        "items": [{"id": "18", "price": 2950, "quantity": 2}],
    }
    responses.post(f"{BASE}/api/oms/pvt/orders/1-01/invoice", json=RECEIPT)
    vtex.notify_invoice("1-01", invoice)
    _, body = sent()
    assert body == invoice
    validate_vtex_request("orders", "post", "/api/oms/pvt/orders/1-01/invoice", body=body)


@responses.activate
def test_update_invoice_tracking_patches_the_invoice(vtex):
    responses.patch(f"{BASE}/api/oms/pvt/orders/1-01/invoice/LS-20044", json=RECEIPT)
    vtex.update_invoice_tracking(
        "1-01",
        "LS-20044",
        tracking_number="0034",
        tracking_url="https://t/0034",
        courier="DHL",
        dispatched_date="2026-03-03T10:00:00+00:00",
    )
    _, body = sent()
    assert body["trackingNumber"] == "0034" and body["courier"] == "DHL"
    validate_vtex_request("orders", "patch", "/api/oms/pvt/orders/1-01/invoice/LS-20044", body=body)


@responses.activate
def test_invoice_numbers_are_escaped_in_paths(vtex):
    responses.patch(f"{BASE}/api/oms/pvt/orders/1-01/invoice/A%20B", json=RECEIPT)
    vtex.update_invoice_tracking(
        "1-01", "A B", tracking_number="1", tracking_url=None, courier=None, dispatched_date=None
    )
    assert responses.calls[0].request.url.endswith("/invoice/A%20B")


@responses.activate
def test_update_tracking_status_puts_events(vtex):
    status = {
        "isDelivered": False,
        "deliveredDate": None,
        "events": [{"city": "Berlin", "state": "BE", "description": "Picked up", "date": "2026-03-03"}],
    }
    responses.put(f"{BASE}/api/oms/pvt/orders/1-01/invoice/LS-1/tracking", json=RECEIPT)
    vtex.update_tracking_status("1-01", "LS-1", status)
    _, body = sent()
    validate_vtex_request("orders", "put", "/api/oms/pvt/orders/1-01/invoice/LS-1/tracking", body=body)


@responses.activate
def test_order_changes_are_patched_with_the_account_name(vtex):
    changes = {"reason": "Cancelled in the ERP", "remove": {"items": [{"id": "19", "quantity": 1, "uniqueId": "F6"}]}}
    responses.patch(f"{BASE}/api/order-system/orders/1-01/changes", status=202, json={"requestId": "r1"})
    assert vtex.create_order_changes("1-01", changes) == {"requestId": "r1"}
    request, body = sent()
    assert "accountName=demostore" in request.url
    validate_vtex_request(
        "orders", "patch", "/api/order-system/orders/1-01/changes", query={"accountName": "demostore"}, body=body
    )


@responses.activate
def test_retrieve_feed_asks_for_at_most_ten(vtex):
    item = {
        "eventId": "E1",
        "handle": "H1",
        "domain": "Fulfillment",
        "state": "ready-for-handling",
        "lastState": "window-to-cancel",
        "orderId": "1-01",
        "lastChange": "x",
        "currentChange": "y",
    }
    responses.get(f"{BASE}/api/orders/feed", json=[item])
    [parsed] = vtex.retrieve_feed(maxlot=10)
    assert (parsed.event_id, parsed.handle, parsed.state) == ("E1", "H1", "ready-for-handling")
    assert "maxlot=10" in responses.calls[0].request.url
    with pytest.raises(ValueError):
        vtex.retrieve_feed(maxlot=11)


@responses.activate
def test_commit_feed_posts_handles_and_skips_empty(vtex):
    responses.post(f"{BASE}/api/orders/feed", status=200)
    vtex.commit_feed([])
    assert len(responses.calls) == 0
    vtex.commit_feed(["H1", "H2"])
    _, body = sent()
    assert body == {"handles": ["H1", "H2"]}
    validate_vtex_request("orders", "post", "/api/orders/feed", body=body)


@responses.activate
def test_feed_config_round_trip(vtex):
    responses.get(f"{BASE}/api/orders/feed/config", status=404, json={"error": {"code": "1", "message": "none"}})
    assert vtex.get_feed_config() is None
    responses.post(f"{BASE}/api/orders/feed/config", status=200)
    vtex.set_feed_config(statuses=["ready-for-handling", "canceled"], visibility_timeout=240, retention=345600)
    _, body = sent()
    validate_vtex_request("orders", "post", "/api/orders/feed/config", body=body)


@responses.activate
def test_get_hook_config_reads_the_configuration_and_none_when_vtex_has_none(vtex):
    config = {
        "filter": {"type": "FromWorkflow", "status": ["ready-for-handling"]},
        "hook": {
            "url": "https://portal.example.com/webhooks/vtex/shop/orders",
            "headers": {"X-Portal-Hook-Secret": "s"},
        },
    }
    responses.get(f"{BASE}/api/orders/hook/config", json=config)
    assert vtex.get_hook_config() == config

    responses.replace(
        responses.GET, f"{BASE}/api/orders/hook/config", status=404, json={"error": {"code": "1", "message": "none"}}
    )
    assert vtex.get_hook_config() is None


@responses.activate
def test_channel_order_status_update_reads_the_contract(vtex):
    responses.put(
        f"{BASE}/api/order-integration/orders/status",
        json={
            "marketplaceOrderId": "M1",
            "accountName": None,
            "code": "SOI003",
            "flow": "ApproveOrder",
            "success": True,
            "operationId": None,
            "errors": None,
            "fields": None,
            "message": "Order successfully enqueued",
        },
    )
    result = vtex.update_channel_order_status(
        marketplace_order_id="M1",
        status="approved",
        connector_name="portal",
        connector_endpoint="https://p.example/api",
    )
    assert result.success and result.code == "SOI003" and not result.not_yet
    request, body = sent()
    assert "an=demostore" in request.url
    validate_vtex_request(
        "marketplace", "put", "/api/order-integration/orders/status", query={"an": "demostore"}, body=body
    )


@responses.activate
def test_a_channel_order_rejection_keeps_its_eoi_code(vtex):
    responses.put(
        f"{BASE}/api/order-integration/orders/status",
        status=400,
        json={"marketplaceOrderId": "M1", "code": "EOI005", "success": False, "message": "bad payload"},
    )
    with pytest.raises(RejectedError) as exc_info:
        vtex.update_channel_order_status(
            marketplace_order_id="M1", status="approved", connector_name="p", connector_endpoint="https://p.example/api"
        )
    assert exc_info.value.code == "EOI005"


@responses.activate
def test_create_note_fits_vtex_limits(vtex):
    responses.post(f"{BASE}/api/do/notes", json={"id": "N1"})
    vtex.create_note("1-01", "x" * 2500)
    _, body = sent()
    assert len(body["description"]) == 2000 and body["target"]["id"] == "1-01"
    validate_vtex_request("do", "post", "/api/do/notes", body=body)


@pytest.mark.parametrize(
    ("code", "not_yet"),
    [("EOI006", True), ("EOI008", True), ("EOI009", True), ("EOI010", True), ("EOI011", True), ("EOI003", False)],
)
def test_channel_order_codes_that_mean_retry_later(code, not_yet):
    from sync.clients.dtos import ChannelOrderResult

    result = ChannelOrderResult.from_json({"marketplaceOrderId": "MKP-1", "code": code, "success": False})

    assert result.not_yet is not_yet


# --- List orders (the order backfill's scan, sync.bulk.vtex_scan) ------------------------------------


def list_orders_answer(rows: list[dict], *, total: int, pages: int, page: int = 1, per_page: int = 100) -> dict:
    """An answer in the spec's shape; statistics (which the client ignores) of no order, as the sandbox writes them."""
    from sandbox.vtex.serializers import order_list_json

    answer = order_list_json(rows=rows, all_rows=[], page=page, per_page=per_page)
    return {**answer, "paging": {"total": total, "pages": pages, "currentPage": page, "perPage": per_page}}


def list_row(order_id: str, creation_date: str, **extra) -> dict:
    """A row as the OpenAPI example shows it (every field the schema requires)."""
    return {
        "orderId": order_id,
        "creationDate": creation_date,
        "clientName": "J C",
        "items": None,
        "totalValue": 7453,
        "paymentNames": "Visa",
        "status": "ready-for-handling",
        "statusDescription": "Pronto para o manuseio",
        "marketPlaceOrderId": None,
        "sequence": "502559",
        "salesChannel": "1",
        "affiliateId": "",
        "origin": "Marketplace",
        "workflowInErrorState": False,
        "workflowInRetry": False,
        "lastMessageUnread": None,
        "ShippingEstimatedDate": None,
        "ShippingEstimatedDateMax": None,
        "ShippingEstimatedDateMin": None,
        "orderIsComplete": True,
        "listId": None,
        "listType": None,
        "authorizedDate": None,
        "callCenterOperatorName": None,
        "totalItems": 1,
        "currencyCode": "BRL",
        **extra,
    }


def _utc(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text)


@responses.activate
def test_list_orders_asks_for_the_creation_range_oldest_first_and_validates(vtex):
    responses.get(f"{BASE}/api/oms/pvt/orders", json=list_orders_answer([], total=0, pages=0))

    vtex.list_orders(
        creation_from=_utc("2026-03-01T10:00:00+00:00"),
        creation_to=_utc("2026-03-02T10:00:00+00:00"),
        statuses=["ready-for-handling", "handling"],
        page=3,
        per_page=50,
    )

    request, body = sent()
    query = dict(responses.calls[0].request.params)
    assert query == {
        "f_creationDate": "creationDate:[2026-03-01T10:00:00.000Z TO 2026-03-02T10:00:00.000Z]",
        "f_status": "ready-for-handling,handling",
        "orderBy": "creationDate,asc",
        "page": "3",
        "per_page": "50",
    }
    assert body is None and request.method == "GET"
    validate_vtex_request("orders", "get", "/api/oms/pvt/orders", query=query)


@responses.activate
def test_list_orders_widens_the_range_to_whole_milliseconds_in_utc(vtex):
    from datetime import timedelta, timezone

    responses.get(f"{BASE}/api/oms/pvt/orders", json=list_orders_answer([], total=0, pages=0))
    prague = timezone(timedelta(hours=1))

    vtex.list_orders(
        creation_from=_utc("2026-03-01T11:00:00.123999+01:00"),
        creation_to=_utc("2026-03-01T10:00:05.000001+00:00").astimezone(prague),
    )

    query = dict(responses.calls[0].request.params)
    assert query["f_creationDate"] == "creationDate:[2026-03-01T10:00:00.123Z TO 2026-03-01T10:00:05.001Z]"
    assert "f_status" not in query  # no statuses: no filter


@responses.activate
def test_list_orders_reads_rows_and_paging(vtex):
    rows = [
        list_row(
            "1306331686122-01",
            "2019-02-04T10:29:11+00:00",
            status="invoiced",
            authorizedDate="2019-02-07T21:29:54+00:00",
        ),
        list_row(
            "SCP-880102018018-01",
            "2019-02-04T10:29:11.1234567Z",
            marketPlaceOrderId="880102018018-01",
            affiliateId="SCP",
            salesChannel="2",
            origin="Fulfillment",
        ),
    ]
    answer = list_orders_answer(rows, total=250, pages=3, page=2)
    validate_vtex_response(
        "orders", "get", "/api/oms/pvt/orders", status=200, body=answer, content_type="application/json; charset=utf-8"
    )
    responses.get(f"{BASE}/api/oms/pvt/orders", json=answer)

    result = vtex.list_orders(
        creation_from=_utc("2019-02-01T00:00:00Z"), creation_to=_utc("2019-03-01T00:00:00Z"), page=2
    )

    assert (result.total, result.pages, result.page, result.per_page) == (250, 3, 2, 100)
    first, second = result.orders
    assert (first.order_id, first.status, first.sales_channel, first.marketplace_order_id) == (
        "1306331686122-01",
        "invoiced",
        "1",
        "",
    )
    assert first.creation_date == _utc("2019-02-04T10:29:11+00:00")
    assert first.authorized_date == _utc("2019-02-07T21:29:54+00:00") and second.authorized_date is None
    assert second.creation_date == _utc("2019-02-04T10:29:11.123456+00:00")
    assert (second.marketplace_order_id, second.affiliate_id, second.sales_channel, second.origin) == (
        "880102018018-01",
        "SCP",
        "2",
        "Fulfillment",
    )
    assert (first.total_value, first.total_items, first.currency_code) == (7453, 1, "BRL")


@pytest.mark.parametrize(
    "broken",
    [
        {"list": []},  # no paging
        list_orders_answer([{"orderId": "1-01"}], total=1, pages=1),  # a row without creationDate
        list_orders_answer([list_row("1-01", "yesterday")], total=1, pages=1),
        list_orders_answer([list_row("", "2026-03-01T10:00:00Z")], total=1, pages=1),
        list_orders_answer([], total=-1, pages=0),
        {**list_orders_answer([], total=0, pages=0), "list": {"orderId": "1-01"}},
    ],
)
@responses.activate
def test_list_orders_answer_it_cannot_read_is_the_remotes_payload_error(vtex, broken):
    from sync.clients.errors import PayloadError

    responses.get(f"{BASE}/api/oms/pvt/orders", json=broken)
    with pytest.raises(PayloadError):
        vtex.list_orders(creation_from=_utc("2026-03-01T00:00:00Z"), creation_to=_utc("2026-03-02T00:00:00Z"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page": 31},
        {"page": 0},
        {"per_page": 101},
        {"per_page": 0},
        {"statuses": ["handling,invoiced"]},
        {"statuses": [""]},
        {"creation_from": _utc("2026-03-02T00:00:00Z")},  # after creation_to
        {"creation_to": _utc("2026-03-02T00:00:00")},  # naive
    ],
)
@responses.activate
def test_list_orders_refuses_what_vtex_would_not_serve_before_calling(vtex, kwargs):
    arguments = {"creation_from": _utc("2026-03-01T00:00:00Z"), "creation_to": _utc("2026-03-01T12:00:00Z"), **kwargs}
    with pytest.raises(ValueError):
        vtex.list_orders(**arguments)
    assert len(responses.calls) == 0


@responses.activate
def test_list_orders_uses_its_own_limiter_route(vtex):
    class Limiter:
        max_wait = 10.0
        routes: list[str] = []

        def acquire(self, route=""):
            self.routes.append(route)
            return 0.0

    limiter = Limiter()
    vtex.http.limiter = limiter
    responses.get(f"{BASE}/api/oms/pvt/orders", json=list_orders_answer([], total=0, pages=0))
    vtex.list_orders(creation_from=_utc("2026-03-01T00:00:00Z"), creation_to=_utc("2026-03-01T12:00:00Z"))
    assert limiter.routes == ["list_orders"]
