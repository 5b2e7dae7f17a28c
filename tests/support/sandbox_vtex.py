"""Helpers for the VTEX OMS simulator tests (no tests here; imported by test_vtex_*.py)."""

from __future__ import annotations

import json

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
