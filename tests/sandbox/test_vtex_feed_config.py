"""Feed configuration: GET/POST/DELETE /api/orders/feed/config, its validation and auth."""

import pytest

from sandbox.vtex.models import Account
from tests.support.openapi import validate_vtex_request
from tests.support.sandbox_vtex_feed import (
    ALL_CHANGES_CONFIG,
    AUTH,
    FEED_CONFIG,
    advance,
    call,
    configure_feed,
    retrieve,
    status_change,
)

PATH = "/api/orders/feed/config"
QUEUE = {"visibilityTimeoutInSeconds": 300, "MessageRetentionPeriodInSeconds": 345600}


def test_the_test_configuration_itself_follows_the_official_request_schema():
    validate_vtex_request("orders", "POST", PATH, body=FEED_CONFIG)


def test_get_without_a_configuration_is_404(sim):
    response = call(sim, "GET", PATH)
    assert response.status_code == 404


def test_saved_configuration_is_returned_with_queue_counters(sim):
    configure_feed(sim)
    response = call(sim, "GET", PATH)
    assert response.status_code == 200
    assert response.json() == {
        "filter": {"type": "FromWorkflow", "status": ["ready-for-handling", "cancel", "invoiced"]},
        "queue": {"visibilityTimeoutInSeconds": 300, "messageRetentionPeriodInSeconds": 345600},
        "quantity": 0,
        "approximateAgeOfOldestMessageInSeconds": 0,
    }


def test_quantity_counts_invisible_items_and_age_follows_the_oldest_one(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    advance(sim, 60)
    status_change("2-01", "window-to-cancel", "ready-for-handling")
    retrieve(sim, maxlot=1)  # one item now in flight
    config = call(sim, "GET", PATH).json()
    assert config["quantity"] == 2
    assert 60 <= config["approximateAgeOfOldestMessageInSeconds"] < 61


def test_the_lower_case_retention_spelling_of_the_get_answer_is_accepted_on_post(sim):
    body = {
        "filter": {"type": "FromWorkflow"},
        "queue": {"visibilityTimeoutInSeconds": 30, "messageRetentionPeriodInSeconds": 400000},
    }
    assert call(sim, "POST", PATH, body).status_code == 200
    assert call(sim, "GET", PATH).json()["queue"]["messageRetentionPeriodInSeconds"] == 400000


def test_reconfiguring_replaces_the_filter_and_keeps_the_queued_items(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    configure_feed(sim, ALL_CHANGES_CONFIG)
    config = call(sim, "GET", PATH).json()
    assert config["filter"] == {"type": "FromWorkflow"}
    assert config["quantity"] == 1


def test_delete_removes_the_configuration_and_its_queue(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    assert call(sim, "DELETE", PATH).status_code == 200
    assert call(sim, "GET", PATH).status_code == 404
    assert call(sim, "GET", "/api/orders/feed", query={"maxlot": "10"}).status_code == 404


def test_delete_without_a_configuration_is_404(sim):
    assert call(sim, "DELETE", PATH).status_code == 404


def test_from_orders_configuration_is_returned_with_expression_and_single_fire(sim):
    body = {
        "filter": {"type": "FromOrders", "expression": 'status = "invoiced"', "disableSingleFire": True},
        "queue": QUEUE,
    }
    configure_feed(sim, body)
    assert call(sim, "GET", PATH).json()["filter"] == {
        "type": "FromOrders",
        "expression": 'status = "invoiced"',
        "disableSingleFire": True,
    }


@pytest.mark.parametrize(
    "feed_filter",
    [
        {"type": "FromOrders", "expression": "value > 100", "status": ["invoiced"]},
        {"type": "FromOrders", "status": ["invoiced"]},
        {"type": "FromWorkflow", "expression": "value > 100"},
        {"type": "FromWorkflow", "status": ["invoiced"], "disableSingleFire": False},
    ],
    ids=["orders-with-status", "orders-with-only-status", "workflow-with-expression", "workflow-with-single-fire"],
)
def test_mixing_the_two_filter_types_is_409(sim, feed_filter):
    response = call(sim, "POST", PATH, {"filter": feed_filter, "queue": QUEUE})
    assert response.status_code == 409
    assert call(sim, "GET", PATH).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"queue": QUEUE},
        {"filter": {"status": ["invoiced"]}, "queue": QUEUE},
        {"filter": {"type": "fromworkflow"}, "queue": QUEUE},
        {"filter": {"type": "FromWorkflow", "status": "invoiced"}, "queue": QUEUE},
        {"filter": {"type": "FromOrders"}, "queue": QUEUE},
        {"filter": {"type": "FromOrders", "expression": "  "}, "queue": QUEUE},
        {"filter": {"type": "FromOrders", "expression": "value > 1", "disableSingleFire": "no"}, "queue": QUEUE},
        {"filter": {"type": "FromWorkflow"}},
        {"filter": {"type": "FromWorkflow"}, "queue": {"MessageRetentionPeriodInSeconds": 345600}},
        {"filter": {"type": "FromWorkflow"}, "queue": {"visibilityTimeoutInSeconds": 300}},
        {"filter": {"type": "FromWorkflow"}, "queue": {**QUEUE, "visibilityTimeoutInSeconds": "300"}},
        {"filter": {"type": "FromWorkflow"}, "queue": {**QUEUE, "visibilityTimeoutInSeconds": 0}},
        {"filter": {"type": "FromWorkflow"}, "queue": {**QUEUE, "visibilityTimeoutInSeconds": 43201}},
        {"filter": {"type": "FromWorkflow"}, "queue": {**QUEUE, "MessageRetentionPeriodInSeconds": 345599}},
        {"filter": {"type": "FromWorkflow"}, "queue": {**QUEUE, "MessageRetentionPeriodInSeconds": 1209601}},
        {
            "filter": {"type": "FromWorkflow"},
            "queue": {**QUEUE, "messageRetentionPeriodInSeconds": 400000},
        },
        ["not", "an", "object"],
    ],
    ids=[
        "no-filter",
        "no-type",
        "unknown-type",
        "status-not-a-list",
        "orders-without-expression",
        "orders-blank-expression",
        "single-fire-not-bool",
        "no-queue",
        "no-visibility",
        "no-retention",
        "visibility-as-string",
        "visibility-zero",
        "visibility-over-12h",
        "retention-under-4-days",
        "retention-over-14-days",
        "retention-given-twice-differently",
        "body-not-an-object",
    ],
)
def test_invalid_configuration_is_400_and_nothing_is_saved(sim, body):
    response = call(sim, "POST", PATH, body)
    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert call(sim, "GET", PATH).status_code == 404


def test_retention_bounds_themselves_are_accepted(sim):
    for retention in (345600, 1209600):
        body = {"filter": {"type": "FromWorkflow"}, "queue": {**QUEUE, "MessageRetentionPeriodInSeconds": retention}}
        assert call(sim, "POST", PATH, body).status_code == 200


def test_a_body_that_is_not_json_is_400(sim):
    response = sim.generic("POST", PATH, b"{nope", content_type="application/json", **AUTH)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


def test_unknown_status_strings_are_accepted_and_simply_never_match(sim):
    configure_feed(sim, {"filter": {"type": "FromWorkflow", "status": ["ready-for-handlin"]}, "queue": QUEUE})
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    assert retrieve(sim) == []


def test_without_credentials_the_answer_is_401(sim):
    response = call(sim, "GET", PATH, auth={})
    assert response.status_code == 401
    assert response.json() == {"error": {"code": "1", "message": "Unauthorized access", "exception": None}}


def test_an_unknown_key_pair_is_403(sim):
    response = call(
        sim,
        "POST",
        PATH,
        FEED_CONFIG,
        auth={"HTTP_X_VTEX_API_APPKEY": AUTH["HTTP_X_VTEX_API_APPKEY"], "HTTP_X_VTEX_API_APPTOKEN": "wrong"},
    )
    assert response.status_code == 403
    assert call(sim, "GET", PATH).status_code == 404


def test_each_app_key_has_its_own_feed(sim):
    Account.objects.create(account_name="demostore", app_key="vtexappkey-demostore-OTHER", app_token="other-token")
    configure_feed(sim)
    other = {"HTTP_X_VTEX_API_APPKEY": "vtexappkey-demostore-OTHER", "HTTP_X_VTEX_API_APPTOKEN": "other-token"}
    assert call(sim, "GET", PATH, auth=other).status_code == 404
