"""Helpers for the VTEX OMS simulator tests (imported by tests/sandbox/test_vtex_*.py; no tests here)."""

from __future__ import annotations

import json

import requests

from sandbox.vtex import events
from sandbox.vtex.seed import DEMO_APP_KEY, DEMO_APP_TOKEN
from tests.support.openapi import validate_vtex_response

AUTH = {
    "HTTP_X_VTEX_API_APPKEY": DEMO_APP_KEY,
    "HTTP_X_VTEX_API_APPTOKEN": DEMO_APP_TOKEN,
    "HTTP_ACCEPT": "application/json",
}

ITEMS = [
    {"skuId": "18", "name": "Bay Max L", "quantity": 2, "price": 4950},
    {"skuId": "27", "name": "Robot Arm", "quantity": 1, "price": 1000},
]
SHIPPING = 700
TOTAL = 2 * 4950 + 1000 + SHIPPING  # 11600


def call(sim, method: str, path: str, body=None, *, auth: dict | None = None, query: str = "", raw: str | None = None):
    """A VTEX call the way a client makes it: JSON body, Content-Type and the demo key pair."""
    data = raw if raw is not None else (json.dumps(body) if body is not None else "")
    full = f"{path}?{query}" if query else path
    return getattr(sim, method.lower())(
        full, data=data, content_type="application/json", **(AUTH if auth is None else auth)
    )


def checked(sim, spec: str, method: str, path: str, body=None, *, status: int, query: dict | None = None):
    """Call, assert the status, and validate the answer against VTEX's official schema for it."""
    query_string = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    response = call(sim, method, path, body, query=query_string)
    assert response.status_code == status, response.content
    payload = response.json() if response.content else None
    validate_vtex_response(
        spec,
        method,
        path,
        status=status,
        body=payload,
        query=query,
        request_body=body,
        content_type=response.get("Content-Type", "application/json"),
    )
    return payload


def create_order(sim, **overrides) -> dict:
    body = {"items": ITEMS, "shippingValue": SHIPPING, **overrides}
    response = sim.post("/_sim/vtex/orders", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def handling_order(sim, **overrides) -> dict:
    order = create_order(sim, **overrides)
    assert call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/start-handling").status_code == 204
    return order


def get_order(sim, order_id: str) -> dict:
    response = call(sim, "GET", f"/api/oms/pvt/orders/{order_id}")
    assert response.status_code == 200, response.content
    return response.json()


def invoice_body(number: str = "VF2026000123", *, value=TOTAL, items=None, kind: str = "Output", **extra) -> dict:
    return {
        "type": kind,
        "issuanceDate": "2026-03-02T14:05:00+01:00",
        "invoiceNumber": number,
        "invoiceValue": str(value) if isinstance(value, int) else value,
        "invoiceKey": None,
        "invoiceUrl": None,
        "courier": "",
        "trackingNumber": "",
        "trackingUrl": "",
        "dispatchedDate": None,
        "items": items
        if items is not None
        else [{"id": "18", "price": 4950, "quantity": 2}, {"id": "27", "price": 1000, "quantity": 1}],
        **extra,
    }


def invoice(sim, order_id: str, body: dict):
    return call(sim, "POST", f"/api/oms/pvt/orders/{order_id}/invoice", body)


def error_code(response) -> str:
    return response.json()["error"]["code"]


def record_status_events(monkeypatch) -> list[dict]:
    """Every status change the order side reports from now on, still passed on to the feed/hook side.

    Test modules wrap it in their own ``status_events`` fixture."""
    seen: list[dict] = []
    original = events.order_status_changed

    def record(**kwargs):
        seen.append({**kwargs, "order_id": kwargs["order"].order_id})
        original(**kwargs)

    monkeypatch.setattr(events, "order_status_changed", record)
    return seen


# Over real HTTP (run_sandbox): the same demo credentials as request headers.
HTTP_HEADERS = {
    "X-VTEX-API-AppKey": DEMO_APP_KEY,
    "X-VTEX-API-AppToken": DEMO_APP_TOKEN,
    "Accept": "application/json",
    "Content-Type": "application/json",
}


def handling_order_url(sandbox_url: str) -> str:
    """A VTEX order started handling on the sandbox served over HTTP; the URL of its OMS resource."""
    response = requests.post(
        f"{sandbox_url}/_sim/vtex/orders", json={"items": ITEMS, "shippingValue": SHIPPING}, timeout=10
    )
    response.raise_for_status()
    order_id = response.json()["orderId"]
    url = f"{sandbox_url}/api/oms/pvt/orders/{order_id}"
    assert requests.post(f"{url}/start-handling", headers=HTTP_HEADERS, timeout=10).status_code == 204
    return url
