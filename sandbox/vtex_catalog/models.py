"""VTEX Catalog SKUs, Logistics (warehouses, docks, inventory, reservations) and Pricing state.

Everything is scoped by the VTEX **account name** (``account``), not by a key pair
(``sandbox.vtex.models.Account`` is one appKey of an account; two key pairs of one account see the
same catalog). Facts: reference/catalog-sync.md §1.2-§1.5 and its working contract §3.4.
"""

from __future__ import annotations

from django.db import models


class Sku(models.Model):
    """A Catalog SKU: the id Logistics and Pricing know it by, its RefId and EANs (reference §1.2).

    ``ref_id`` is not unique: the Admin UI accepts a RefId twice (KI 910050), so the simulator does too.
    """

    account = models.CharField(max_length=100)
    sku_id = models.PositiveIntegerField(help_text="VTEX SKU id, an int32 (Catalog spec)")
    product_id = models.PositiveIntegerField()
    ref_id = models.CharField(max_length=200, blank=True, db_index=True)
    name = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)
    measurement_unit = models.CharField(max_length=20, default="un")
    unit_multiplier = models.FloatField(default=1.0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["account", "sku_id"]
        constraints = [models.UniqueConstraint(fields=["account", "sku_id"], name="vtex_catalog_sku_unique")]
        indexes = [models.Index(fields=["account", "ref_id"], name="vtex_catalog_sku_refid")]

    def __str__(self) -> str:
        return f"SKU {self.sku_id} ({self.ref_id}) of {self.account}"


class SkuEan(models.Model):
    """One EAN of a SKU; a SKU can carry several (KI 286097)."""

    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="eans")
    ean = models.CharField(max_length=100, db_index=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sku_id", "position", "id"]

    def __str__(self) -> str:
        return self.ean


class Warehouse(models.Model):
    """A Logistics warehouse. Ids are case-sensitive (``TEST`` ≠ ``test``, reference §1.3)."""

    account = models.CharField(max_length=100)
    warehouse_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    priority = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    docks = models.JSONField(default=list, help_text='[{"dockId", "time", "cost"}] (warehouseDocks)')
    pickup_point_ids = models.JSONField(default=list)

    class Meta:
        ordering = ["account", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "warehouse_id"], name="vtex_catalog_warehouse_unique")
        ]

    def __str__(self) -> str:
        return f"warehouse {self.warehouse_id} of {self.account}"


class Dock(models.Model):
    """A Logistics dock: where a warehouse's stock meets shipping and trade policies."""

    account = models.CharField(max_length=100)
    dock_id = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    priority = models.IntegerField(default=0)
    sales_channels = models.JSONField(default=list)
    freight_table_ids = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["account", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "dock_id"], name="vtex_catalog_dock_unique")]

    def __str__(self) -> str:
        return f"dock {self.dock_id} of {self.account}"


class Inventory(models.Model):
    """A SKU's stock in one warehouse, as the last update set it (reference §1.4.2, §3.4)."""

    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="inventory")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="inventory")
    total_quantity = models.IntegerField(default=0)
    unlimited = models.BooleanField(default=False)
    lead_time = models.CharField(max_length=30, default="00:00:00")
    date_utc_on_balance_system = models.DateTimeField(null=True, blank=True)
    writes = models.PositiveIntegerField(default=0, help_text="update requests answered 2xx")
    changes = models.PositiveIntegerField(default=0, help_text="of those, the ones that changed the stock")
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sku_id", "warehouse_id"]
        constraints = [models.UniqueConstraint(fields=["sku", "warehouse"], name="vtex_catalog_inventory_unique")]

    def __str__(self) -> str:
        return f"{self.sku} in {self.warehouse}: {self.total_quantity}"


class ReservationState(models.TextChoices):
    # reference §1.4.4: authorized (order placed) → confirmed (payment approved) → acknowledged
    # (start-handling); canceled or expired reservations no longer count.
    AUTHORIZED = "authorized", "Authorized"
    CONFIRMED = "confirmed", "Confirmed"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CANCELED = "canceled", "Canceled"
    EXPIRED = "expired", "Authorization expired"


class Reservation(models.Model):
    """Units an order holds of a SKU in a warehouse.

    An acknowledged reservation is *released* (``released_at``) by the next inventory update whose
    ``dateUtcOnBalanceSystem`` is not before its acknowledgement (reference §1.4.4, §3.4 (A)); the
    row stays for the record.
    """

    account = models.CharField(max_length=100)
    reservation_id = models.CharField(max_length=64, unique=True)
    lock_id = models.CharField(max_length=200, blank=True, help_text="the order the reservation is for")
    sales_channel = models.CharField(max_length=20, default="1")
    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="reservations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="reservations")
    dock_id = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField()
    state = models.CharField(max_length=20, choices=ReservationState.choices)
    created_at = models.DateTimeField()
    maximum_confirmation_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["sku", "warehouse", "state"], name="vtex_catalog_reservation_sku")]

    def __str__(self) -> str:
        return f"reservation {self.reservation_id}: {self.quantity} of {self.sku} ({self.state})"


class PriceTable(models.Model):
    """A price table: a trade policy id ("1") or a custom table name ("b2b")."""

    account = models.CharField(max_length=100)
    table_id = models.CharField(max_length=100)

    class Meta:
        ordering = ["account", "id"]
        constraints = [models.UniqueConstraint(fields=["account", "table_id"], name="vtex_catalog_table_unique")]

    def __str__(self) -> str:
        return self.table_id


class Price(models.Model):
    """A SKU's Pricing v2 price: base, cost, markup, list price and its fixed prices (reference §1.5).

    Money is a decimal number of currency units (``50.5`` = 50.50), unlike the OMS's cents. ``flags``
    records what VTEX accepts although it is wrong (a negative price, KI 774548; a list price below
    the price), so tests can see that a client never sent it.
    """

    sku = models.OneToOneField(Sku, on_delete=models.CASCADE, related_name="price")
    base_price = models.FloatField()
    cost_price = models.FloatField()
    markup = models.IntegerField()
    list_price = models.FloatField(null=True, blank=True)
    fixed_prices = models.JSONField(
        default=list, help_text="[{tradePolicyId, value, listPrice, minQuantity, dateRange?}]"
    )
    flags = models.JSONField(default=list)
    writes = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["sku_id"]

    def __str__(self) -> str:
        return f"price of {self.sku}: {self.base_price}"


class AfterApplyFault(models.Model):
    """ "500 after apply": the write is done and committed, then the answer is this status (reference
    §1.8.4, KI "stock change is completed even after receiving error 500")."""

    method = models.CharField(max_length=10, blank=True, help_text="empty: any write method")
    path_pattern = models.CharField(max_length=300, default="", help_text="regular expression searched in the path")
    status_code = models.PositiveSmallIntegerField(default=500)
    remaining = models.PositiveIntegerField(null=True, blank=True, help_text="null: until removed")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.status_code} after {self.method or 'any write'} {self.path_pattern}"
