"""Channel Order API update order status: sync SOI003 / EOI005, async processing-result notification."""

import pytest

from sandbox.deliveries import deliveries_dispatch_due
from sandbox.models import Delivery, DeliveryState
from sandbox.vtex import statuses as st
from tests.support.openapi import validate_vtex_response
from tests.support.sandbox_vtex import call, create_order, get_order

PATH = "/api/order-integration/orders/status"


def _body(receiver, marketplace_order_id="7e62fcd3", **overrides):
    return {
        "marketplaceOrderId": marketplace_order_id,
        "marketplaceOrderStatus": "approved",
        "connectorName": "vario-portal",
        "connectorEndpoint": f"{receiver.url}/api/vtex",
        **overrides,
    }


def _approve(sim, body, account="demostore"):
    return call(sim, "PUT", PATH, body, query=f"an={account}")


def _notification(receiver):
    assert deliveries_dispatch_due() == 1
    assert len(receiver.received) == 1
    return receiver.received[0][0]


def test_approval_is_enqueued_synchronously_with_soi003(sim, receiver):
    create_order(sim, marketplaceOrderId="7e62fcd3", affiliateId="MKP", status=st.PAYMENT_PENDING)
    response = _approve(sim, _body(receiver))
    assert response.status_code == 200
    body = response.json()
    validate_vtex_response(
        "marketplace", "PUT", PATH, status=200, body=body, query={"an": "demostore"}, request_body=_body(receiver)
    )
    assert body == {
        "marketplaceOrderId": "7e62fcd3",
        "accountName": None,
        "code": "SOI003",
        "flow": "ApproveOrder",
        "success": True,
        "operationId": None,
        "errors": None,
        "fields": None,
        "message": "Order successfully enqueued",
    }


def test_approval_notifies_soi002_and_moves_the_order_to_ready_for_handling(sim, receiver):
    order = create_order(sim, marketplaceOrderId="7e62fcd3", affiliateId="MKP", status=st.PAYMENT_PENDING)
    _approve(sim, _body(receiver))
    notification = _notification(receiver)
    assert receiver.paths == ["/api/vtex/order-integration/notification/processing-result?an=demostore"]
    assert (notification["code"], notification["success"], notification["flow"]) == ("SOI002", True, "ApproveOrder")
    assert notification["accountName"] == "demostore"
    assert notification["fields"]["mainOrderId"] == order["orderId"].removesuffix("-01")
    assert get_order(sim, order["orderId"])["status"] == st.READY_FOR_HANDLING


def test_approval_of_an_order_not_integrated_notifies_eoi008(sim, receiver):
    _approve(sim, _body(receiver, "unknown-1"))
    notification = _notification(receiver)
    assert (notification["code"], notification["success"]) == ("EOI008", False)
    assert notification["errors"][0]["code"] == "EOI008"


def test_approval_of_a_canceled_order_notifies_eoi009(sim, receiver):
    order = create_order(sim, marketplaceOrderId="7e62fcd3", affiliateId="MKP", status=st.PAYMENT_PENDING)
    call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/cancel", {"reason": "x"})
    _approve(sim, _body(receiver))
    assert _notification(receiver)["code"] == "EOI009"
    assert get_order(sim, order["orderId"])["status"] == st.CANCELED


def test_approval_of_an_already_approved_order_notifies_eoi009(sim, receiver):
    create_order(sim, marketplaceOrderId="7e62fcd3", affiliateId="MKP")
    _approve(sim, _body(receiver))
    assert _notification(receiver)["code"] == "EOI009"


def test_approval_during_price_divergence_notifies_eoi011_until_authorised(sim, receiver):
    order = create_order(
        sim, marketplaceOrderId="7e62fcd3", affiliateId="MKP", status=st.WAITING_FOR_MANUAL_AUTHORIZATION
    )
    _approve(sim, _body(receiver))
    assert _notification(receiver)["code"] == "EOI011"
    assert get_order(sim, order["orderId"])["status"] == st.WAITING_FOR_MANUAL_AUTHORIZATION
    sim.post(
        f"/_sim/vtex/orders/{order['orderId']}/status", {"status": st.PAYMENT_PENDING}, content_type="application/json"
    )
    _approve(sim, _body(receiver))
    deliveries_dispatch_due()
    assert receiver.received[1][0]["code"] == "SOI002"


def test_notification_is_retried_until_the_connector_acknowledges(sim, receiver):
    create_order(sim, marketplaceOrderId="7e62fcd3", affiliateId="MKP", status=st.PAYMENT_PENDING)
    receiver.fail_next = 1
    _approve(sim, _body(receiver))
    deliveries_dispatch_due()
    sim.post("/_sim/clock", {"advanceSeconds": 60}, content_type="application/json")
    deliveries_dispatch_due()
    delivery = Delivery.objects.get(kind="vtex_channel_order")
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 2)


@pytest.mark.parametrize(
    "overrides",
    [
        {"marketplaceOrderId": ""},
        {"marketplaceOrderStatus": "new"},
        {"marketplaceOrderStatus": "shipped"},
        {"connectorName": None},
        {"connectorEndpoint": "not a url"},
        {"connectorEndpoint": "https://portal.example.com/api/vtex?token=1"},
    ],
)
def test_invalid_payload_is_400_eoi005_and_nothing_is_enqueued(sim, receiver, overrides):
    response = _approve(sim, _body(receiver, **overrides))
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["success"], body["flow"]) == ("EOI005", False, "ApproveOrder")
    assert body["errors"][0]["source"] == "Order Integration"
    assert not Delivery.objects.filter(kind="vtex_channel_order").exists()


def test_body_that_is_not_json_is_400_eoi005(sim, receiver):
    response = call(sim, "PUT", PATH, raw="{", query="an=demostore")
    assert response.status_code == 400
    assert response.json()["code"] == "EOI005"


def test_status_update_for_another_account_is_403(sim, receiver):
    assert _approve(sim, _body(receiver), account="otherstore").status_code == 403


def test_status_update_without_credentials_is_401(sim, receiver):
    assert call(sim, "PUT", PATH, _body(receiver), auth={}, query="an=demostore").status_code == 401
