"""The ``hang`` fault: a remote that accepts the connection and never answers (issue #13, item 4)."""

import threading

import pytest
import requests

from sandbox.models import RequestLogEntry
from tests.support.sandbox_vtex import HTTP_HEADERS, handling_order_url, invoice_body

HANG_INVOICES = {"remote": "vtex", "method": "POST", "pathPattern": "/invoice$", "kind": "hang"}


@pytest.mark.slow
def test_a_hung_request_gets_no_answer_and_vtex_never_acts_on_it_until_released(sandbox_url):
    url = handling_order_url(sandbox_url)
    assert requests.post(f"{sandbox_url}/_sim/faults", json=HANG_INVOICES, timeout=10).status_code == 201

    with pytest.raises(requests.ReadTimeout):
        requests.post(f"{url}/invoice", json=invoice_body("HANG-1"), headers=HTTP_HEADERS, timeout=(3, 0.3))
    # A caller patient enough sees the connection dropped once the fault is released: never an answer.
    outcome = {}

    def patient_call():
        try:
            outcome["response"] = requests.post(
                f"{url}/invoice", json=invoice_body("HANG-2"), headers=HTTP_HEADERS, timeout=(3, 30)
            )
        except requests.ConnectionError as exc:
            outcome["error"] = exc

    caller = threading.Thread(target=patient_call)
    caller.start()
    log = f"{sandbox_url}/_sim/requests"
    held = []
    for _ in range(100):  # the second call arrived (logged on arrival) and is held
        held = requests.get(log, params={"path": "/invoice"}, timeout=10).json()
        if len(held) == 2:
            break
        caller.join(0.05)
    assert [(e["status"], e["fault"]) for e in held] == [(0, "fault:hang"), (0, "fault:hang")]

    assert requests.delete(f"{sandbox_url}/_sim/faults", timeout=10).status_code == 200
    caller.join(30)
    assert not caller.is_alive()
    assert "response" not in outcome and isinstance(outcome["error"], requests.ConnectionError)
    order = requests.get(url, headers=HTTP_HEADERS, timeout=10).json()
    assert (order["packageAttachment"]["packages"], order["status"]) == ([], "handling")

    answered = requests.post(f"{url}/invoice", json=invoice_body("HANG-3"), headers=HTTP_HEADERS, timeout=10)
    assert answered.status_code == 200


def test_a_hang_rule_holds_for_its_latency_at_most_then_ends_without_running_the_view(sim):
    sim.post("/_sim/faults", {**HANG_INVOICES, "latencyMs": 20}, content_type="application/json")

    response = sim.post("/api/oms/pvt/orders/1-01/invoice", {}, content_type="application/json")

    # Django's test client has no socket to drop: the hold ends with a 504, the log says no answer.
    assert response.status_code == 504
    entry = RequestLogEntry.objects.get()
    assert (entry.path, entry.status, entry.fault) == ("/api/oms/pvt/orders/1-01/invoice", 0, "fault:hang")
