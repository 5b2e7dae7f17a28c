import time

import jwt
import pytest
import requests

from sandbox import clock
from sandbox.deliveries import deliveries_dispatch_due
from sandbox.vario.seed import DEMO_APP_IDENTIFIER, DEMO_CLIENT_SECRET
from tests.support.sandbox_vario import USER_AGENT, Vario, token_form

DELIVERY_EVENT = "document.customer_delivery_document.order_to_delivery"
PARCEL_EVENT = "shipment.parcel.completed"


@pytest.fixture
def vario(sim, settings):
    settings.SANDBOX_WEBHOOK_RETRY_DELAYS = [1, 2]
    return Vario(sim)


def registrations(vario):
    return vario.client.get("/_sim/vario/webhooks").json()


def webhook_log(vario, **query):
    return vario.client.get("/_sim/vario/webhook-log", query).json()


def deliver_all(vario, order, **fields):
    return vario.control(f"orders/{order['id']}/deliver", fields, expect=201).json()


# --- registration ---------------------------------------------------------------------------------


def test_registration_is_idempotent(vario, receiver):
    first = vario.register(DELIVERY_EVENT, receiver.url)
    second = vario.register(DELIVERY_EVENT, receiver.url)

    assert (first.status_code, second.status_code) == (200, 200)
    assert registrations(vario) == [
        {"url": receiver.url, "destinationQueue": DELIVERY_EVENT, "appIdentifier": DEMO_APP_IDENTIFIER}
    ]


def test_deregistration_removes_the_registration_and_may_be_repeated(vario, receiver):
    vario.register(DELIVERY_EVENT, receiver.url)
    body = {"url": receiver.url, "destinationQueue": DELIVERY_EVENT, "appIdentifier": DEMO_APP_IDENTIFIER}

    assert vario.post("/cmn/system/app-message-webhook/deregister", body).status_code == 200
    assert vario.post("/cmn/system/app-message-webhook/deregister", body).status_code == 200
    assert registrations(vario) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"destinationQueue": DELIVERY_EVENT, "appIdentifier": DEMO_APP_IDENTIFIER}, "url is required"),
        ({"url": "/webhooks/x", "destinationQueue": DELIVERY_EVENT, "appIdentifier": DEMO_APP_IDENTIFIER}, "absolute"),
        (
            {
                "url": "http://h/x",
                "destinationQueue": "document.delivery_note.create",
                "appIdentifier": DEMO_APP_IDENTIFIER,
            },
            "not a known webhook event",
        ),
        ({"url": "http://h/x", "destinationQueue": DELIVERY_EVENT, "appIdentifier": "another-app"}, "calling app"),
        ({"url": "http://h/x", "destinationQueue": DELIVERY_EVENT}, "appIdentifier is required"),
        (
            {"url": "http://h/x", "destinationQueue": DELIVERY_EVENT, "appIdentifier": DEMO_APP_IDENTIFIER, "x": 1},
            "Unrecognized",
        ),
    ],
)
def test_invalid_registrations_are_400(vario, body, fragment):
    response = vario.post("/cmn/system/app-message-webhook/register", body)
    assert response.status_code == 400
    assert fragment in response.json()["message"]
    assert registrations(vario) == []


def test_events_with_a_sales_channel_id_can_be_registered(vario, receiver):
    assert vario.register("article(sales-channel-id=7).update", receiver.url).status_code == 200


# --- delivery -------------------------------------------------------------------------------------


def test_delivery_note_webhook_carries_its_id_and_a_valid_app_token(vario, receiver):
    vario.register(DELIVERY_EVENT, receiver.url)
    note = deliver_all(vario, vario.order())["delivery"]

    deliveries_dispatch_due()

    [(body, headers)] = receiver.received
    assert body == {"id": int(note["id"])}
    assert headers["User-Agent"] == "VARIO-Cloud-Webhook"
    assert headers["Content-Type"] == "application/json"
    scheme, token = headers["Authorization"].split(" ")
    assert scheme == "Bearer"
    claims = jwt.decode(token, DEMO_CLIENT_SECRET, algorithms=["HS256"], audience=DEMO_APP_IDENTIFIER)
    assert claims["exp"] - claims["iat"] == 60


def test_app_token_is_refused_with_another_secret(vario, receiver):
    vario.register(DELIVERY_EVENT, receiver.url)
    deliver_all(vario, vario.order())
    deliveries_dispatch_due()
    token = receiver.received[0][1]["Authorization"].split(" ")[1]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "not-the-secret", algorithms=["HS256"], audience=DEMO_APP_IDENTIFIER)


def test_only_registrations_for_the_event_are_called(vario, receiver):
    vario.register("document.customer_order.dissolve", receiver.url + "/dissolve")
    vario.register(DELIVERY_EVENT, receiver.url + "/delivery")

    deliver_all(vario, vario.order())
    deliveries_dispatch_due()

    assert receiver.paths == ["/delivery"]


def test_tracking_number_fires_parcel_completed_with_shipment_and_parcel_ids(vario, receiver):
    vario.register(PARCEL_EVENT, receiver.url)

    answer = deliver_all(vario, vario.order(), carrier="DHL", trackingNumber="00340434161234567890")
    deliveries_dispatch_due()

    assert [body for body, _ in receiver.received] == [
        {"shipmentId": int(answer["shipment"]["id"]), "parcelId": int(answer["parcelId"])}
    ]


def test_late_tracking_fires_parcel_completed(vario, receiver):
    note = deliver_all(vario, vario.order())["delivery"]
    vario.register(PARCEL_EVENT, receiver.url)

    vario.control(f"deliveries/{note['id']}/parcels", {"carrier": "UPS", "trackingNumber": "1Z"}, expect=201)
    deliveries_dispatch_due()

    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("action", "event"),
    [
        ("cancel", "document.customer_order.dissolve"),
        ("close-remaining", "document.customer_order.order_close_remaining"),
        ("cancel-lines", "document.customer_order.end_editing"),
    ],
)
def test_order_changes_fire_their_event_with_the_order_id(vario, receiver, action, event):
    order = vario.order(lines=(("SKU-RED-M", 2),))
    line = order["lines"][0]["id"]
    if action == "close-remaining":
        vario.control(f"orders/{order['id']}/deliver", {"lines": [{"orderLineId": line, "quantity": 1}]}, expect=201)
    vario.register(event, receiver.url)

    body = {"lines": [{"orderLineId": line, "quantity": 1}]} if action == "cancel-lines" else None
    vario.control(f"orders/{order['id']}/{action}", body, expect=200)
    deliveries_dispatch_due()

    assert [body for body, _ in receiver.received] == [{"id": int(order["id"])}]


def test_return_fires_goods_return_create_with_the_return_id(vario, receiver):
    order = vario.order()
    deliver_all(vario, order)
    vario.register("document.customer_goods_return.create", receiver.url)

    goods_return = vario.control(f"orders/{order['id']}/return", expect=201).json()
    deliveries_dispatch_due()

    assert [body for body, _ in receiver.received] == [{"id": int(goods_return["id"])}]


def test_orders_created_in_the_erp_fire_customer_order_create(vario, receiver):
    vario.register("document.customer_order.create", receiver.url)
    order = vario.order()
    deliveries_dispatch_due()
    assert [body for body, _ in receiver.received] == [{"id": int(order["id"])}]


def test_own_webhooks_can_be_suppressed_when_creating_through_the_api(vario, receiver):
    vario.register("document.customer_order.create", receiver.url)
    body = {
        "transitionId": "create",
        "targetTypeId": 12,
        "document": {"accountId": "501", "lines": [{"articleId": 77, "quantity": 1}]},
    }

    vario.post("/erp/documents", body, extra={"HTTP_X_VARIO_SUPPRESS_OWN_WEBHOOKS": "true"})
    vario.post("/erp/documents", body)
    deliveries_dispatch_due()

    assert len(receiver.received) == 1


def test_payload_key_switch_sends_entity_id(vario, receiver):
    vario.control("faults", {"payloadKey": "entityId"}, expect=200)
    vario.register(DELIVERY_EVENT, receiver.url)

    note = deliver_all(vario, vario.order())["delivery"]
    deliveries_dispatch_due()

    assert [body for body, _ in receiver.received] == [{"entityId": int(note["id"])}]


def test_payload_key_switch_rejects_other_keys(vario):
    assert vario.control("faults", {"payloadKey": "documentId"}).status_code == 400


def test_webhook_is_retried_until_acknowledged(vario, receiver):
    vario.register(DELIVERY_EVENT, receiver.url)
    receiver.fail_next = 2
    deliver_all(vario, vario.order())

    deliveries_dispatch_due()
    assert webhook_log(vario)[0]["state"] == "FAILED"
    clock.advance(1)
    deliveries_dispatch_due()
    clock.advance(2)
    deliveries_dispatch_due()

    [entry] = webhook_log(vario)
    assert (entry["state"], entry["sentAttempts"]) == ("SENT", 3)
    assert entry["response"]["status"] == 200
    assert len(receiver.received) == 3
    tokens = {headers["Authorization"] for _, headers in receiver.received}
    assert len(tokens) >= 2  # each attempt signs a fresh token


def test_webhook_waits_for_its_retry_delay(vario, receiver):
    vario.register(DELIVERY_EVENT, receiver.url)
    receiver.fail_next = 1
    deliver_all(vario, vario.order())

    deliveries_dispatch_due()
    deliveries_dispatch_due()

    assert len(receiver.received) == 1


def test_webhook_becomes_erroneous_after_its_retries(vario, receiver):
    vario.register(DELIVERY_EVENT, receiver.url)
    receiver.fail_next = 99
    deliver_all(vario, vario.order())

    for _ in range(3):
        deliveries_dispatch_due()
        clock.advance(5)

    [entry] = webhook_log(vario, state="ERRONEOUS")
    assert entry["sentAttempts"] == 3
    assert entry["response"]["status"] == 500
    assert entry["event"] == DELIVERY_EVENT


def test_webhook_log_lists_queued_deliveries(vario, receiver):
    vario.register(DELIVERY_EVENT, receiver.url)
    deliver_all(vario, vario.order())
    [entry] = webhook_log(vario)
    assert (entry["state"], entry["sentAttempts"], entry["url"]) == ("QUEUED", 0, receiver.url)


@pytest.mark.slow
def test_live_sandbox_delivers_webhooks_by_itself(sandbox_url, receiver):
    token = requests.post(f"{sandbox_url}/realms/demo/protocol/openid-connect/token", data=token_form(), timeout=5)
    headers = {"Authorization": f"Bearer {token.json()['access_token']}", "User-Agent": USER_AGENT}
    registration = {"url": receiver.url, "destinationQueue": DELIVERY_EVENT, "appIdentifier": DEMO_APP_IDENTIFIER}
    requests.post(
        f"{sandbox_url}/api/vario/cmn/system/app-message-webhook/register",
        json=registration,
        headers=headers,
        timeout=5,
    ).raise_for_status()
    order = requests.post(
        f"{sandbox_url}/_sim/vario/orders", json={"lines": [{"articleNumber": "SKU-RED-M", "quantity": 1}]}, timeout=5
    ).json()
    note = requests.post(f"{sandbox_url}/_sim/vario/orders/{order['id']}/deliver", timeout=5).json()["delivery"]

    deadline = time.monotonic() + 10
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.05)

    assert [body for body, _ in receiver.received] == [{"id": int(note["id"])}]
    document = requests.get(f"{sandbox_url}/api/vario/erp/documents/{note['id']}", headers=headers, timeout=5)
    assert document.json()["referencedOrderNumber"] == order["number"]
