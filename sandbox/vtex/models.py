"""VTEX simulator state. Accounts and their API keys first; orders and the rest build on them."""

from __future__ import annotations

from django.db import models


class Account(models.Model):
    """A VTEX account (store) and one API key pair of it. One appKey belongs to exactly one account."""

    account_name = models.CharField(max_length=100)
    app_key = models.CharField(max_length=200, unique=True)
    app_token = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.account_name} ({self.app_key})"


class Order(models.Model):
    """A VTEX order as the OMS holds it. Nested parts that VTEX returns as-is live in JSON fields.

    ``items`` are the order lines (``uniqueId``, ``id`` = SKU, ``quantity``, unit ``price``,
    ``listPrice``, ``sellingPrice``, ``name``, ``refId``, ...); a line keeps its index forever, so a
    modification that removes every unit leaves it with quantity 0 rather than shifting the indexes
    that invoice packages point at.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="orders")
    order_id = models.CharField(max_length=100, unique=True)
    sequence = models.CharField(max_length=20, unique=True)
    status = models.CharField(max_length=64, db_index=True)
    origin = models.CharField(max_length=20, default="Marketplace")
    sales_channel = models.CharField(max_length=20, default="1")
    affiliate_id = models.CharField(max_length=10, blank=True)
    marketplace_order_id = models.CharField(max_length=200, blank=True, db_index=True)
    marketplace_services_endpoint = models.CharField(max_length=500, blank=True)
    currency_code = models.CharField(max_length=3, default="CZK")
    country_code = models.CharField(max_length=3, default="CZE")
    locale = models.CharField(max_length=10, default="cs-CZ")
    items = models.JSONField(default=list)
    shipping_value = models.IntegerField(default=0)
    customer = models.JSONField(default=dict)
    address = models.JSONField(default=dict)
    delivery_company = models.CharField(max_length=200, default="Transportadora")
    sla = models.CharField(max_length=100, default="Normal")
    creation_date = models.DateTimeField()
    last_change = models.DateTimeField()
    authorized_date = models.DateTimeField(null=True, blank=True)
    invoiced_date = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.TextField(null=True, blank=True)  # noqa: DJ001 - VTEX tells null from ""
    cancellation_data = models.JSONField(null=True, blank=True)
    cancellation_requests = models.JSONField(default=list)
    status_history = models.JSONField(default=list, help_text="[{from, to, at}] of every status change")
    ids = models.JSONField(default=dict, help_text="stable opaque ids (orderFormId, transactionId, ...)")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.order_id} ({self.status})"

    @property
    def value(self) -> int:
        """The amount the order is worth now: what the Output invoices must add up to."""
        return sum(line["sellingPrice"] * line["quantity"] for line in self.items) + self.shipping_value


class PackageType(models.TextChoices):
    OUTPUT = "Output", "Sale invoice"
    INPUT = "Input", "Return invoice"


class Package(models.Model):
    """One invoice notified on an order (``packageAttachment.packages[]``)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="packages")
    type = models.CharField(max_length=10, choices=PackageType.choices)
    invoice_number = models.CharField(max_length=200)
    invoice_value = models.IntegerField()
    invoice_key = models.TextField(null=True, blank=True)  # noqa: DJ001 - VTEX tells null from ""
    invoice_url = models.TextField(null=True, blank=True)  # noqa: DJ001 - VTEX tells null from ""
    embedded_invoice = models.TextField(null=True, blank=True)  # noqa: DJ001 - VTEX tells null from ""
    issuance_date = models.CharField(max_length=50)
    courier = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - VTEX tells null from ""
    tracking_number = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - VTEX tells null from ""
    tracking_url = models.TextField(null=True, blank=True)  # noqa: DJ001 - VTEX tells null from ""
    dispatched_date = models.CharField(max_length=50, null=True, blank=True)  # noqa: DJ001 - VTEX tells null from ""
    items = models.JSONField(default=list, help_text="[{itemIndex, id, quantity, price, description}]")
    courier_status = models.JSONField(null=True, blank=True)
    restitutions = models.JSONField(default=dict)
    receipt = models.CharField(max_length=32)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["order", "invoice_number"], name="vtex_package_number_unique")]

    def __str__(self) -> str:
        return f"{self.type} {self.invoice_number} on {self.order.order_id}"


class OrderChange(models.Model):
    """One order modification (``/api/order-system/orders/{id}/changes``)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="changes")
    request_id = models.CharField(max_length=36, unique=True)
    workflow_id = models.CharField(max_length=36)
    reason = models.TextField()
    remove = models.JSONField(null=True, blank=True, help_text="the remove operation as applied")
    items_removed = models.JSONField(default=list)
    total_change_value = models.IntegerField()
    totals = models.JSONField(default=list)
    receipt = models.CharField(max_length=32)
    date = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"change {self.request_id} on {self.order.order_id}"


class Note(models.Model):
    """A VTEX DO note in an order's timeline."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notes")
    note_id = models.CharField(max_length=32, unique=True)
    target_id = models.CharField(max_length=200, db_index=True)
    target = models.JSONField(default=dict)
    domain = models.CharField(max_length=50)
    description = models.TextField()
    created_by = models.JSONField(null=True, blank=True)
    creation_date = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"note {self.note_id} on {self.target_id}"
