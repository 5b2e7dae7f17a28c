"""Control API of the VTEX simulator: accounts, customer orders, status moves, raw state."""

import pytest

from sandbox.models import RateLimitRule
from sandbox.vtex import statuses as st
from tests.support.sandbox_vtex import (
    ITEMS,
    TOTAL,
    call,
    create_order,
    get_order,
    handling_order,
    invoice,
    invoice_body,
    record_status_events,
)


@pytest.fixture
def status_events(monkeypatch):
    return record_status_events(monkeypatch)


def _post(sim, path, body=None):
    return sim.post(path, body or {}, content_type="application/json")


def test_account_is_created_and_its_key_pair_works(sim):
    response = _post(sim, "/_sim/vtex/accounts", {"accountName": "shop2", "appKey": "k2", "appToken": "t2"})
    assert response.status_code == 201
    order = create_order(sim, accountName="shop2")
    auth = {"HTTP_X_VTEX_API_APPKEY": "k2", "HTTP_X_VTEX_API_APPTOKEN": "t2"}
    assert call(sim, "GET", f"/api/oms/pvt/orders/{order['orderId']}", auth=auth).status_code == 200


def test_account_token_is_updated_by_app_key(sim):
    _post(sim, "/_sim/vtex/accounts", {"accountName": "shop2", "appKey": "k2", "appToken": "t2"})
    response = _post(sim, "/_sim/vtex/accounts", {"accountName": "shop2", "appKey": "k2", "appToken": "t3"})
    assert response.status_code == 200
    order = create_order(sim, accountName="shop2")
    old = {"HTTP_X_VTEX_API_APPKEY": "k2", "HTTP_X_VTEX_API_APPTOKEN": "t2"}
    assert call(sim, "GET", f"/api/oms/pvt/orders/{order['orderId']}", auth=old).status_code == 403


def test_created_order_walks_the_pre_handling_statuses_to_ready_for_handling(sim, status_events):
    order = create_order(sim)
    assert order["status"] == st.READY_FOR_HANDLING
    assert [(e["last_state"], e["state"]) for e in status_events][:2] == [
        ("", st.ORDER_CREATED),
        (st.ORDER_CREATED, st.ON_ORDER_COMPLETED),
    ]
    assert status_events[-1]["state"] == st.READY_FOR_HANDLING
    assert order["value"] == TOTAL
    assert order["authorizedDate"] is not None


def test_created_order_can_stop_at_a_given_status(sim):
    assert create_order(sim, status=st.WINDOW_TO_CANCEL)["status"] == st.WINDOW_TO_CANCEL


def test_created_order_can_wait_for_manual_authorization(sim, status_events):
    order = create_order(sim, status=st.WAITING_FOR_MANUAL_AUTHORIZATION, marketplaceOrderId="m1", affiliateId="MKP")
    assert order["status"] == st.WAITING_FOR_MANUAL_AUTHORIZATION
    assert st.READY_FOR_HANDLING not in [e["state"] for e in status_events]


def test_order_creation_refuses_an_unknown_status(sim):
    response = _post(sim, "/_sim/vtex/orders", {"items": ITEMS, "status": "handling"})
    assert response.status_code == 400
    assert "status must be one of" in response.json()["error"]


def test_order_creation_refuses_items_without_prices(sim):
    response = _post(sim, "/_sim/vtex/orders", {"items": [{"skuId": "1", "quantity": 1}]})
    assert response.status_code == 400


def test_order_creation_refuses_a_duplicate_marketplace_order(sim):
    create_order(sim, marketplaceOrderId="m1", affiliateId="MKP")
    response = _post(sim, "/_sim/vtex/orders", {"items": ITEMS, "marketplaceOrderId": "m1", "affiliateId": "MKP"})
    assert response.status_code == 400


def test_status_can_be_moved_by_the_control_api(sim, status_events):
    order = create_order(sim, status=st.WAITING_FOR_MANUAL_AUTHORIZATION)
    status_events.clear()
    response = _post(sim, f"/_sim/vtex/orders/{order['orderId']}/status", {"status": st.READY_FOR_HANDLING})
    assert response.status_code == 200
    assert [(e["last_state"], e["state"]) for e in status_events] == [
        (st.WAITING_FOR_MANUAL_AUTHORIZATION, st.READY_FOR_HANDLING)
    ]
    assert call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/start-handling").status_code == 204


def test_moving_to_an_unknown_status_is_refused(sim):
    order = create_order(sim)
    assert _post(sim, f"/_sim/vtex/orders/{order['orderId']}/status", {"status": "shipped"}).status_code == 400


def test_cancellation_request_while_waiting_for_authorization_cancels_at_once(sim):
    order = create_order(sim, status=st.WAITING_FOR_MANUAL_AUTHORIZATION)
    _post(sim, f"/_sim/vtex/orders/{order['orderId']}/request-cancellation", {"reason": "changed my mind"})
    cancelled = get_order(sim, order["orderId"])
    assert cancelled["status"] == st.CANCELED
    assert cancelled["cancellationData"]["RequestedByUser"] is True


def test_cancellation_request_of_an_invoiced_order_is_refused(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body())
    response = _post(sim, f"/_sim/vtex/orders/{order['orderId']}/request-cancellation")
    assert response.status_code == 400


def test_raw_state_shows_invoices_notes_changes_and_history(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body("A1", value=4950, items=[{"id": "18", "price": 4950, "quantity": 1}]))
    call(sim, "POST", "/api/do/notes", {"target": {"id": order["orderId"]}, "domain": "oms", "description": "hi"})
    state = sim.get(f"/_sim/vtex/orders/{order['orderId']}").json()
    assert [i["invoiceNumber"] for i in state["invoices"]] == ["A1"]
    assert [n["description"] for n in state["notes"]] == ["hi"]
    assert state["statusHistory"][-1]["to"] == st.INVOICE
    assert state["order"]["status"] == get_order(sim, order["orderId"])["status"]


def test_raw_state_of_an_unknown_order_is_404(sim):
    assert sim.get("/_sim/vtex/orders/nope-01").status_code == 404


def test_reset_seeds_the_published_get_order_limit(sim):
    rule = RateLimitRule.objects.get(name="vtex-get-order")
    assert (rule.limit, rule.window_seconds, rule.method) == (6000, 60, "GET")
