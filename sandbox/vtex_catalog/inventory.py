"""Logistics: warehouses, docks, inventory per SKU and warehouse, reservations (reference §1.3, §1.4, §3.4).

- ``quantity`` is the **total** in the warehouse; VTEX never lowers it itself. What shoppers can buy
  is ``total − reserved``, where reserved counts authorized (until their authorization expires),
  confirmed and acknowledged reservations; it may be negative (reference §1.4.4, C).
- An inventory update releases the acknowledged reservations acknowledged at or before its
  ``dateUtcOnBalanceSystem`` (the ERP's figure already holds them); later ones stay (§3.4, A).
- Missing fields of an update take VTEX's defaults: quantity 0, not unlimited, lead time 0
  (§1.4.2, C); a negative or fractional quantity is a 400 (A).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db.models import Q, Sum

from sandbox import clock
from sandbox.vtex_catalog.errors import (
    ControlError,
    bad_request,
    inventory_locked,
    logistics_sku_not_found,
    warehouse_not_found,
)
from sandbox.vtex_catalog.limits import inventory_locks, lock_window_ms
from sandbox.vtex_catalog.models import Dock, Inventory, Reservation, ReservationState, Sku, Warehouse
from sandbox.vtex_catalog.values import INT32_MAX, is_lead_time, is_whole, moment_of, sku_id_of, utc_text

# reference §1.4.2: unlimited stock "is fixed at 1,000,000 and never decreases"; §1.4.1's example
# shows totalQuantity and availableQuantity 1000000.
UNLIMITED_QUANTITY = 1_000_000
# reference §1.4.4: an authorized reservation expires with the payment, "payment period + 4-6 days";
# the simulator takes 5 days unless the control call says otherwise (choice).
AUTHORIZATION_TTL = timedelta(days=5)
ZERO_LEAD_TIME = "00:00:00"
# VTEX's ReservationById Status (reference §1.4.4): 1 Authorized, 2 Confirmed, 4 Canceled_AuthorizationExpired,
# 5 Canceled_Manually. It has no "acknowledged"; an acknowledged reservation stays confirmed (choice).
VTEX_STATUS = {
    ReservationState.AUTHORIZED: 1,
    ReservationState.CONFIRMED: 2,
    ReservationState.ACKNOWLEDGED: 2,
    ReservationState.EXPIRED: 4,
    ReservationState.CANCELED: 5,
}


# --- lookups --------------------------------------------------------------------------------------


def logistics_sku(*, account: str, value: str) -> Sku:
    """The SKU a Logistics path names; "0123" is not SKU 123 (reference §1.2, KI) → 404."""
    sku_id = sku_id_of(value)
    sku = Sku.objects.filter(account=account, sku_id=sku_id).first() if sku_id is not None else None
    if sku is None:
        raise logistics_sku_not_found()
    return sku


def logistics_warehouse(*, account: str, warehouse_id: str) -> Warehouse:
    """Compared exactly: warehouse ids are case-sensitive (reference §1.3, KI)."""
    warehouse = Warehouse.objects.filter(account=account, warehouse_id=warehouse_id).first()
    if warehouse is None:
        raise warehouse_not_found()
    return warehouse


# --- warehouses and docks -------------------------------------------------------------------------


def warehouse_json(warehouse: Warehouse) -> dict:
    return {
        "id": warehouse.warehouse_id,
        "name": warehouse.name,
        "warehouseDocks": warehouse.docks,
        "pickupPointIds": warehouse.pickup_point_ids,
        "priority": warehouse.priority,
        "isActive": warehouse.is_active,
    }


def dock_json(dock: Dock) -> dict:
    return {
        "id": dock.dock_id,
        "name": dock.name,
        "priority": dock.priority,
        "dockTimeFake": "00:00:00",
        "timeFakeOverhead": "00:00:00",
        "salesChannels": dock.sales_channels,
        "salesChannel": dock.sales_channels[0] if dock.sales_channels else "1",
        "freightTableIds": dock.freight_table_ids,
        "wmsEndPoint": None,
        "shippingRatesProviders": [],
        "deliveryAgreementsIds": [],
        "isActive": dock.is_active,
    }


# --- reservations: what counts as reserved ----------------------------------------------------------


RESERVING_AFTER_PAYMENT = (ReservationState.CONFIRMED, ReservationState.ACKNOWLEDGED)


def active_reservations(now: datetime) -> Q:
    """Reservations that hold units now: not canceled, not released, authorizations not expired."""
    return Q(state__in=RESERVING_AFTER_PAYMENT, released_at__isnull=True) | Q(
        state=ReservationState.AUTHORIZED, maximum_confirmation_at__gte=now
    )


def reservations_expire(*, now: datetime, **scope) -> None:
    """Authorized reservations whose payment never came are expired from now on (written down)."""
    Reservation.objects.filter(state=ReservationState.AUTHORIZED, maximum_confirmation_at__lt=now, **scope).update(
        state=ReservationState.EXPIRED, updated_at=now
    )


def reserved_quantities(*, now: datetime, **scope) -> dict[tuple[int, int], int]:
    """Σ active reservations per (SKU row id, warehouse row id) within ``scope``."""
    rows = (
        Reservation.objects.filter(active_reservations(now), **scope)
        .values("sku_id", "warehouse_id")
        .annotate(total=Sum("quantity"))
    )
    return {(r["sku_id"], r["warehouse_id"]): r["total"] for r in rows}


def _figures(row: Inventory, reserved: int) -> tuple[int, int]:
    """(total, available) as Logistics answers them; unlimited stock shows 1,000,000 and never drops."""
    if row.unlimited:
        return UNLIMITED_QUANTITY, UNLIMITED_QUANTITY
    return row.total_quantity, row.total_quantity - reserved


# --- reads ------------------------------------------------------------------------------------------


def inventory_by_sku(*, account: str, value: str) -> dict:
    """``GET /api/logistics/pvt/inventory/skus/{skuId}``: one balance per warehouse the SKU has stock
    rows in (a SKU never stocked has an empty balance, choice)."""
    sku = logistics_sku(account=account, value=value)
    now = clock.now()
    reserved = reserved_quantities(now=now, sku=sku)
    balance = []
    for row in Inventory.objects.filter(sku=sku).select_related("warehouse").order_by("warehouse_id"):
        total, _ = _figures(row, 0)
        balance.append(
            {
                "warehouseId": row.warehouse.warehouse_id,
                "warehouseName": row.warehouse.name,
                "totalQuantity": total,
                "reservedQuantity": reserved.get((sku.pk, row.warehouse_id), 0),
                "hasUnlimitedQuantity": row.unlimited,
                "timeToRefill": None,
                "dateOfSupplyUtc": None,
                "leadTime": row.lead_time,
            }
        )
    return {"skuId": str(sku.sku_id), "balance": balance}


def inventory_in_warehouse(*, account: str, value: str, warehouse_id: str) -> list[dict]:
    """``GET …/inventory/items/{skuId}/warehouses/{warehouseId}``: one entry per dock of the warehouse."""
    warehouse = logistics_warehouse(account=account, warehouse_id=warehouse_id)
    sku = logistics_sku(account=account, value=value)
    row = Inventory.objects.filter(sku=sku, warehouse=warehouse).first() or Inventory(sku=sku, warehouse=warehouse)
    reserved = reserved_quantities(now=clock.now(), sku=sku, warehouse=warehouse).get((sku.pk, warehouse.pk), 0)
    total, available = _figures(row, reserved)
    docks = {d.dock_id: d for d in Dock.objects.filter(account=account)}
    entries = []
    for warehouse_dock in warehouse.docks:
        dock = docks.get(warehouse_dock.get("dockId"))
        entries.append(
            {
                "skuId": str(sku.sku_id),
                "warehouseId": warehouse.warehouse_id,
                "dockId": warehouse_dock.get("dockId", ""),
                "totalQuantity": total,
                "reservedQuantity": reserved,
                "availableQuantity": available,
                "isUnlimited": row.unlimited,
                "salesChannel": dock.sales_channels if dock else [],
                "deliveryChannel": ["delivery"],
                "dateOfSupplyUtc": utc_text(row.date_utc_on_balance_system) or "",
                "keepSellingAfterExpiration": False,
                "transfer": "",
            }
        )
    return entries


# --- the write ------------------------------------------------------------------------------------


def _update_body(data) -> tuple[int, bool, str, datetime | None]:
    """(quantity, unlimited, leadTime, dateUtcOnBalanceSystem) with VTEX's defaults for what is missing."""
    if not isinstance(data, dict):
        raise bad_request("SBX-INVALID-BODY", "The body must be a JSON object")
    quantity = data.get("quantity")
    if quantity is None:
        quantity = 0  # reference §1.4.2 (C): null or missing → 0
    if not is_whole(quantity) or not 0 <= quantity <= INT32_MAX:
        raise bad_request("SBX-INVALID-QUANTITY", "quantity must be a whole number from 0 to 2147483647")
    unlimited = data.get("unlimitedQuantity")
    if unlimited is None:
        unlimited = False
    if not isinstance(unlimited, bool):
        raise bad_request("SBX-INVALID-UNLIMITED", "unlimitedQuantity must be true or false")
    lead_time = data.get("leadTime")
    if lead_time is None:
        lead_time = ZERO_LEAD_TIME  # reference §1.4.2 (C): a missing leadTime resets it to 0
    if not is_lead_time(lead_time):
        raise bad_request("SBX-INVALID-LEAD-TIME", "leadTime must be dd.hh:mm:ss (days optional)")
    balance_at = data.get("dateUtcOnBalanceSystem")
    if balance_at in (None, ""):
        return quantity, unlimited, lead_time, None
    try:
        return quantity, unlimited, lead_time, moment_of(balance_at)
    except ValueError:
        raise bad_request("SBX-INVALID-DATE", "dateUtcOnBalanceSystem must be an ISO 8601 date and time") from None


def inventory_update(*, account: str, value: str, warehouse_id: str, data) -> None:
    """``PUT /api/logistics/pvt/inventory/skus/{skuId}/warehouses/{warehouseId}``.

    1. The warehouse (404 LOG404), then the SKU (404), then the body (400), VTEX's defaults filled in.
    2. The lock: an update applied to this SKU and warehouse less than ``lockWindowMs`` ago holds it;
       this one is then answered 423 and discarded (reference §1.4.2, C).
    3. Authorizations past their date expire; acknowledged reservations acknowledged at or before
       ``dateUtcOnBalanceSystem`` (none given: now) are released (reference §1.4.4, §3.4 A).
    4. The stock row is written whole: total, unlimited, lead time, the balance date.
    """
    warehouse = logistics_warehouse(account=account, warehouse_id=warehouse_id)
    sku = logistics_sku(account=account, value=value)
    quantity, unlimited, lead_time, balance_at = _update_body(data)
    if not inventory_locks.acquire((account, sku.sku_id, warehouse.warehouse_id), lock_window_ms() / 1000):
        raise inventory_locked(account=account, sku_id=sku.sku_id, warehouse_id=warehouse.warehouse_id)
    now = clock.now()
    cut = balance_at or now
    reservations_expire(now=now, sku=sku, warehouse=warehouse)
    released = Reservation.objects.filter(
        sku=sku,
        warehouse=warehouse,
        state=ReservationState.ACKNOWLEDGED,
        released_at__isnull=True,
        acknowledged_at__lte=cut,
    ).update(released_at=now, updated_at=now)
    row, _ = Inventory.objects.get_or_create(sku=sku, warehouse=warehouse)
    changed = released > 0 or (row.total_quantity, row.unlimited, row.lead_time) != (quantity, unlimited, lead_time)
    row.total_quantity = quantity
    row.unlimited = unlimited
    row.lead_time = lead_time
    row.date_utc_on_balance_system = cut
    row.writes += 1
    row.changes += int(changed)
    row.updated_at = now
    row.save()


# --- reservations -----------------------------------------------------------------------------------


def reservation_vtex_json(reservation: Reservation) -> dict:
    """``GET /api/logistics/pvt/inventory/reservations/{reservationId}`` (the parts the simulator keeps)."""
    return {
        "Id": reservation.reservation_id,
        "LockId": reservation.lock_id,
        "SalesChannel": reservation.sales_channel,
        "ReservationDateUtc": utc_text(reservation.created_at),
        "MaximumConfirmationDateUtc": utc_text(reservation.maximum_confirmation_at),
        "LastUpdateDateUtc": utc_text(reservation.updated_at),
        "Status": VTEX_STATUS[reservation.state],
        "SlaRequest": [
            {
                "item": {
                    "id": str(reservation.sku.sku_id),
                    "quantity": reservation.quantity,
                    "unlimitedQuantity": False,
                    "dockId": reservation.dock_id,
                    "wareHouseId": reservation.warehouse.warehouse_id,
                },
                "wareHouseId": reservation.warehouse.warehouse_id,
                "dockId": reservation.dock_id,
            }
        ],
    }


def reservations_of(*, account: str, warehouse_id: str, value: str) -> list[dict]:
    """``GET …/reservations/{warehouseId}/{skuId}``: the spec documents no body; the simulator lists
    the active reservations in the ReservationById shape (choice)."""
    warehouse = logistics_warehouse(account=account, warehouse_id=warehouse_id)
    sku = logistics_sku(account=account, value=value)
    now = clock.now()
    reservations_expire(now=now, sku=sku, warehouse=warehouse)
    rows = Reservation.objects.filter(active_reservations(now), sku=sku, warehouse=warehouse)
    return [reservation_vtex_json(r) for r in rows.select_related("sku", "warehouse")]


def reservation_json(reservation: Reservation, *, now: datetime) -> dict:
    """The control API's view: every date, and whether it counts as reserved now."""
    if reservation.state == ReservationState.AUTHORIZED:
        counts = reservation.maximum_confirmation_at >= now
    else:  # the same rule as active_reservations, for one row in hand
        counts = reservation.state in RESERVING_AFTER_PAYMENT and reservation.released_at is None
    return {
        "id": reservation.reservation_id,
        "lockId": reservation.lock_id,
        "salesChannel": reservation.sales_channel,
        "skuId": reservation.sku.sku_id,
        "warehouseId": reservation.warehouse.warehouse_id,
        "quantity": reservation.quantity,
        "state": reservation.state,
        "reserving": counts,
        "createdAt": utc_text(reservation.created_at),
        "maximumConfirmationAt": utc_text(reservation.maximum_confirmation_at),
        "confirmedAt": utc_text(reservation.confirmed_at),
        "acknowledgedAt": utc_text(reservation.acknowledged_at),
        "canceledAt": utc_text(reservation.canceled_at),
        "releasedAt": utc_text(reservation.released_at),
    }


def _control_moment(data: dict, key: str, default: datetime) -> datetime:
    if data.get(key) is None:
        return default
    try:
        return moment_of(data[key])
    except ValueError:
        raise ControlError(f"{key} must be an ISO 8601 date and time") from None


def _control_sku(account: str, data: dict) -> Sku:
    sku_id = sku_id_of(data.get("skuId"))
    sku = Sku.objects.filter(account=account, sku_id=sku_id).first() if sku_id is not None else None
    if sku is None:
        raise ControlError(f"unknown SKU {str(data.get('skuId'))[:40]!r} in {account}", status=404)
    return sku


def _control_warehouse(account: str, data: dict) -> Warehouse:
    warehouse_id = data.get("warehouseId")
    warehouse = (
        Warehouse.objects.filter(account=account, warehouse_id=warehouse_id).first()
        if isinstance(warehouse_id, str)
        else None
    )
    if warehouse is None:
        raise ControlError(f"unknown warehouse {str(warehouse_id)[:100]!r} in {account}", status=404)
    return warehouse


RESERVATION_START = {
    ReservationState.AUTHORIZED: (),
    ReservationState.CONFIRMED: ("confirmed_at",),
    ReservationState.ACKNOWLEDGED: ("confirmed_at", "acknowledged_at"),
}


def reservation_create(*, account: str, data: dict) -> Reservation:
    """Control API: an order reserves units, as a VTEX order does when it is placed (reference §1.4.4).

    1. ``skuId``, ``warehouseId`` (both must exist), ``quantity`` ≥ 1.
    2. ``state``: ``authorized`` (default, the order was placed), ``confirmed`` (payment approved) or
       ``acknowledged`` (start-handling); the steps before it are dated ``at`` as well (default now).
    3. ``authorizationTtlSeconds`` (default 5 days) dates the authorization's expiry.
    4. The SKU gets a stock row in the warehouse if it has none, so the balance lists it.
    """
    sku = _control_sku(account, data)
    warehouse = _control_warehouse(account, data)
    quantity = data.get("quantity")
    if not is_whole(quantity) or not 1 <= quantity <= INT32_MAX:
        raise ControlError("quantity must be a whole number ≥ 1")
    state = data.get("state", ReservationState.AUTHORIZED)
    if state not in RESERVATION_START:
        raise ControlError("state must be authorized, confirmed or acknowledged")
    ttl = data.get("authorizationTtlSeconds", AUTHORIZATION_TTL.total_seconds())
    if not isinstance(ttl, int | float) or isinstance(ttl, bool) or not 0 < ttl <= 10 * 365 * 86400:
        raise ControlError("authorizationTtlSeconds must be a positive number of seconds")
    lock_id = data.get("lockId") or uuid.uuid4().hex
    sales_channel = data.get("salesChannel", "1")
    if (
        not isinstance(lock_id, str)
        or len(lock_id) > 200
        or not isinstance(sales_channel, str)
        or len(sales_channel) > 20
    ):
        raise ControlError("lockId and salesChannel must be short strings")
    now = clock.now()
    at = _control_moment(data, "at", now)
    Inventory.objects.get_or_create(sku=sku, warehouse=warehouse)
    dock_ids = [d.get("dockId", "") for d in warehouse.docks]
    reservation = Reservation(
        account=account,
        reservation_id=str(uuid.uuid4()),
        lock_id=lock_id,
        sales_channel=sales_channel,
        sku=sku,
        warehouse=warehouse,
        dock_id=dock_ids[0] if dock_ids else "",
        quantity=quantity,
        state=state,
        created_at=at,
        maximum_confirmation_at=at + timedelta(seconds=ttl),
        updated_at=now,
    )
    for field in RESERVATION_START[state]:
        setattr(reservation, field, at)
    reservation.save()
    return reservation


def reservation_advance(*, reservation: Reservation, action: str, data: dict) -> Reservation:
    """Control API: ``confirm`` (payment approved), ``acknowledge`` (start-handling), ``cancel``.

    An authorization past its date has expired first and can no longer be confirmed (409); a
    released acknowledgement can no longer be canceled (409).
    """
    now = clock.now()
    at = _control_moment(data, "at", now)
    reservations_expire(now=now, pk=reservation.pk)
    reservation.refresh_from_db()
    state = reservation.state
    if action == "confirm" and state == ReservationState.AUTHORIZED:
        reservation.state, reservation.confirmed_at = ReservationState.CONFIRMED, at
    elif action == "acknowledge" and state == ReservationState.CONFIRMED:
        reservation.state, reservation.acknowledged_at = ReservationState.ACKNOWLEDGED, at
    elif action == "cancel" and state in RESERVATION_START and reservation.released_at is None:
        reservation.state, reservation.canceled_at = ReservationState.CANCELED, at
    else:
        released = " and released" if reservation.released_at else ""
        raise ControlError(f"a reservation that is {state}{released} cannot {action}", status=409)
    reservation.updated_at = now
    reservation.save()
    return reservation


# --- control: stock set directly ------------------------------------------------------------------


def inventory_set(*, account: str, items) -> int:
    """Control API: set stock rows directly (no lock, no reservation released, not counted as writes).

    ``items``: ``[{skuId, warehouseId, quantity, unlimited?, leadTime?}]``, all checked before any is
    written; rows are created or updated in bulk.
    """
    if not isinstance(items, list) or not items or len(items) > 200_000:
        raise ControlError("items must be a non-empty list (at most 200000)")
    skus = {s.sku_id: s for s in Sku.objects.filter(account=account)}
    warehouses = {w.warehouse_id: w for w in Warehouse.objects.filter(account=account)}
    wanted: dict[tuple[int, int], tuple[Sku, Warehouse, int, bool, str]] = {}
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise ControlError(f"item {n + 1}: must be a JSON object")
        sku = skus.get(sku_id_of(item.get("skuId")))
        warehouse = warehouses.get(item.get("warehouseId")) if isinstance(item.get("warehouseId"), str) else None
        if sku is None or warehouse is None:
            raise ControlError(f"item {n + 1}: unknown skuId or warehouseId in {account}", status=404)
        quantity, unlimited, lead_time = item.get("quantity"), item.get("unlimited", False), item.get("leadTime")
        if not is_whole(quantity) or not 0 <= quantity <= INT32_MAX:
            raise ControlError(f"item {n + 1}: quantity must be a whole number ≥ 0")
        if not isinstance(unlimited, bool) or (lead_time is not None and not is_lead_time(lead_time)):
            raise ControlError(f"item {n + 1}: unlimited must be true or false, leadTime dd.hh:mm:ss")
        wanted[(sku.pk, warehouse.pk)] = (sku, warehouse, quantity, unlimited, lead_time or ZERO_LEAD_TIME)
    existing = {
        (row.sku_id, row.warehouse_id): row
        for row in Inventory.objects.filter(sku__account=account, sku_id__in={k[0] for k in wanted})
    }
    now = clock.now()
    new, changed = [], []
    for key, (sku, warehouse, quantity, unlimited, lead_time) in wanted.items():
        row = existing.get(key) or Inventory(sku=sku, warehouse=warehouse)
        row.total_quantity, row.unlimited, row.lead_time, row.updated_at = quantity, unlimited, lead_time, now
        (changed if row.pk else new).append(row)
    Inventory.objects.bulk_create(new, batch_size=2000)
    Inventory.objects.bulk_update(changed, ["total_quantity", "unlimited", "lead_time", "updated_at"], batch_size=2000)
    return len(wanted)


def inventory_rows(*, account: str, warehouse_id: str | None = None, sku_ids: list[int] | None = None) -> list[dict]:
    """Control API: every stock row of the account, compact, with reserved and available now."""
    now = clock.now()
    rows = Inventory.objects.filter(sku__account=account).select_related("sku", "warehouse")
    scope: dict = {"account": account}
    if warehouse_id is not None:
        rows = rows.filter(warehouse__warehouse_id=warehouse_id)
        scope["warehouse__warehouse_id"] = warehouse_id
    if sku_ids is not None:
        rows = rows.filter(sku__sku_id__in=sku_ids)
        scope["sku__sku_id__in"] = sku_ids
    reserved = reserved_quantities(now=now, **scope)
    return [inventory_row_json(row, reserved.get((row.sku_id, row.warehouse_id), 0)) for row in rows]


def inventory_row_json(row: Inventory, reserved: int) -> dict:
    total, available = _figures(row, reserved)
    return {
        "skuId": row.sku.sku_id,
        "warehouseId": row.warehouse.warehouse_id,
        "quantity": row.total_quantity,  # as sent; totalQuantity is what Logistics shows (1000000 if unlimited)
        "totalQuantity": total,
        "reservedQuantity": reserved,
        "availableQuantity": available,
        "unlimited": row.unlimited,
        "leadTime": row.lead_time,
        "dateUtcOnBalanceSystem": utc_text(row.date_utc_on_balance_system),
        "writes": row.writes,
        "changes": row.changes,
        "updatedAt": utc_text(row.updated_at),
    }
