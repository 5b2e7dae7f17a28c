"""Refusals of the Catalog, Logistics and Pricing simulators, in the shapes VTEX (or the working
contract, reference/catalog-sync.md §3.2 and §3.4) gives them.

Where VTEX publishes no code the code starts with ``SBX-`` so nobody mistakes it for VTEX's, as in
the OMS simulator (``sandbox.vtex.errors``).
"""

from __future__ import annotations

from django.http import HttpResponse

from sandbox.http import json_response


class CatalogError(Exception):
    """An answer other than success: a status and a body (JSON unless ``text`` is given)."""

    def __init__(self, status: int, body=None, *, text: str | None = None) -> None:
        super().__init__(text if text is not None else str(body))
        self.status = status
        self.body = body
        self.text = text

    def response(self) -> HttpResponse:
        if self.text is not None:
            return HttpResponse(self.text, status=self.status, content_type="text/plain; charset=utf-8")
        return json_response(self.body, status=self.status)


def vtex_error(status: int, code: str, message: str) -> CatalogError:
    return CatalogError(status, {"error": {"code": code, "message": message, "exception": None}})


def bad_request(code: str, message: str) -> CatalogError:
    return vtex_error(400, code, message)


def warehouse_not_found() -> CatalogError:
    # reference §3.4 (A): real behaviour undocumented; the working contract fixes this body.
    return CatalogError(404, {"error": {"code": "LOG404", "message": "Warehouse not found"}})


def logistics_sku_not_found() -> CatalogError:
    # reference §3.4 (A): unknown SKU → 404. Not LOG404, so a client tells it from a missing warehouse.
    return CatalogError(404, {"error": {"code": "SBX-LOG-SKU-NOT-FOUND", "message": "SKU not found"}})


def catalog_sku_not_found() -> CatalogError:
    # reference §3.2 (A): the Catalog lookups answer 404 with the JSON string "SKU not found".
    return CatalogError(404, "SKU not found")


def price_not_found(sku_id: int) -> CatalogError:
    # reference §1.5.1: a 404 for a SKU without a price is U; the simulator answers it.
    return vtex_error(404, "SBX-PRICE-NOT-FOUND", f"There is no price for SKU {sku_id}")


def inventory_locked(*, account: str, sku_id: int, warehouse_id: str) -> CatalogError:
    # reference §1.4.2 (C, spec example): text/plain, the lock key names account, SKU and warehouse.
    return CatalogError(423, text=f"Unable to acquire lock for key: {account}_item_logistics_{sku_id}_{warehouse_id}.")


class ControlError(Exception):
    """A refused control API call: ``{"error": "..."}`` with 400 (or ``status``), like the rest of /_sim/."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
