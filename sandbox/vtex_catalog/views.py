"""Catalog, Logistics and Pricing endpoints on their real paths. Thin: authenticate, parse, call one
service, answer.

Pricing lives on ``https://api.vtex.com/{account}`` (reference §1.1); the simulator is one host, so
its routes answer both as ``/{account}/pricing/…`` and as ``/pricing/…`` (the account then comes
from the key pair). An account in the path that is not the key pair's → 403.
"""

from __future__ import annotations

from functools import wraps

from django.db import transaction
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox.http import READ_ONLY_METHODS, InvalidJson, QueryParamError, int_query_param, json_body, json_response
from sandbox.routers import SANDBOX_DB
from sandbox.vtex.auth import vtex_auth
from sandbox.vtex_catalog import catalog, inventory, pricing
from sandbox.vtex_catalog.errors import CatalogError, bad_request, vtex_error
from sandbox.vtex_catalog.limits import after_apply_fault_for, pricing_budget_take
from sandbox.vtex_catalog.models import Dock, Reservation, Warehouse

JSON_UTF8 = "application/json; charset=utf-8"
# Pricing writes answer 200 without a body (reference §1.5.2, §1.5.3).
EMPTY = "text/plain; charset=utf-8"


def read_json(request, *, required: bool = True):
    """The JSON body; 400 to one that is not JSON or not sent as application/json."""
    if request.body and request.content_type != "application/json":
        raise bad_request("SBX-CONTENT-TYPE", "Content-Type must be application/json")
    try:
        return json_body(request, required=required)
    except InvalidJson as exc:
        raise bad_request("SBX-INVALID-JSON", str(exc)) from None


def _answer(request, view, args, kwargs, *, writes: bool) -> HttpResponse:
    try:
        if not writes or request.method in READ_ONLY_METHODS:
            return view(request, *args, **kwargs)
        with transaction.atomic(using=SANDBOX_DB):
            response = view(request, *args, **kwargs)
    except CatalogError as exc:
        return exc.response()
    # "500 after apply" (reference §1.8.4): the write above is committed; the client is told it failed.
    status = after_apply_fault_for(method=request.method, path=request.path) if response.status_code < 300 else None
    if status is not None:
        return vtex_error(status, str(status), "An error has occurred").response()
    return response


def api_view(*methods: str, writes: bool = True, pricing_route: str | None = None):
    """csrf-exempt, method-checked, authenticated (``request.vtex_account``), one sandbox transaction
    per write, CatalogError → its answer. ``pricing_route``: the Pricing route budget this view spends
    (429 before anything is done; the ``Ratelimit-*`` headers on every answer)."""

    def decorate(view):
        @csrf_exempt
        @require_http_methods(list(methods))
        @vtex_auth
        @wraps(view)
        def wrapper(request, *args, account_name: str | None = None, **kwargs):
            account = request.vtex_account.account_name
            if account_name is not None and account_name != account:
                return vtex_error(
                    403, "2", "Forbidden: the appKey/appToken pair is not valid for this account"
                ).response()
            budget = pricing_budget_take(account=account, route=pricing_route) if pricing_route else None
            if budget is not None and not budget.allowed:
                # reference §1.6 (C): Retry-After present ⇒ the request was not processed.
                response = vtex_error(429, "429", "Too Many Requests").response()
            else:
                response = _answer(request, view, (account, *args), kwargs, writes=writes)
            for name, value in (budget.headers if budget else {}).items():
                response[name] = value
            return response

        return wrapper

    return decorate


# --- Catalog ------------------------------------------------------------------------------------------


@api_view("GET")
def sku_id_by_ref_id(request, account: str, ref_id: str):
    sku = catalog.found(catalog.sku_by_ref_id(account=account, ref_id=ref_id))
    return json_response(str(sku.sku_id))


@api_view("POST", writes=False)
def sku_ids_by_ref_ids(request, account: str):
    return json_response(catalog.sku_ids_by_ref_ids(account=account, data=read_json(request)))


@api_view("GET")
def sku_by_ref_id_query(request, account: str):
    ref_id = request.GET.get("RefId")
    if not ref_id:
        raise bad_request("SBX-REFID-REQUIRED", "The query parameter RefId is required")
    return json_response(
        catalog.sku_json(catalog.found(catalog.sku_by_ref_id(account=account, ref_id=ref_id)), with_ean=True)
    )


@api_view("GET")
def sku_by_id(request, account: str, sku_id: str):
    sku = catalog.found(catalog.sku_get(account=account, sku_id=catalog.catalog_sku_id(sku_id)))
    return json_response(catalog.sku_json(sku))


@api_view("GET")
def sku_eans(request, account: str, sku_id: str):
    sku = catalog.found(catalog.sku_get(account=account, sku_id=catalog.catalog_sku_id(sku_id)))
    return json_response([e.ean for e in sku.eans.all()])


@api_view("GET")
def sku_context_by_id(request, account: str, sku_id: str):
    sku = catalog.found(catalog.sku_get(account=account, sku_id=catalog.catalog_sku_id(sku_id)))
    return json_response(catalog.sku_context_json(sku))


@api_view("GET")
def sku_by_ean(request, account: str, ean: str):
    return json_response(catalog.sku_context_json(catalog.found(catalog.sku_by_ean(account=account, ean=ean))))


@api_view("GET")
def sku_by_alternate_id(request, account: str, alternate_id: str):
    sku = catalog.found(catalog.sku_by_alternate_id(account=account, alternate_id=alternate_id))
    return json_response(catalog.sku_context_json(sku))


@api_view("GET")
def sku_ids(request, account: str):
    try:
        page = int_query_param(request.GET, "page", default=0, minimum=1, maximum=10**9)
        size = int_query_param(request.GET, "pagesize", default=0, minimum=1, maximum=catalog.PAGE_SIZE_MAX)
    except QueryParamError as exc:
        raise bad_request("SBX-INVALID-PAGE", str(exc)) from None
    if not page or not size:
        raise bad_request("SBX-INVALID-PAGE", "page and pagesize are required")
    return json_response(catalog.sku_ids_page(account=account, page=page, page_size=size))


# --- Logistics ----------------------------------------------------------------------------------------


@api_view("GET")
def warehouses(request, account: str):
    return json_response([inventory.warehouse_json(w) for w in Warehouse.objects.filter(account=account)])


@api_view("GET")
def warehouse_detail(request, account: str, warehouse_id: str):
    return json_response(
        inventory.warehouse_json(inventory.logistics_warehouse(account=account, warehouse_id=warehouse_id))
    )


@api_view("GET")
def docks(request, account: str):
    return json_response([inventory.dock_json(d) for d in Dock.objects.filter(account=account)])


@api_view("GET")
def inventory_by_sku(request, account: str, sku_id: str):
    return json_response(inventory.inventory_by_sku(account=account, value=sku_id))


@api_view("PUT")
def inventory_update(request, account: str, sku_id: str, warehouse_id: str):
    inventory.inventory_update(account=account, value=sku_id, warehouse_id=warehouse_id, data=read_json(request))
    return json_response(True)  # reference §1.4.2: "200 OK status code with true in the response body"


@api_view("GET")
def inventory_in_warehouse(request, account: str, sku_id: str, warehouse_id: str):
    return json_response(inventory.inventory_in_warehouse(account=account, value=sku_id, warehouse_id=warehouse_id))


@api_view("GET")
def reservation_detail(request, account: str, reservation_id: str):
    reservation = Reservation.objects.filter(account=account, reservation_id=reservation_id).select_related(
        "sku", "warehouse"
    )
    found = reservation.first()
    if found is None:
        raise vtex_error(404, "SBX-RESERVATION-NOT-FOUND", "Reservation not found")
    return json_response(inventory.reservation_vtex_json(found))


@api_view("GET")
def reservations_by_warehouse_and_sku(request, account: str, warehouse_id: str, sku_id: str):
    return json_response(inventory.reservations_of(account=account, warehouse_id=warehouse_id, value=sku_id))


# --- Pricing ------------------------------------------------------------------------------------------

PRICE = "/pricing/prices/{itemId}"


def _route(methods_to_views):
    """One URL, several methods, each with its own Pricing budget (the route is method + path)."""

    @csrf_exempt
    def dispatch(request, *args, **kwargs):
        view = methods_to_views.get(request.method)
        if view is None:
            return HttpResponse(status=405, headers={"Allow": ", ".join(methods_to_views)})
        return view(request, *args, **kwargs)

    return dispatch


@api_view("GET", writes=False, pricing_route=f"GET {PRICE}")
def price_get(request, account: str, item_id: str):
    return json_response(pricing.price_get(account=account, value=item_id))


@api_view("PUT", pricing_route=f"PUT {PRICE}")
def price_put(request, account: str, item_id: str):
    pricing.price_put(account=account, value=item_id, data=read_json(request))
    return HttpResponse(status=200, content_type=EMPTY)


@api_view("DELETE", pricing_route=f"DELETE {PRICE}")
def price_delete(request, account: str, item_id: str):
    pricing.price_delete(account=account, value=item_id)
    return HttpResponse(status=200, content_type=EMPTY)


@api_view("GET", writes=False, pricing_route=f"GET {PRICE}/fixed")
def fixed_get(request, account: str, item_id: str):
    return json_response(pricing.fixed_get(account=account, value=item_id), content_type=JSON_UTF8)


@api_view("PATCH", pricing_route=f"PATCH {PRICE}/fixed")
def fixed_patch(request, account: str, item_id: str):
    pricing.fixed_patch(account=account, value=item_id, data=read_json(request))
    return HttpResponse(status=200, content_type=EMPTY)


@api_view("GET", writes=False, pricing_route=f"GET {PRICE}/fixed/{{priceTableId}}")
def table_fixed_get(request, account: str, item_id: str, table: str):
    return json_response(pricing.fixed_get(account=account, value=item_id, table=table), content_type=JSON_UTF8)


@api_view("POST", pricing_route=f"POST {PRICE}/fixed/{{priceTableId}}")
def table_fixed_post(request, account: str, item_id: str, table: str):
    pricing.fixed_table_post(account=account, value=item_id, table=table, data=read_json(request))
    return HttpResponse(status=200, content_type=EMPTY)


@api_view("DELETE", pricing_route=f"DELETE {PRICE}/fixed/{{priceTableId}}")
def table_fixed_delete(request, account: str, item_id: str, table: str):
    pricing.fixed_table_delete(account=account, value=item_id, table=table)
    return HttpResponse(status=200, content_type=EMPTY)


@api_view("GET", writes=False, pricing_route="GET /pricing/tables")
def price_tables(request, account: str):
    return json_response(pricing.tables(account))


price_route = _route({"GET": price_get, "PUT": price_put, "DELETE": price_delete})
fixed_route = _route({"GET": fixed_get, "PATCH": fixed_patch})
table_fixed_route = _route({"GET": table_fixed_get, "POST": table_fixed_post, "DELETE": table_fixed_delete})
