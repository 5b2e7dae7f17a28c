"""Helpers shared by the feed/hook simulator tests (imported by tests/sandbox/test_vtex_feed_*.py; no tests here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sandbox import clock
from sandbox.vtex.models import Account
from sandbox.vtex.seed import DEMO_APP_KEY, DEMO_APP_TOKEN
from sandbox.vtex_feed.services import feed_events_emit
from tests.support.openapi import SPECS, spec_dir, validate_vtex_response

AUTH = {"HTTP_X_VTEX_API_APPKEY": DEMO_APP_KEY, "HTTP_X_VTEX_API_APPTOKEN": DEMO_APP_TOKEN}
FEED_CONFIG = {
    "filter": {"type": "FromWorkflow", "status": ["ready-for-handling", "cancel", "invoiced"]},
    "queue": {"visibilityTimeoutInSeconds": 300, "MessageRetentionPeriodInSeconds": 345600},
}
ALL_CHANGES_CONFIG = {
    "filter": {"type": "FromWorkflow"},
    "queue": {"visibilityTimeoutInSeconds": 300, "MessageRetentionPeriodInSeconds": 345600},
}


@dataclass
class StandInOrder:
    """What the feed needs of an order: its id and the account (appKey) that owns the feed and hook."""

    order_id: str
    account: Account


def demo_account() -> Account:
    return Account.objects.get(app_key=DEMO_APP_KEY)


def status_change(order_id: str, last_state: str, state: str, *, account: Account | None = None) -> None:
    now = clock.now()
    feed_events_emit(
        order=StandInOrder(order_id=order_id, account=account or demo_account()),
        last_state=last_state,
        state=state,
        last_change=now - timedelta(seconds=30),
        current_change=now,
    )


def advance(sim, seconds: float) -> None:
    assert sim.post("/_sim/clock", {"advanceSeconds": seconds}, content_type="application/json").status_code == 200


@cache
def _documented_statuses(path: str, method: str) -> frozenset[str]:
    spec = json.loads((spec_dir() / SPECS["orders"]).read_text())
    return frozenset(spec["paths"][path][method.lower()]["responses"])


def body_of(response) -> Any:
    return json.loads(response.content) if response.content else None


def checked(response, method: str, path: str, *, query: dict | None = None, request_body: Any = None):
    """Hold a real-endpoint answer to the official schema.

    Statuses the spec lists are validated by openapi-core. Statuses it leaves out (400/409 on feed config, 404
    on the feed) must at least carry VTEX's error shape. The POST hook config 200 is special: the spec's schema
    for it is the *notification* shape, copied by mistake (reference/vtex.md §1.8); the simulator answers it
    without a body, like the other configuration writes.
    """
    body = body_of(response)
    status = response.status_code
    if (method, path, status) == ("POST", "/api/orders/hook/config", 200):
        assert body is None
    elif str(status) in _documented_statuses(path, method):
        validate_vtex_response("orders", method, path, status=status, body=body, query=query, request_body=request_body)
    else:
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"code", "message", "exception"}, body
    return response


def call(sim, method: str, path: str, body: Any = None, *, query: dict | None = None, auth: dict | None = None):
    """A VTEX call with the demo key pair, checked against the spec."""
    headers = AUTH if auth is None else auth
    kwargs: dict = {"content_type": "application/json", **headers}
    if method == "GET":
        response = sim.get(path, query or {}, **headers)
    elif method == "DELETE":
        response = sim.delete(path, **headers)
    else:
        response = sim.generic(method, path, json.dumps(body) if body is not None else b"", **kwargs)
    if auth is None:
        checked(response, method, path, query=query, request_body=body)
    return response


def configure_feed(sim, config: dict | None = None):
    response = call(sim, "POST", "/api/orders/feed/config", config or FEED_CONFIG)
    assert response.status_code == 200, response.content
    return response


def retrieve(sim, maxlot: int = 10) -> list[dict]:
    response = call(sim, "GET", "/api/orders/feed", query={"maxlot": str(maxlot)})
    assert response.status_code == 200, response.content
    return response.json()


def commit(sim, handles: list[str]):
    response = call(sim, "POST", "/api/orders/feed", {"handles": handles})
    assert response.status_code == 200, response.content
    return response


def raw_queue(sim, app_key: str = DEMO_APP_KEY) -> dict:
    response = sim.get("/_sim/vtex/feed", {"appKey": app_key})
    assert response.status_code == 200, response.content
    return response.json()
