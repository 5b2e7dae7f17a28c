import time

from django.db import connections
from django.test.utils import CaptureQueriesContext

from sandbox import clock
from sandbox.deliveries import deliveries_dispatch_due, delivery_enqueue
from sandbox.models import Delivery, DeliveryState, RequestLogEntry


def test_requests_to_a_simulator_are_logged_with_secrets_masked(sim):
    sim.get("/api/oms/pvt/orders/1-01", HTTP_X_VTEX_API_APPKEY="key", HTTP_X_VTEX_API_APPTOKEN="very-secret")
    entries = sim.get("/_sim/requests").json()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["remote"], entry["method"], entry["path"]) == ("vtex", "GET", "/api/oms/pvt/orders/1-01")
    assert entry["requestHeaders"]["X-Vtex-Api-Apptoken"] == "********"
    assert "very-secret" not in str(entry)


def test_control_calls_are_not_logged(sim):
    sim.get("/_sim/clock")
    sim.post("/_sim/faults", {"kind": "latency", "latencyMs": 1}, content_type="application/json")
    assert RequestLogEntry.objects.count() == 0


def test_a_counted_status_fault_answers_then_disappears(sim):
    sim.post(
        "/_sim/faults",
        {
            "remote": "vtex",
            "pathPattern": "^/api/oms/",
            "kind": "status",
            "statusCode": 429,
            "retryAfter": 3,
            "remaining": 2,
        },
        content_type="application/json",
    )
    first = sim.get("/api/oms/pvt/orders/1-01")
    second = sim.get("/api/oms/pvt/orders/1-01")
    third = sim.get("/api/oms/pvt/orders/1-01")
    assert [first.status_code, second.status_code] == [429, 429]
    assert first["Retry-After"] == "3"
    assert third.status_code != 429
    assert sim.get("/_sim/faults").json() == []


def test_a_fault_for_one_remote_spares_the_other(sim):
    sim.post("/_sim/faults", {"remote": "vario", "kind": "status", "statusCode": 503}, content_type="application/json")
    assert sim.get("/api/vario/erp/documents/1").status_code == 503
    assert sim.get("/api/oms/pvt/orders/1-01").status_code != 503


def test_the_rules_are_read_once_and_again_after_each_change(sim):
    sim.get("/api/oms/pvt/orders/1-01")
    with CaptureQueriesContext(connections["sandbox"]) as queries:
        sim.get("/api/oms/pvt/orders/1-01")
    assert [q["sql"] for q in queries if "_faultrule" in q["sql"] or "_ratelimitrule" in q["sql"]] == []

    sim.post("/_sim/faults", {"remote": "vtex", "kind": "status", "statusCode": 503}, content_type="application/json")
    assert sim.get("/api/oms/pvt/orders/1-01").status_code == 503
    sim.delete("/_sim/faults")
    assert sim.get("/api/oms/pvt/orders/1-01").status_code != 503
    sim.post(
        "/_sim/rate-limits",
        {"remote": "vtex", "pathPattern": "^/api/oms/", "limit": 1, "windowSeconds": 60},
        content_type="application/json",
    )
    statuses = [sim.get("/api/oms/pvt/orders/1-01", HTTP_X_VTEX_API_APPKEY="k").status_code for _ in range(2)]
    assert statuses[1] == 429


def test_latency_fault_delays_the_answer(sim):
    sim.post("/_sim/faults", {"kind": "latency", "latencyMs": 200, "remaining": 1}, content_type="application/json")
    started = time.perf_counter()
    sim.get("/api/oms/pvt/orders/1-01")
    assert time.perf_counter() - started >= 0.2


def test_bad_fault_definitions_are_refused_with_a_reason(sim):
    response = sim.post("/_sim/faults", {"kind": "explode"}, content_type="application/json")
    assert response.status_code == 400
    assert "kind must be one of" in response.json()["error"]
    response = sim.post("/_sim/faults", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_rate_limit_rule_answers_429_with_retry_after_when_exceeded(sim):
    sim.post(
        "/_sim/rate-limits",
        {"remote": "vtex", "pathPattern": "^/api/oms/", "limit": 2, "windowSeconds": 60},
        content_type="application/json",
    )
    statuses = [sim.get("/api/oms/pvt/orders/1-01", HTTP_X_VTEX_API_APPKEY="k").status_code for _ in range(3)]
    assert statuses[:2] != [429, 429] and statuses[2] == 429
    limited = sim.get("/api/oms/pvt/orders/1-01", HTTP_X_VTEX_API_APPKEY="k")
    assert 1 <= int(limited["Retry-After"]) <= 60
    # another caller has its own window
    assert sim.get("/api/oms/pvt/orders/1-01", HTTP_X_VTEX_API_APPKEY="other").status_code != 429


def test_clock_advances_on_request(sim):
    before = clock.now()
    response = sim.post("/_sim/clock", {"advanceSeconds": 345600}, content_type="application/json")
    assert response.json()["offsetSeconds"] == 345600
    assert (clock.now() - before).total_seconds() >= 345600


def test_reset_clears_state_and_clock(sim):
    sim.post("/_sim/clock", {"advanceSeconds": 10}, content_type="application/json")
    sim.get("/api/oms/pvt/orders/1-01")
    sim.post("/_sim/reset")
    assert clock.offset_seconds() == 0
    assert RequestLogEntry.objects.count() == 0


def test_delivery_is_retried_until_acknowledged_then_sent(sim, receiver):
    receiver.fail_next = 2
    delivery = delivery_enqueue(kind="test", url=receiver.url, body={"id": 1}, retry_delays=[0, 0, 0])

    for _ in range(3):
        deliveries_dispatch_due()

    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT
    assert delivery.attempts == 3
    assert [body for body, _ in receiver.received] == [{"id": 1}] * 3


def test_delivery_gives_up_as_erroneous_after_its_retries(sim, receiver):
    receiver.fail_next = 99
    delivery_enqueue(kind="test", url=receiver.url, body={"id": 2}, retry_delays=[0])
    deliveries_dispatch_due()
    deliveries_dispatch_due()
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.ERRONEOUS
    assert delivery.attempts == 2
    assert delivery.last_status == 500


def test_delivery_waits_for_its_retry_delay(sim, receiver):
    receiver.fail_next = 1
    delivery_enqueue(kind="test", url=receiver.url, body={}, retry_delays=[60])
    deliveries_dispatch_due()
    assert deliveries_dispatch_due() == 0  # not due for a minute
    sim.post("/_sim/clock", {"advanceSeconds": 61}, content_type="application/json")
    assert deliveries_dispatch_due() == 1
    assert Delivery.objects.get().state == DeliveryState.SENT


def test_deliveries_are_listed_by_the_control_api(sim, receiver):
    delivery_enqueue(kind="test", event="evt", url=receiver.url, body={"id": 3}, retry_delays=[])
    sim.post("/_sim/deliveries/dispatch")
    rows = sim.get("/_sim/deliveries", {"kind": "test"}).json()
    assert rows[0]["state"] == "SENT" and rows[0]["sentAttempts"] == 1 and rows[0]["event"] == "evt"


def test_a_delivery_that_expects_exactly_200_retries_on_another_2xx(sim, receiver):
    receiver.status = 204
    delivery = delivery_enqueue(kind="test", url=receiver.url, body={}, retry_delays=[0], expect_status=200)
    deliveries_dispatch_due()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED
    receiver.status = 200
    deliveries_dispatch_due()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT
