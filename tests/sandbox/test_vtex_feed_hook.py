"""Hook configuration (GET/POST/DELETE /api/orders/hook/config), its ping, and hook notifications."""

import re
import socket

import pytest

from sandbox.deliveries import deliveries_dispatch_due
from sandbox.models import Delivery, DeliveryState
from sandbox.vtex.models import Account
from sandbox.vtex_feed.services import DEFAULT_HOOK_RETRY_DELAYS
from tests.support.openapi import validate_vtex_response
from tests.support.sandbox_vtex_feed import (
    AUTH,
    advance,
    call,
    configure_feed,
    raw_queue,
    retrieve,
    status_change,
)

PATH = "/api/orders/hook/config"
SECRET_HEADERS = {"X-Portal-Secret": "s3cr3t"}
HOOK_FILTER = {"type": "FromWorkflow", "status": ["ready-for-handling", "cancel"]}
THREE_DAYS = 3 * 24 * 3600


def hook_config(url: str, **overrides) -> dict:
    return {"filter": HOOK_FILTER, "hook": {"url": url, "headers": SECRET_HEADERS}, **overrides}


@pytest.fixture
def hooked(sim, receiver):
    """A hook configured on the receiver; the ping it got is forgotten."""
    assert call(sim, "POST", PATH, hook_config(f"{receiver.url}/vtex/hook")).status_code == 200
    receiver.received.clear()
    receiver.paths.clear()
    return receiver


def notifications(receiver) -> list[dict]:
    return [body for body, _ in receiver.received]


def test_saving_a_hook_pings_its_url_first(sim, receiver):
    response = call(sim, "POST", PATH, hook_config(f"{receiver.url}/vtex/hook"))
    assert response.status_code == 200
    [(body, headers)] = receiver.received
    assert body == {"hookConfig": "ping"}
    assert receiver.paths == ["/vtex/hook"]
    assert headers["X-Portal-Secret"] == "s3cr3t"


def test_the_saved_hook_is_returned_by_get(sim, hooked):
    response = call(sim, "GET", PATH)
    assert response.status_code == 200
    assert response.json() == {
        "filter": HOOK_FILTER,
        "hook": {"url": f"{hooked.url}/vtex/hook", "headers": SECRET_HEADERS},
    }


def test_a_ping_answered_with_anything_but_200_refuses_the_hook_with_400(sim, receiver):
    receiver.status = 204
    response = call(sim, "POST", PATH, hook_config(receiver.url))
    assert response.status_code == 400
    assert "Unable to check address" in response.json()["error"]["message"]
    assert call(sim, "GET", PATH).status_code == 404


def test_an_unreachable_hook_url_is_400(sim):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    response = call(sim, "POST", PATH, hook_config(f"http://127.0.0.1:{port}/hook"))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Unable to check address."


@pytest.mark.parametrize("url", ["http://portal.example.com/hook", "ftp://127.0.0.1/hook", "127.0.0.1/hook"])
def test_only_https_urls_are_accepted_except_plain_http_on_loopback(sim, receiver, url):
    response = call(sim, "POST", PATH, hook_config(url))
    assert response.status_code == 400
    assert receiver.received == []


def test_a_failed_ping_keeps_the_previous_hook(sim, hooked):
    hooked.status = 500
    assert call(sim, "POST", PATH, hook_config(f"{hooked.url}/other")).status_code == 400
    assert call(sim, "GET", PATH).json()["hook"]["url"] == f"{hooked.url}/vtex/hook"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"filter": {"type": "FromWorkflow"}, "hook": {"url": "https://x.example", "headers": {}}}, 400),
        ({"filter": {"type": "FromWorkflow", "status": []}, "hook": {"url": "https://x.example", "headers": {}}}, 400),
        (
            {
                "filter": {"type": "FromOrders", "expression": "value > 1"},
                "hook": {"url": "https://x.example", "headers": {}},
            },
            400,
        ),
        ({"filter": HOOK_FILTER}, 400),
        ({"filter": HOOK_FILTER, "hook": {"headers": {}}}, 400),
        ({"filter": HOOK_FILTER, "hook": {"url": "https://x.example"}}, 400),
        ({"filter": HOOK_FILTER, "hook": {"url": "https://x.example", "headers": {"n": 1}}}, 400),
        ({"hook": {"url": "https://x.example", "headers": {}}}, 400),
        (
            {"filter": {**HOOK_FILTER, "expression": "value > 1"}, "hook": {"url": "https://x.example", "headers": {}}},
            409,
        ),
        (
            {
                "filter": {"type": "FromOrders", "expression": "x", "disableSingleFire": False, "status": ["cancel"]},
                "hook": {"url": "https://x.example", "headers": {}},
            },
            409,
        ),
    ],
    ids=[
        "workflow-without-status",
        "workflow-empty-status",
        "orders-without-single-fire",
        "no-hook",
        "no-url",
        "no-headers",
        "header-not-a-string",
        "no-filter",
        "workflow-with-expression",
        "orders-with-status",
    ],
)
def test_invalid_hook_configuration_is_refused_without_a_ping(sim, receiver, body, status):
    response = call(sim, "POST", PATH, body)
    assert response.status_code == status
    assert receiver.received == []


def test_delete_removes_the_hook(sim, hooked):
    assert call(sim, "DELETE", PATH).status_code == 200
    assert call(sim, "GET", PATH).status_code == 404
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    assert not Delivery.objects.exists()


def test_get_and_delete_without_a_hook_are_404(sim):
    assert call(sim, "GET", PATH).status_code == 404
    assert call(sim, "DELETE", PATH).status_code == 404


def test_hook_configuration_needs_credentials(sim):
    assert call(sim, "GET", PATH, auth={}).status_code == 401
    wrong = {"HTTP_X_VTEX_API_APPKEY": AUTH["HTTP_X_VTEX_API_APPKEY"], "HTTP_X_VTEX_API_APPTOKEN": "nope"}
    assert call(sim, "POST", PATH, hook_config("https://x.example"), auth=wrong).status_code == 403


def test_a_matching_status_change_is_notified_in_pascal_case_with_origin_and_the_hook_headers(sim, hooked):
    status_change("1001-01", "window-to-cancel", "ready-for-handling")
    assert deliveries_dispatch_due() == 1
    [(body, headers)] = hooked.received
    assert body["Domain"] == "Fulfillment"
    assert (body["OrderId"], body["LastState"], body["State"]) == ("1001-01", "window-to-cancel", "ready-for-handling")
    assert body["Origin"] == {"Account": "demostore", "Key": AUTH["HTTP_X_VTEX_API_APPKEY"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", body["CurrentChange"])
    assert headers["X-Portal-Secret"] == "s3cr3t"
    assert hooked.paths == ["/vtex/hook"]


def test_a_notification_follows_the_official_hook_payload_schema(sim, hooked):
    status_change("1001-01", "window-to-cancel", "ready-for-handling")
    deliveries_dispatch_due()
    [body] = notifications(hooked)
    # The spec documents the payload as the 200 answer of the hook configuration (reference §1.8).
    validate_vtex_response("orders", "POST", PATH, status=200, body=body)


def test_status_changes_outside_the_hook_filter_are_not_notified(sim, hooked):
    status_change("1-01", "ready-for-handling", "handling")
    assert deliveries_dispatch_due() == 0
    assert hooked.received == []


def test_hook_and_feed_both_get_the_same_status_change(sim, hooked):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    deliveries_dispatch_due()
    assert [item["orderId"] for item in retrieve(sim)] == ["1-01"]
    assert [body["OrderId"] for body in notifications(hooked)] == ["1-01"]


def test_a_failed_notification_is_retried_after_the_configured_delay(sim, hooked):
    sim.post("/_sim/vtex/hook-retries", {"delays": [10, 20]}, content_type="application/json")
    hooked.fail_next = 1
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    deliveries_dispatch_due()
    delivery = Delivery.objects.get(kind="vtex_hook")
    assert delivery.state == DeliveryState.FAILED
    advance(sim, 9)
    assert deliveries_dispatch_due() == 0
    advance(sim, 1)
    assert deliveries_dispatch_due() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 2)
    assert [body["OrderId"] for body in notifications(hooked)] == ["1-01", "1-01"]


def test_a_notification_is_given_up_when_the_retries_are_used_up(sim, hooked):
    sim.post("/_sim/vtex/hook-retries", {"delays": [1]}, content_type="application/json")
    hooked.status = 503
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    deliveries_dispatch_due()
    advance(sim, 1)
    deliveries_dispatch_due()
    assert Delivery.objects.get(kind="vtex_hook").state == DeliveryState.ERRONEOUS


def test_default_retry_delays_grow_geometrically_over_about_a_hundred_attempts(sim):
    response = sim.get("/_sim/vtex/hook-retries").json()
    assert response["delays"] == DEFAULT_HOOK_RETRY_DELAYS
    assert response["delays"][:4] == [1, 2, 4, 8]
    assert len(response["delays"]) == 100


def test_bad_retry_delays_are_refused(sim):
    response = sim.post("/_sim/vtex/hook-retries", {"delays": [1, -2]}, content_type="application/json")
    assert response.status_code == 400


def test_a_hook_without_notifications_for_three_days_is_deleted(sim, hooked):
    advance(sim, THREE_DAYS)
    assert call(sim, "GET", PATH).status_code == 404
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    assert not Delivery.objects.exists()


def test_a_notification_keeps_the_hook_alive_for_three_more_days(sim, hooked):
    advance(sim, THREE_DAYS - 60)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    advance(sim, THREE_DAYS - 60)
    assert call(sim, "GET", PATH).status_code == 200
    assert raw_queue(sim)["hook"]["lastNotificationAt"] is not None


def test_each_app_key_has_its_own_hook(sim, hooked):
    other = Account.objects.create(account_name="demostore", app_key="vtexappkey-other", app_token="tok")
    status_change("1-01", "window-to-cancel", "ready-for-handling", account=other)
    assert not Delivery.objects.exists()
