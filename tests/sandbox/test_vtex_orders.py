"""Get/List orders, auth, start-handling and cancel of the VTEX OMS simulator."""

import itertools

import pytest

from sandbox.vtex import statuses as st
from tests.support.sandbox_vtex import (
    TOTAL,
    call,
    checked,
    create_order,
    error_code,
    get_order,
    handling_order,
    invoice,
    invoice_body,
    record_status_events,
)


@pytest.fixture
def status_events(monkeypatch):
    return record_status_events(monkeypatch)


def _other_account(sim):
    sim.post(
        "/_sim/vtex/accounts",
        {"accountName": "otherstore", "appKey": "vtexappkey-otherstore-X", "appToken": "other-token"},
        content_type="application/json",
    )
    return {"HTTP_X_VTEX_API_APPKEY": "vtexappkey-otherstore-X", "HTTP_X_VTEX_API_APPTOKEN": "other-token"}


# --- auth -------------------------------------------------------------------------------------------


def test_get_order_without_credentials_is_401_in_vtex_shape(sim):
    order = create_order(sim)
    response = call(sim, "GET", f"/api/oms/pvt/orders/{order['orderId']}", auth={})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "1", "message": "Unauthorized access", "exception": None}}


def test_get_order_with_an_unknown_key_pair_is_403(sim):
    order = create_order(sim)
    auth = {"HTTP_X_VTEX_API_APPKEY": "vtexappkey-demostore-PORTAL", "HTTP_X_VTEX_API_APPTOKEN": "wrong"}
    assert call(sim, "GET", f"/api/oms/pvt/orders/{order['orderId']}", auth=auth).status_code == 403


def test_an_app_key_does_not_see_another_accounts_orders(sim):
    order = create_order(sim)
    response = call(sim, "GET", f"/api/oms/pvt/orders/{order['orderId']}", auth=_other_account(sim))
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "OMS007", "message": "Order Not Found", "exception": None}


def test_an_app_key_cannot_act_on_another_accounts_order(sim):
    order = create_order(sim)
    path = f"/api/oms/pvt/orders/{order['orderId']}/start-handling"
    assert call(sim, "POST", path, auth=_other_account(sim)).status_code == 404
    assert get_order(sim, order["orderId"])["status"] == st.READY_FOR_HANDLING


# --- Get order --------------------------------------------------------------------------------------


def test_get_order_answers_the_full_shape_valid_against_the_spec(sim):
    order = create_order(sim)
    body = checked(sim, "orders", "GET", f"/api/oms/pvt/orders/{order['orderId']}", status=200)
    assert body["orderId"] == order["orderId"]
    assert body["value"] == TOTAL
    assert [t["id"] for t in body["totals"]] == ["Items", "Discounts", "Shipping", "Tax"]
    assert [(i["id"], i["quantity"]) for i in body["items"]] == [("18", 2), ("27", 1)]
    assert sum(li["price"] for li in body["shippingData"]["logisticsInfo"]) == 700
    assert body["packageAttachment"] == {"packages": []}


def test_get_order_by_sequence(sim):
    order = create_order(sim)
    body = checked(sim, "orders", "GET", f"/api/oms/pvt/orders/seq{order['sequence']}", status=200)
    assert body["orderId"] == order["orderId"]


def test_get_order_of_an_unknown_id_is_404(sim):
    response = call(sim, "GET", "/api/oms/pvt/orders/1510589999999-01")
    assert response.status_code == 404
    assert error_code(response) == "OMS007"


def test_marketplace_order_carries_its_marketplace_fields(sim):
    order = create_order(sim, marketplaceOrderId="7e62fcd3", affiliateId="MKP")
    body = checked(sim, "orders", "GET", f"/api/oms/pvt/orders/{order['orderId']}", status=200)
    assert (body["marketplaceOrderId"], body["affiliateId"], body["origin"]) == ("7e62fcd3", "MKP", "Marketplace")
    assert body["orderId"].startswith("MKP-")


def test_a_fully_invoiced_and_tracked_order_still_validates(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body(trackingNumber="TN1", courier="PPL"))
    call(
        sim,
        "PUT",
        f"/api/oms/pvt/orders/{order['orderId']}/invoice/VF2026000123/tracking",
        {"isDelivered": True, "deliveredDate": "2026-03-04 11:20", "events": []},
    )
    body = checked(sim, "orders", "GET", f"/api/oms/pvt/orders/{order['orderId']}", status=200)
    assert body["status"] == st.INVOICED
    assert body["invoicedDate"] is not None


# --- List orders ------------------------------------------------------------------------------------


def test_list_orders_answers_the_spec_shape(sim):
    create_order(sim)
    create_order(sim, marketplaceOrderId="A1", affiliateId="MKP")
    body = checked(sim, "orders", "GET", "/api/oms/pvt/orders", status=200)
    assert body["paging"] == {"total": 2, "pages": 1, "currentPage": 1, "perPage": 15}
    assert body["stats"]["stats"]["totalValue"]["Sum"] == 2 * TOTAL


def test_list_orders_filters_by_status(sim):
    handling = handling_order(sim)
    create_order(sim)
    body = checked(sim, "orders", "GET", "/api/oms/pvt/orders", status=200, query={"f_status": "handling"})
    assert [row["orderId"] for row in body["list"]] == [handling["orderId"]]


def test_list_orders_pages(sim):
    ids = [create_order(sim)["orderId"] for _ in range(3)]
    query = {"per_page": 2, "page": 2, "orderBy": "creationDate,asc"}
    body = checked(sim, "orders", "GET", "/api/oms/pvt/orders", status=200, query=query)
    assert [row["orderId"] for row in body["list"]] == ids[2:]
    assert body["paging"]["pages"] == 2


def test_list_orders_refuses_pages_beyond_thirty(sim):
    assert call(sim, "GET", "/api/oms/pvt/orders", query="page=31").status_code == 400


# --- start-handling ---------------------------------------------------------------------------------


def test_start_handling_moves_ready_for_handling_through_start_handling_to_handling(sim, status_events):
    order = create_order(sim)
    status_events.clear()
    response = call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/start-handling")
    assert response.status_code == 204
    assert response.content == b""
    assert [(e["last_state"], e["state"]) for e in status_events] == [
        (st.READY_FOR_HANDLING, st.START_HANDLING),
        (st.START_HANDLING, st.HANDLING),
    ]
    assert get_order(sim, order["orderId"])["status"] == st.HANDLING


@pytest.mark.parametrize("status", [st.WINDOW_TO_CANCEL, st.PAYMENT_PENDING])
def test_start_handling_before_ready_for_handling_is_409_oms003(sim, status):
    order = create_order(sim, status=status)
    path = f"/api/oms/pvt/orders/{order['orderId']}/start-handling"
    response = call(sim, "POST", path)
    assert response.status_code == 409
    assert response.json() == {
        "error": {
            "code": "OMS003",
            "message": "Order status should be ready-for-handling to perform this action",
            "exception": None,
        }
    }


def test_start_handling_twice_is_409_the_second_time(sim):
    order = handling_order(sim)
    response = call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/start-handling")
    assert response.status_code == 409
    assert error_code(response) == "OMS003"


def test_start_handling_409_validates_against_the_spec(sim):
    order = handling_order(sim)
    checked(sim, "orders", "POST", f"/api/oms/pvt/orders/{order['orderId']}/start-handling", status=409)


def test_status_changes_report_previous_state_and_ordered_timestamps(sim, status_events):
    order = create_order(sim)
    ours = [e for e in status_events if e["order_id"] == order["orderId"]]
    assert [e["state"] for e in ours] == st.PRE_HANDLING_PATH
    for before, after in itertools.pairwise(ours):
        assert after["last_state"] == before["state"]
        assert after["last_change"] == before["current_change"] < after["current_change"]


# --- cancel -----------------------------------------------------------------------------------------


def test_cancel_answers_receipt_and_goes_through_cancel_to_canceled(sim, status_events):
    order = handling_order(sim)
    status_events.clear()
    path = f"/api/oms/pvt/orders/{order['orderId']}/cancel"
    body = checked(sim, "orders", "POST", path, {"reason": "Out of stock in ERP"}, status=200)
    assert body["orderId"] == order["orderId"]
    assert len(body["receipt"]) == 32 and int(body["receipt"], 16) >= 0
    assert [e["state"] for e in status_events] == [st.CANCEL, st.CANCELED]
    cancelled = get_order(sim, order["orderId"])
    assert cancelled["status"] == st.CANCELED
    assert cancelled["cancelReason"] == "Out of stock in ERP"
    assert cancelled["cancellationData"]["RequestedBySellerNotification"] is True


def test_cancel_of_a_ready_for_handling_order_is_allowed(sim):
    order = create_order(sim)
    assert call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/cancel", {"reason": "x"}).status_code == 200


def test_cancel_of_an_invoiced_order_is_400(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body())
    response = call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/cancel", {"reason": "late"})
    assert response.status_code == 400
    assert "Invoiced orders cannot be canceled" in response.json()["error"]["message"]
    assert get_order(sim, order["orderId"])["status"] == st.INVOICED


def test_cancel_of_a_partially_invoiced_order_is_400(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body(value=4950, items=[{"id": "18", "price": 4950, "quantity": 1}]))
    response = call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/cancel", {"reason": "late"})
    assert response.status_code == 400
    assert error_code(response) == "SBX-CANCEL-PARTIAL"


@pytest.mark.parametrize("status", [st.START_HANDLING, st.INVOICE, st.CANCEL, st.ORDER_CREATED])
def test_cancel_in_a_status_the_platform_sets_itself_is_400(sim, status):
    order = create_order(sim)
    sim.post(f"/_sim/vtex/orders/{order['orderId']}/status", {"status": status}, content_type="application/json")
    response = call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/cancel", {"reason": "x"})
    assert response.status_code == 400
    assert error_code(response) == "SBX-CANCEL-STATUS"


def test_cancel_of_a_canceled_order_is_400(sim):
    order = create_order(sim)
    call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/cancel", {"reason": "x"})
    assert call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/cancel", {"reason": "x"}).status_code == 400


def test_cancel_with_a_body_that_is_not_json_is_400(sim):
    order = create_order(sim)
    response = call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/cancel", raw="{reason")
    assert response.status_code == 400
    assert get_order(sim, order["orderId"])["status"] == st.READY_FOR_HANDLING


def test_customer_cancellation_request_after_the_window_awaits_the_seller(sim):
    order = create_order(sim)
    sim.post(f"/_sim/vtex/orders/{order['orderId']}/request-cancellation", content_type="application/json")
    requested = get_order(sim, order["orderId"])
    assert requested["status"] == st.CANCELLATION_REQUESTED
    assert call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/cancel", {"reason": "ok"}).status_code == 200


def test_customer_cancellation_inside_the_window_is_automatic(sim):
    order = create_order(sim, status=st.WINDOW_TO_CANCEL)
    sim.post(f"/_sim/vtex/orders/{order['orderId']}/request-cancellation", content_type="application/json")
    assert get_order(sim, order["orderId"])["status"] == st.CANCELED


def test_seller_denies_a_cancellation_request_and_the_order_returns(sim):
    order = handling_order(sim)
    sim.post(f"/_sim/vtex/orders/{order['orderId']}/request-cancellation", content_type="application/json")
    request_id = get_order(sim, order["orderId"])["cancellationRequests"][0]["id"]
    response = call(
        sim,
        "POST",
        f"/api/orders/pvt/document/{order['orderId']}/deny-cancellation-request",
        {"cancellationRequestId": request_id, "denyReason": "Already shipped"},
    )
    assert response.status_code == 200
    assert get_order(sim, order["orderId"])["status"] == st.HANDLING
