"""The OMS simulator over real HTTP (run_sandbox): what a test client cannot prove about routing."""

import pytest
import requests

from tests.support.sandbox_vtex import HTTP_HEADERS, handling_order_url, invoice_body

pytestmark = pytest.mark.slow


def test_invoice_number_with_an_encoded_slash_still_404s_on_tracking_over_http(sandbox_url):
    url = handling_order_url(sandbox_url)
    body = invoice_body("2026/7", trackingNumber="TN1")
    assert requests.post(f"{url}/invoice", json=body, headers=HTTP_HEADERS, timeout=10).status_code == 200
    tracking = {"isDelivered": False, "deliveredDate": None, "events": []}
    response = requests.put(f"{url}/invoice/2026%2F7/tracking", json=tracking, headers=HTTP_HEADERS, timeout=10)
    assert response.status_code == 404


def test_invoice_number_with_an_encoded_space_answers_500_on_tracking_over_http(sandbox_url):
    url = handling_order_url(sandbox_url)
    assert (
        requests.post(f"{url}/invoice", json=invoice_body("VF 7"), headers=HTTP_HEADERS, timeout=10).status_code == 200
    )
    patch = {"trackingNumber": "TN1", "trackingUrl": None, "courier": "PPL", "dispatchedDate": None}
    response = requests.patch(f"{url}/invoice/VF%207", json=patch, headers=HTTP_HEADERS, timeout=10)
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "An error has occurred"


def test_status_changes_reach_a_configured_feed(sandbox_url):
    config = {
        "filter": {"type": "FromWorkflow", "status": ["handling", "invoiced"]},
        "queue": {"visibilityTimeoutInSeconds": 240, "MessageRetentionPeriodInSeconds": 345600},
    }
    response = requests.post(f"{sandbox_url}/api/orders/feed/config", json=config, headers=HTTP_HEADERS, timeout=10)
    assert response.status_code == 200
    url = handling_order_url(sandbox_url)
    assert requests.post(f"{url}/invoice", json=invoice_body(), headers=HTTP_HEADERS, timeout=10).status_code == 200
    items = requests.get(f"{sandbox_url}/api/orders/feed?maxlot=10", headers=HTTP_HEADERS, timeout=10).json()
    assert [(i["lastState"], i["state"]) for i in items] == [("start-handling", "handling"), ("invoice", "invoiced")]
