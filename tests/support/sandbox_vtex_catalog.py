"""Helpers for the Catalog, Logistics and Pricing simulator tests (tests/sandbox/test_vtex_catalog_*.py).

Answers are validated against VTEX's official OpenAPI files like the OMS's (tests/support/openapi.py),
each on its own server: Pricing's is ``https://api.vtex.com/{account}``, and the Catalog spec (not
among openapi.py's) is loaded here.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from tests.support.openapi import AUTH_HEADERS, VTEX_HOST, spec_dir, vtex_spec
from tests.support.sandbox_vtex import AUTH

# Pricing's server is https://api.vtex.com/{account}; a few of its operations (the tables list among
# them) name https://api.vtex.com/{account}/pricing instead, before a path that starts with /pricing too.
PRICING_HOST = "https://api.vtex.com/"
PRICING_UNDER_PRICING = ("/pricing/tables",)
CONTROL = "/_sim/vtex/catalog"
# The demo catalog (sandbox/vtex_catalog/seed.py): VARIO article 77 "SKU-RED-M" is SKU 2077.
RED_M = 2077
RED_M_REF = "SKU-RED-M"
RED_M_EAN = "4006381000772"


@cache
def _catalog_spec() -> OpenAPI:
    return OpenAPI.from_file_path(str(spec_dir() / "catalog-api.json"))


def spec(name: str) -> OpenAPI:
    return _catalog_spec() if name == "catalog" else vtex_spec(name)


def validate_response(
    name: str, method: str, path: str, *, status: int, body: Any, query=None, request_body=None, content_type: str
) -> None:
    """Raise when the answer breaks the official schema of that operation (spec ``name``)."""
    host = VTEX_HOST
    if name == "pricing":  # a relative path: urljoin would drop the account of an absolute one
        host, path = PRICING_HOST, ("demostore/pricing" if path in PRICING_UNDER_PRICING else "demostore") + path
    request = MockRequest(
        host,
        method.lower(),
        path,
        args=query or {},
        data=None if request_body is None else json.dumps(request_body),
        headers=AUTH_HEADERS,
        content_type="application/json",
    )
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    spec(name).validate_response(request, MockResponse(data, status_code=status, content_type=content_type))


def call(sim, method: str, path: str, body=None, *, query: str = "", raw: str | None = None, auth: dict | None = None):
    """A VTEX call as a client makes it: JSON body, Content-Type and the demo key pair."""
    data = raw if raw is not None else (json.dumps(body) if body is not None else "")
    full = f"{path}?{query}" if query else path
    return getattr(sim, method.lower())(
        full, data=data, content_type="application/json", **(AUTH if auth is None else auth)
    )


def checked(sim, name: str, method: str, path: str, body=None, *, status: int, query: dict | None = None):
    """Call, assert the status, validate the answer against spec ``name``; the JSON answer (or None)."""
    query_string = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    response = call(sim, method, path, body, query=query_string)
    assert response.status_code == status, response.content
    content_type = response.get("Content-Type", "application/json")
    validate_response(
        name,
        method,
        path,
        status=status,
        body=response.content or None,
        query=query,
        request_body=body,
        content_type=content_type,
    )
    return response.json() if response.content and content_type.startswith("application/json") else None


def control(sim, method: str, path: str, body=None, *, status: int | None = None):
    """A control API call under /_sim/vtex/catalog/; asserts ``status`` when given; the JSON answer."""
    response = getattr(sim, method.lower())(
        f"{CONTROL}/{path.lstrip('/')}",
        data=json.dumps(body) if body is not None else "",
        content_type="application/json",
    )
    if status is not None:
        assert response.status_code == status, response.content
    return response.json()


def sku_state(sim, sku_id: int) -> dict:
    return control(sim, "GET", f"skus/{sku_id}", status=200)


def stock(sim, sku_id: int, warehouse_id: str) -> dict | None:
    rows = [r for r in sku_state(sim, sku_id)["inventory"] if r["warehouseId"] == warehouse_id]
    return rows[0] if rows else None


def put_stock(sim, sku_id, warehouse_id: str, body=None, **fields):
    """PUT inventory with the full body the working contract sends (reference §3.4), fields overridden."""
    payload = (
        body if body is not None else {"quantity": 0, "unlimitedQuantity": False, "leadTime": "00:00:00", **fields}
    )
    return call(sim, "PUT", f"/api/logistics/pvt/inventory/skus/{sku_id}/warehouses/{warehouse_id}", payload)
