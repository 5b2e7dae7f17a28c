"""VARIO ERP simulator state: the app installation, master data, documents, shipments, webhooks.

Field names follow the reference (reference/vario-erp.md §4.2); the JSON shapes are built in
``sandbox.vario.serializers``. Text fields that VARIO answers with ``null`` when unset are nullable
(DJ001 silenced on purpose): "not set" and "set to an empty text" are different things to a client.
Foreign keys cascade: /_sim/reset deletes table by table in model order, and only a reset ever
deletes master data.
"""

from __future__ import annotations

from django.db import models

from sandbox import clock


class AppClient(models.Model):
    """The installed app: its OAuth client, its offline refresh token and its app identifier."""

    tenant = models.CharField(max_length=100)
    client_id = models.CharField(max_length=200, unique=True)
    client_secret = models.CharField(max_length=500)
    app_identifier = models.CharField(max_length=100)
    refresh_token = models.CharField(max_length=500)
    access_token_lifetime = models.PositiveIntegerField(default=300, help_text="seconds")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.client_id}@{self.tenant}"


class AccessToken(models.Model):
    client = models.ForeignKey(AppClient, on_delete=models.CASCADE, related_name="access_tokens")
    token_digest = models.CharField(max_length=64, unique=True, help_text="sha256 of the token; never the token")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"token of {self.client_id} until {self.expires_at}"


class SalesChannel(models.Model):
    id = models.CharField(primary_key=True, max_length=20)
    label = models.CharField(max_length=200)
    description = models.CharField(max_length=500, null=True, blank=True)  # noqa: DJ001
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.label


class Account(models.Model):
    """A customer account (the marketplace collective account "501" by default)."""

    id = models.CharField(primary_key=True, max_length=20)
    number = models.CharField(max_length=50)
    name = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class Carrier(models.Model):
    id = models.CharField(primary_key=True, max_length=20)
    key = models.CharField(max_length=50, unique=True)
    label = models.CharField(max_length=200)

    def __str__(self) -> str:
        return self.key


class DeliveryMethod(models.Model):
    id = models.CharField(primary_key=True, max_length=20)
    label = models.CharField(max_length=200)
    carrier = models.ForeignKey(Carrier, null=True, blank=True, on_delete=models.CASCADE)
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.label


class PaymentMethod(models.Model):
    id = models.CharField(primary_key=True, max_length=20)
    label = models.CharField(max_length=200)
    active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.label


class DocumentCategory(models.TextChoices):
    CUSTOMER_ORDER = "CUSTOMER_ORDER"
    CUSTOMER_DELIVERY_DOCUMENT = "CUSTOMER_DELIVERY_DOCUMENT"
    CUSTOMER_GOODS_RETURN = "CUSTOMER_GOODS_RETURN"


class DocumentType(models.Model):
    id = models.PositiveIntegerField(primary_key=True)
    key = models.CharField(max_length=50, unique=True)
    label = models.CharField(max_length=100)
    category = models.CharField(max_length=50, choices=DocumentCategory.choices)
    number_prefix = models.CharField(max_length=10)
    next_number = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.label


class Article(models.Model):
    id = models.PositiveIntegerField(primary_key=True)
    article_number = models.CharField(max_length=100, unique=True)
    ean = models.CharField(max_length=20, blank=True)
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    active = models.BooleanField(default=True)
    # Catalog (reference/catalog-sync.md §2.1 `Article`, §3.3 Q1): docs/sandbox-vario.md "Catalog".
    product_type = models.CharField(max_length=30, default="WITH_STOCK")
    sellable_without_stock = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.article_number


class Document(models.Model):
    """Order, delivery note or goods return (one entity in VARIO, told apart by its type's category)."""

    document_type = models.ForeignKey(DocumentType, on_delete=models.CASCADE)
    number = models.CharField(max_length=50, unique=True)
    state = models.CharField(max_length=30)
    document_date = models.DateField()
    ordered_on = models.DateField(null=True, blank=True)
    shipping_date = models.DateField(null=True, blank=True)
    external_identifier = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    external_number = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    referenced_order_number = models.CharField(max_length=50, null=True, blank=True)  # noqa: DJ001
    order = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="follow_ups", help_text="source order"
    )
    sales_channel = models.ForeignKey(SalesChannel, null=True, blank=True, on_delete=models.CASCADE)
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    delivery_method = models.ForeignKey(DeliveryMethod, null=True, blank=True, on_delete=models.CASCADE)
    payment_method = models.ForeignKey(PaymentMethod, null=True, blank=True, on_delete=models.CASCADE)
    billing_type = models.CharField(max_length=10, default="GROSS")
    billing_address = models.JSONField(null=True, blank=True)
    delivery_address = models.JSONField(null=True, blank=True)
    custom = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    created_from = models.CharField(max_length=200)
    updated_at = models.DateTimeField()
    updated_from = models.CharField(max_length=200)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.number

    @property
    def category(self) -> str:
        return self.document_type.category


class DocumentLine(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    line_type = models.CharField(max_length=30, default="ARTICLE_LINE")
    article = models.ForeignKey(Article, null=True, blank=True, on_delete=models.CASCADE)
    number = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    name = models.CharField(max_length=300, blank=True)
    description = models.TextField(null=True, blank=True)  # noqa: DJ001
    quantity = models.DecimalField(max_digits=12, decimal_places=3, default=0)
    quantity_committed = models.DecimalField(max_digits=12, decimal_places=3, default=0)
    complete = models.BooleanField(default=False)
    # Simulator bookkeeping, shown only by GET /_sim/vario/orders/{id}: VARIO itself just lowers `quantity`.
    quantity_cancelled = models.DecimalField(max_digits=12, decimal_places=3, default=0)
    product_price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    external_identifier = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    order_line = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="follow_up_lines"
    )
    shipping_date = models.DateField(null=True, blank=True)
    custom = models.JSONField(default=dict)

    class Meta:
        ordering = ["document_id", "position"]

    def __str__(self) -> str:
        return f"{self.document_id}/{self.position}"


class Shipment(models.Model):
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE)
    delivery_method = models.ForeignKey(DeliveryMethod, null=True, blank=True, on_delete=models.CASCADE)
    shipping_date = models.DateField()
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"shipment {self.id} of document {self.document_id}"


class Parcel(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="parcels")
    tracking_number = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    tracking_url = models.CharField(max_length=500, null=True, blank=True)  # noqa: DJ001
    state = models.CharField(max_length=20, default="COMPLETED")
    weight = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    # Carrier tracking (working model, reference §4.2 "A"): [{date, city, state, description}], oldest first.
    events = models.JSONField(default=list, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"parcel {self.tracking_number or self.id}"


class WebhookRegistration(models.Model):
    url = models.CharField(max_length=1000)
    destination_queue = models.CharField(max_length=200, db_index=True)
    app_identifier = models.CharField(max_length=100)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["url", "destination_queue", "app_identifier"], name="vario_webhook_unique")
        ]

    def __str__(self) -> str:
        return f"{self.destination_queue} → {self.url}"


# --- catalog: storages, listings, stock, sales prices (reference/catalog-sync.md §2.1, §3.3) ---------


class Storage(models.Model):
    """A VARIO storage (`erp-stock-Storage`): stock is booked per article and storage."""

    id = models.CharField(primary_key=True, max_length=20)
    number = models.CharField(max_length=50)
    display_name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    sales_storage = models.BooleanField(default=True)
    use_in_availability_determination = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.number} {self.display_name}"


class PriceGroup(models.Model):
    id = models.CharField(primary_key=True, max_length=20)
    label = models.CharField(max_length=200)
    price_base = models.CharField(max_length=20, default="GROSS_PRICE")

    def __str__(self) -> str:
        return self.label


class ArticleListing(models.Model):
    """An article's listing in one sales channel (`ArticleListing`); ``sellable_without_stock`` None = the article's."""

    id = models.PositiveIntegerField(primary_key=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="listings")
    sales_channel = models.ForeignKey(SalesChannel, on_delete=models.CASCADE)
    listed = models.BooleanField(default=True)
    sellable_without_stock = models.BooleanField(null=True, blank=True)
    custom = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["article", "sales_channel"], name="vario_listing_per_channel")]

    def __str__(self) -> str:
        return f"listing {self.id} of {self.article_id} in {self.sales_channel_id}"


class ArticleStorage(models.Model):
    """Stock of one article in one storage (`ArticleStorage`); no row = nothing ever booked there."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="stocks")
    storage = models.ForeignKey(Storage, on_delete=models.CASCADE)
    quantity_in_stock = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    reserved_quantity = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    quantity_in_picking = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["article_id", "storage_id"]
        constraints = [models.UniqueConstraint(fields=["article", "storage"], name="vario_stock_per_storage")]

    def __str__(self) -> str:
        return f"{self.article_id} in {self.storage_id}: {self.quantity_in_stock}"


class ProductPrice(models.Model):
    """A sales (or purchase) price (`ProductPrice`): per price group, channel, account, tier and validity."""

    id = models.PositiveIntegerField(primary_key=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="prices")
    qualifier = models.CharField(max_length=10, default="SALES")
    price_group = models.ForeignKey(PriceGroup, null=True, blank=True, on_delete=models.CASCADE)
    sales_channel = models.ForeignKey(SalesChannel, null=True, blank=True, on_delete=models.CASCADE)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE)
    currency_code = models.CharField(max_length=3, default="EUR")
    net_price = models.DecimalField(max_digits=14, decimal_places=4)
    gross_price = models.DecimalField(max_digits=14, decimal_places=4)
    price_base = models.CharField(max_length=20, default="GROSS_PRICE")
    from_quantity = models.DecimalField(max_digits=14, decimal_places=3, default=1)
    valid_from = models.DateField(null=True, blank=True)
    valid_until = models.DateField(null=True, blank=True)
    special_offer_price = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"price {self.id} of {self.article_id}"


class RecommendedRetailPrice(models.Model):
    """The RRP (UVP) of an article per country (`GET /erp/recommended-retail-price/{id}`)."""

    id = models.PositiveIntegerField(primary_key=True)
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="recommended_retail_prices")
    country_code = models.CharField(max_length=3, default="DEU")
    currency_code = models.CharField(max_length=3, default="EUR")
    value = models.DecimalField(max_digits=14, decimal_places=4)
    updated_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"RRP {self.id} of {self.article_id}"
