"""VTEX Logistics: warehouses, and a SKU's inventory per warehouse (reference/catalog-sync.md §1.3, §1.4, §3.4).

The one stock write is Update inventory by SKU and warehouse, always with the full body: a missing
``quantity`` or ``leadTime`` silently resets it to 0 (§1.4.2, §1.8 pitfall 1). Its errors, classified here:

- 423 Locked: another update of the same SKU and warehouse arrived within milliseconds; VTEX applied only
  the first and **discarded** this one (§1.4.2). Retryable after ``INVENTORY_LOCK_WAIT_SECONDS`` (§3.5
  step 5), not applied. The route is not blocked: the lock is one SKU's and warehouse's, not the route's.
- 5xx and timeouts: retryable, and the update may have been applied (KI "stock change is completed even
  after receiving error 500", §1.8 pitfall 4); sending the same absolute value again is safe.
- 429: retryable with VTEX's wait (``HttpClient``); 404: an unknown SKU or warehouse (``warehouse_not_found``
  tells which, as far as VTEX's answer does); 400: rejected with VTEX's message.

Routes (limiter windows): ``warehouses``, ``inventory_read``, ``inventory_write``. VTEX publishes no limit for
Logistics (§1.6); inventory writes are paced by ``VTEX_INVENTORY_WRITE_RATE`` (sync.remotes).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import quote

from sync.clients.catalog_dtos import INT32_MAX, VtexInventory, VtexWarehouse, sku_id_of
from sync.clients.errors import NotFoundError, RejectedError, RemoteError, RetryableError
from sync.clients.vtex import VtexApiClient

# §3.5 step 5: "423 → retry after 3 s (fresh read)"; the spec's text: "wait a few seconds" (§1.4.2).
INVENTORY_LOCK_WAIT_SECONDS = 3.0
ROUTES = ("warehouses", "inventory_read", "inventory_write")
# ``dd.hh:mm:ss`` (the spec's format; VTEX itself answers ``00:00:00`` without days).
_LEAD_TIME = re.compile(r"^(?:(\d{1,4})\.)?([01]\d|2[0-3]):([0-5]\d):([0-5]\d)$")


def warehouse_id_text(warehouse_id: str) -> str:
    """A warehouse id for a path: exactly as VTEX lists it (case-sensitive, §1.3), never with blanks,
    which break VTEX's internal logistics requests (§1.3 pitfalls)."""
    if not isinstance(warehouse_id, str) or not warehouse_id or any(c.isspace() for c in warehouse_id):
        raise ValueError(f"a VTEX warehouse id is non-empty text without blanks: {warehouse_id!r}")
    return warehouse_id


def lead_time_text(lead_time: str) -> str:
    """A lead time in the PUT's ``dd.hh:mm:ss`` (or ``hh:mm:ss``); anything else is refused here rather
    than read by VTEX as something else (§1.4.3: ``78:00:00`` is taken as 78 days)."""
    if not isinstance(lead_time, str) or not _LEAD_TIME.match(lead_time):
        raise ValueError(f"a lead time is written dd.hh:mm:ss, e.g. '1.12:00:00' or '00:00:00': {lead_time!r}")
    return lead_time


def balance_timestamp(moment: datetime) -> str:
    """``2026-03-03T09:12:04.512+00:00``: ``dateUtcOnBalanceSystem`` in UTC with its offset (§3.4)."""
    if moment.tzinfo is None:
        raise ValueError("dateUtcOnBalanceSystem needs an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def warehouse_not_found(error: RemoteError) -> bool:
    """Whether a 404 of an inventory call says the warehouse is unknown rather than the SKU. VTEX
    documents neither answer (§4 gap 2); the working contract's is ``{"error": {"code": "LOG404",
    "message": "Warehouse not found"}}`` (§3.4, A), so the code or the message's mention decides."""
    if not isinstance(error, NotFoundError):
        return False
    return error.code.upper() == "LOG404" or "warehouse" in error.message.lower()


class VtexLogisticsClient(VtexApiClient):
    def list_warehouses(self) -> tuple[VtexWarehouse, ...]:
        """``GET /api/logistics/pvt/configuration/warehouses`` (``AllWarehouses``)."""
        path = "/api/logistics/pvt/configuration/warehouses"
        data = self.http.request_json("GET", path, route="warehouses")
        return self.http.parse(lambda d: tuple(VtexWarehouse.from_json(w) for w in d), data, "GET", path)

    def get_inventory(self, sku_id: int | str) -> VtexInventory:
        """``GET /api/logistics/pvt/inventory/skus/{skuId}`` (``InventoryBySku``): the SKU's total, reserved
        and available quantity in each warehouse. A 404 (a SKU Logistics does not know) is raised, since
        the mapping must hear of it (§3.5 step 5)."""
        path = f"/api/logistics/pvt/inventory/skus/{sku_id_of(sku_id)}"
        data = self.http.request_json("GET", path, route="inventory_read")
        return self.http.parse(VtexInventory.from_json, data, "GET", path)

    def update_inventory(
        self,
        sku_id: int | str,
        warehouse_id: str,
        *,
        quantity: int,
        unlimited_quantity: bool,
        lead_time: str,
        date_utc_on_balance_system: datetime,
    ) -> None:
        """``PUT /api/logistics/pvt/inventory/skus/{skuId}/warehouses/{warehouseId}``
        (``UpdateInventoryBySkuandWarehouse``): set the SKU's **total** quantity in the warehouse.

        Steps:
        1. Check the values: ``quantity`` a whole number from 0 to int32's maximum (stock sent to VTEX is
           never negative, §3.4), the lead time in ``dd.hh:mm:ss``, the balance time an aware datetime.
        2. Send the full body, all four fields (§1.4.2: a missing field resets it).
        3. Map a 423 to a retryable error that was not applied (module docstring); any other answer as
           ``HttpClient`` classifies it.
        """
        if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= INT32_MAX:
            raise ValueError(f"quantity is a whole number from 0 to {INT32_MAX}: {quantity!r}")
        if not isinstance(unlimited_quantity, bool):
            raise ValueError(f"unlimited_quantity is true or false: {unlimited_quantity!r}")
        path = (
            f"/api/logistics/pvt/inventory/skus/{sku_id_of(sku_id)}"
            f"/warehouses/{quote(warehouse_id_text(warehouse_id), safe='')}"
        )
        body = {
            "quantity": quantity,
            "unlimitedQuantity": unlimited_quantity,
            "dateUtcOnBalanceSystem": balance_timestamp(date_utc_on_balance_system),
            "leadTime": lead_time_text(lead_time),
        }
        try:
            # The answer (200 ``true`` per the spec's text) carries nothing to read.
            self.http.request("PUT", path, route="inventory_write", json_body=body)
        except RejectedError as exc:
            if exc.status != 423:
                raise
            raise RetryableError(
                exc.body_excerpt or exc.message,
                retry_after=INVENTORY_LOCK_WAIT_SECONDS,
                may_have_applied=False,
                remote=exc.remote,
                method=exc.method,
                path=exc.path,
                status=exc.status,
                code=exc.code,
                body_excerpt=exc.body_excerpt,
            ) from None
