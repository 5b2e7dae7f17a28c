"""Control API of the Catalog, Logistics and Pricing simulators (/_sim/vtex/catalog/...).

Part of neither contract, without auth. Each call names the VTEX account with ``accountName`` (body
or query; default the demo account), which must have a key pair (``/_sim/vtex/accounts``).
"""

from __future__ import annotations

import re
from functools import wraps

from django.apps import apps
from django.db import transaction
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox import clock
from sandbox.http import READ_ONLY_METHODS, InvalidJson, json_body, json_response
from sandbox.models import SimSetting
from sandbox.routers import SANDBOX_DB
from sandbox.vtex.models import Account
from sandbox.vtex.seed import DEMO_ACCOUNT
from sandbox.vtex_catalog import catalog, inventory, limits, pricing
from sandbox.vtex_catalog.errors import ControlError
from sandbox.vtex_catalog.models import AfterApplyFault, Dock, Price, PriceTable, Reservation, Sku, Warehouse
from sandbox.vtex_catalog.seed import catalog_seed
from sandbox.vtex_catalog.values import INT32_MAX, is_whole, sku_id_of

APP_LABEL = "sandbox_vtex_catalog"
ID_MAX = 100


def control_view(*methods: str):
    def decorate(view):
        @csrf_exempt
        @require_http_methods(list(methods))
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                if request.method in READ_ONLY_METHODS:
                    return view(request, *args, **kwargs)
                with transaction.atomic(using=SANDBOX_DB):
                    return view(request, *args, **kwargs)
            except ControlError as exc:
                return json_response({"error": str(exc)}, status=exc.status)
            except InvalidJson as exc:
                return json_response({"error": str(exc)}, status=400)

        return wrapper

    return decorate


def _object(request) -> dict:
    data = json_body(request, required=False) or {}
    if not isinstance(data, dict):
        raise ControlError("the body must be a JSON object")
    return data


def _account(request, data: dict | None = None) -> str:
    name = (data or {}).get("accountName") or request.GET.get("accountName") or DEMO_ACCOUNT
    if not isinstance(name, str) or not Account.objects.filter(account_name=name).exists():
        raise ControlError(f"unknown account {str(name)[:100]!r}; create it with POST /_sim/vtex/accounts")
    return name


def _short_id(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > ID_MAX:
        raise ControlError(f"{key} must be a non-empty string of at most {ID_MAX} characters")
    return value


def _sku_ids_param(request) -> list[int] | None:
    raw = request.GET.get("skuIds")
    if raw is None:
        return None
    ids = [sku_id_of(part) for part in raw.split(",") if part]
    if None in ids or len(ids) > 10_000:
        raise ControlError("skuIds must be a comma-separated list of at most 10000 SKU ids")
    return ids


@control_view("POST")
def reset(request):
    """Empty the catalog tables (not the orders) and seed them again; every lock, bucket and switch too."""
    for model in apps.get_app_config(APP_LABEL).get_models():
        model.objects.all().delete()
    SimSetting.objects.filter(key__in=[limits.LOCK_WINDOW_KEY, limits.PRICING_LIMITS_KEY]).delete()
    catalog_seed()
    return json_response({"reset": True})


# --- SKUs -------------------------------------------------------------------------------------------


@control_view("GET", "POST")
def skus(request):
    """POST {skus: [...]} or {count, firstId, refIdPattern, eanPattern}: create SKUs in bulk; GET lists them."""
    if request.method == "GET":
        account = _account(request)
        return json_response([catalog.sku_summary(s) for s in catalog.skus(account)])
    data = _object(request)
    account = _account(request, data)
    ids = catalog.skus_create(account=account, data=data)
    return json_response({"accountName": account, "created": len(ids), "skuIds": ids}, status=201)


def _sku(account: str, sku_id: str) -> Sku:
    sku = catalog.sku_get(account=account, sku_id=sku_id_of(sku_id) or 0)
    if sku is None:
        raise ControlError(f"SKU {sku_id[:40]!r} not found in {account}", status=404)
    return sku


def sku_state(sku: Sku) -> dict:
    """What VTEX holds for a SKU: catalog fields, stock per warehouse, reservations, price."""
    now = clock.now()
    inventory.reservations_expire(now=now, sku=sku)
    reserved = inventory.reserved_quantities(now=now, sku=sku)
    rows = sku.inventory.select_related("sku", "warehouse").order_by("warehouse_id")
    reservations = sku.reservations.select_related("sku", "warehouse")
    return {
        "accountName": sku.account,
        "sku": catalog.sku_summary(sku),
        "inventory": [inventory.inventory_row_json(r, reserved.get((r.sku_id, r.warehouse_id), 0)) for r in rows],
        "reservations": [inventory.reservation_json(r, now=now) for r in reservations],
        "price": pricing.price_state(Price.objects.filter(sku=sku).select_related("sku").first()),
    }


@control_view("GET", "POST", "DELETE")
def sku_detail(request, sku_id: str):
    """GET the SKU's state; POST {refId?, eans?, isActive?, name?} changes it; DELETE removes it."""
    data = _object(request) if request.method == "POST" else {}
    account = _account(request, data)
    sku = _sku(account, sku_id)
    if request.method == "DELETE":
        sku.delete()
        return json_response({"deleted": True})
    if request.method == "POST":
        catalog.sku_change(sku=sku, data=data)
        sku = _sku(account, sku_id)
    return json_response(sku_state(sku))


# --- warehouses, docks, price tables ----------------------------------------------------------------------


@control_view("GET", "POST")
def warehouses(request):
    """POST {id, name?, isActive?, priority?, dockIds?}: create or change a warehouse (ids exact, any case)."""
    if request.method == "GET":
        account = _account(request)
        return json_response([inventory.warehouse_json(w) for w in Warehouse.objects.filter(account=account)])
    data = _object(request)
    account = _account(request, data)
    warehouse_id = _short_id(data, "id")
    dock_ids = data.get("dockIds", [])
    if not isinstance(dock_ids, list) or not all(isinstance(d, str) and d for d in dock_ids):
        raise ControlError("dockIds must be a list of dock ids")
    is_active, priority = data.get("isActive", True), data.get("priority", 0)
    if not isinstance(is_active, bool) or not is_whole(priority) or abs(priority) > INT32_MAX:
        raise ControlError("isActive must be true or false, priority a whole number")
    warehouse, created = Warehouse.objects.update_or_create(
        account=account,
        warehouse_id=warehouse_id,
        defaults={
            "name": str(data.get("name") or warehouse_id)[:200],
            "is_active": is_active,
            "priority": priority,
            "docks": [{"dockId": d, "time": "00:00:00", "cost": 0} for d in dock_ids],
        },
    )
    return json_response(inventory.warehouse_json(warehouse), status=201 if created else 200)


@control_view("DELETE")
def warehouse_detail(request, warehouse_id: str):
    """The warehouse disappears from VTEX (with its stock rows and reservations)."""
    account = _account(request)
    deleted, _ = Warehouse.objects.filter(account=account, warehouse_id=warehouse_id).delete()
    if not deleted:
        raise ControlError(f"warehouse {warehouse_id[:100]!r} not found in {account}", status=404)
    return json_response({"deleted": True})


@control_view("GET", "POST")
def docks(request):
    """POST {id, name?, salesChannels?}: create or change a dock."""
    if request.method == "GET":
        account = _account(request)
        return json_response([inventory.dock_json(d) for d in Dock.objects.filter(account=account)])
    data = _object(request)
    account = _account(request, data)
    channels = data.get("salesChannels", ["1"])
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise ControlError("salesChannels must be a list of trade policy ids")
    dock, created = Dock.objects.update_or_create(
        account=account,
        dock_id=_short_id(data, "id"),
        defaults={"name": str(data.get("name") or data["id"])[:200], "sales_channels": channels},
    )
    return json_response(inventory.dock_json(dock), status=201 if created else 200)


@control_view("GET", "POST")
def price_tables(request):
    """POST {id}: add a price table (a trade policy id or a name); GET lists them."""
    data = _object(request) if request.method == "POST" else {}
    account = _account(request, data)
    if request.method == "POST":
        PriceTable.objects.get_or_create(account=account, table_id=_short_id(data, "id"))
    return json_response(pricing.tables(account), status=201 if request.method == "POST" else 200)


# --- stock, prices, reservations -----------------------------------------------------------------------


@control_view("GET", "POST")
def inventory_view(request):
    """POST {items: [{skuId, warehouseId, quantity, unlimited?, leadTime?}]} sets stock directly; GET
    ?warehouseId=&skuIds=1,2 lists the stock rows with reserved and available now."""
    if request.method == "GET":
        account = _account(request)
        rows = inventory.inventory_rows(
            account=account, warehouse_id=request.GET.get("warehouseId"), sku_ids=_sku_ids_param(request)
        )
        return json_response(rows)
    data = _object(request)
    account = _account(request, data)
    return json_response(
        {"accountName": account, "set": inventory.inventory_set(account=account, items=data.get("items"))}
    )


@control_view("GET", "POST")
def prices(request):
    """POST {items: [{skuId, basePrice, listPrice?, costPrice?, markup?, fixedPrices?}]} sets prices
    directly (the PUT's rules, no budget); GET ?skuIds= lists them with their flags."""
    if request.method == "GET":
        account = _account(request)
        return json_response(pricing.price_rows(account=account, sku_ids=_sku_ids_param(request)))
    data = _object(request)
    account = _account(request, data)
    return json_response({"accountName": account, "set": pricing.prices_set(account=account, items=data.get("items"))})


@control_view("GET", "POST")
def reservations(request):
    """POST {skuId, warehouseId, quantity, state?, lockId?, salesChannel?, at?, authorizationTtlSeconds?}:
    an order reserves units; GET ?skuIds= lists the reservations."""
    now = clock.now()
    if request.method == "GET":
        account = _account(request)
        rows = Reservation.objects.filter(account=account).select_related("sku", "warehouse")
        sku_ids = _sku_ids_param(request)
        if sku_ids is not None:
            rows = rows.filter(sku__sku_id__in=sku_ids)
        return json_response([inventory.reservation_json(r, now=now) for r in rows])
    data = _object(request)
    account = _account(request, data)
    reservation = inventory.reservation_create(account=account, data=data)
    return json_response(inventory.reservation_json(reservation, now=now), status=201)


RESERVATION_ACTIONS = ("confirm", "acknowledge", "cancel")


@control_view("POST")
def reservation_action(request, reservation_id: str, action: str):
    """POST {at?}: confirm (payment approved), acknowledge (start-handling) or cancel a reservation."""
    if action not in RESERVATION_ACTIONS:
        raise ControlError(f"unknown action {action[:40]!r}; one of {', '.join(RESERVATION_ACTIONS)}", status=404)
    reservation = Reservation.objects.select_related("sku", "warehouse").filter(reservation_id=reservation_id).first()
    if reservation is None:
        raise ControlError("reservation not found", status=404)
    reservation = inventory.reservation_advance(reservation=reservation, action=action, data=_object(request))
    return json_response(inventory.reservation_json(reservation, now=clock.now()))


# --- switches -------------------------------------------------------------------------------------------


def _budget(data: dict) -> dict:
    per_second, burst, retry_after = data.get("limitPerSecond"), data.get("burst"), data.get("retryAfterSeconds")
    if not isinstance(per_second, int | float) or isinstance(per_second, bool) or not 0 < per_second <= 100_000:
        raise ControlError("limitPerSecond must be a positive number")
    if not is_whole(burst) or not 0 <= burst <= 10**7:
        raise ControlError("burst must be a whole number ≥ 0")
    if retry_after is not None and (not is_whole(retry_after) or not 1 <= retry_after <= 3600):
        raise ControlError("retryAfterSeconds must be a whole number of seconds from 1 to 3600")
    return {"limitPerSecond": per_second, "burst": burst, "retryAfterSeconds": retry_after}


def _limits_json() -> dict:
    tokens = limits.buckets.state()
    return {
        "routes": limits.pricing_limits(),
        "known": list(limits.PRICING_ROUTES),
        "buckets": [{"accountName": a, "route": r, "tokens": round(t, 3)} for (a, r), t in tokens.items()],
    }


@control_view("GET", "POST", "DELETE")
def rate_limits(request):
    """Pricing route budgets. POST {route: "PUT /pricing/prices/{itemId}", limitPerSecond, burst,
    retryAfterSeconds?}; DELETE ?route= lifts one, DELETE lifts all; POST {published: true} restores
    the published ones."""
    current = dict(limits.pricing_limits())
    if request.method == "DELETE":
        route = request.GET.get("route")
        if route is not None and route not in current:
            raise ControlError(f"route {route[:100]!r} has no budget", status=404)
        limits.pricing_limits_set({k: v for k, v in current.items() if route is not None and k != route})
    elif request.method == "POST":
        data = _object(request)
        if data.get("published") is True:
            limits.pricing_limits_set(dict(limits.PUBLISHED_PRICING_LIMITS))
        else:
            route = data.get("route")
            if route not in limits.PRICING_ROUTES:
                raise ControlError(f"route must be one of: {', '.join(limits.PRICING_ROUTES)}")
            limits.pricing_limits_set({**current, route: _budget(data)})
    return json_response(_limits_json())


def _fault_json(rule: AfterApplyFault) -> dict:
    return {
        "id": rule.id,
        "method": rule.method,
        "pathPattern": rule.path_pattern,
        "statusCode": rule.status_code,
        "remaining": rule.remaining,
    }


@control_view("GET", "POST", "DELETE")
def faults(request):
    """ "500 after apply": POST {method?, pathPattern?, statusCode? (500), remaining?}; the matching
    write is done and committed, and answered with the status. DELETE removes all."""
    if request.method == "DELETE":
        AfterApplyFault.objects.all().delete()
        limits.after_apply_faults_changed()
        return json_response({"deleted": True})
    if request.method == "POST":
        data = _object(request)
        unknown = set(data) - {"method", "pathPattern", "statusCode", "remaining"}
        if unknown:
            raise ControlError(f"unknown fault fields: {', '.join(sorted(unknown))}")
        method, pattern = data.get("method", ""), data.get("pathPattern", "")
        status, remaining = data.get("statusCode", 500), data.get("remaining")
        if not isinstance(method, str) or method.upper() not in ("", "PUT", "POST", "PATCH", "DELETE"):
            raise ControlError("method must be PUT, POST, PATCH or DELETE (or empty: any write)")
        if not isinstance(pattern, str) or len(pattern) > 300:
            raise ControlError("pathPattern must be a regular expression")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ControlError(f"pathPattern is not a regular expression: {exc}") from None
        if not is_whole(status) or not 500 <= status <= 599:
            raise ControlError("statusCode must be from 500 to 599")
        if remaining is not None and (not is_whole(remaining) or not 1 <= remaining <= 10**6):
            raise ControlError("remaining must be a whole number ≥ 1")
        rule = AfterApplyFault.objects.create(
            method=method.upper(), path_pattern=pattern, status_code=status, remaining=remaining
        )
        limits.after_apply_faults_changed()
        return json_response(_fault_json(rule), status=201)
    return json_response([_fault_json(r) for r in AfterApplyFault.objects.all()])


@control_view("GET", "POST")
def settings_view(request):
    """POST {lockWindowMs}: how long an applied inventory update locks its SKU and warehouse."""
    if request.method == "POST":
        window = _object(request).get("lockWindowMs")
        if not is_whole(window) or not 0 <= window <= limits.LOCK_WINDOW_MAX_MS:
            raise ControlError(f"lockWindowMs must be a whole number from 0 to {limits.LOCK_WINDOW_MAX_MS}")
        limits.lock_window_set(milliseconds=window)
        limits.inventory_locks.clear()
    return json_response({"lockWindowMs": limits.lock_window_ms()})
