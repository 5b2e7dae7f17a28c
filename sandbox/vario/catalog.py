"""The catalog of the simulated ERP: listings per sales channel, stock per storage, sales prices, RRPs.

What the portal's stock and price sync reads (reference/catalog-sync.md §3.3: VQL sources
article.shopListing, article.queryArticleStorages, article.queryArticlePrices,
article.queryRecommendedRetailPrices, in ``sandbox.vario.vql``) and what ERP users change through the
control API (``sandbox.vario.catalog_control``). Each change validates like the ERP would, is stored in
one transaction and queues the webhooks it fires in that transaction (``catalog_events``), so a refused
change fires nothing. Choices beyond the reference: docs/sandbox-vario.md "Catalog".
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import connections, transaction
from django.db.models import Max

from sandbox import clock
from sandbox.http import object_id
from sandbox.vario import catalog_events as events
from sandbox.vario.models import (
    Account,
    Article,
    ArticleListing,
    ArticleStorage,
    PriceGroup,
    ProductPrice,
    RecommendedRetailPrice,
    SalesChannel,
    Storage,
)
from sandbox.vario.seed import DEMO_SALES_CHANNEL_ID, ean13
from sandbox.vario.serializers import day, number, timestamp
from sandbox.vario.services import Rejected, _date, _id, _object, _text, _unknown_fields

DB = "sandbox"
BATCH = 500
# Each kind of id in its own range, as the reference's examples number them (listing 901, price 5501).
LISTING_ID_BASE = 899
PRICE_ID_BASE = 5499
RRP_ID_BASE = 6999
# VAT the simulator derives a missing net or gross price with (documents use 19 % too).
VAT = Decimal("1.19")
CENT = Decimal("0.01")
# reference §2.1: `erp-product-Article.productType`.
PRODUCT_TYPES = {
    "WITH_STOCK",
    "WITHOUT_STOCK",
    "SERVICE_ARTICLE",
    "SERVICE_CONTINGENT",
    "ASSEMBLY_GROUP",
    "JUMBO",
    "SHIPPING_COSTS",
    "VARIANT_MAIN_ARTICLE",
}
PRICE_BASES = {"GROSS_PRICE", "NET_PRICE"}
QUALIFIERS = {"SALES", "PURCHASE"}
# Custom fields a listing may carry: the portal keeps the VTEX SKU id there (reference §3.3 Q1).
LISTING_CUSTOM = {"vtexportal": {"vtexSkuId"}}
BULK_MAX_ARTICLES = 100_000
MAX_STOCK_CHANGES = 100_000
MAX_WITHIN_SECONDS = 120.0
# Quantities: 14 digits with 3 decimals (DecimalField); money: 14 digits with 4 decimals.
QUANTITY_PLACES, QUANTITY_LIMIT = 3, Decimal(10) ** 11
MONEY_PLACES, MONEY_LIMIT = 4, Decimal(10) ** 10
_CURRENCY = re.compile(r"[A-Z]{3}")
_EAN = re.compile(r"[0-9]{8,14}")


# --- field validation -----------------------------------------------------------------------------


def _number(value, name: str, *, places: int, limit: Decimal, minimum: Decimal | None = None) -> Decimal:
    """A finite JSON number (or numeric text) with at most ``places`` decimals, below ``limit``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Rejected(400, f"{name} must be a number, got {value!r}")
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        raise Rejected(400, f"{name} must be a number, got {value!r}") from None
    if not parsed.is_finite() or abs(parsed) >= limit:
        raise Rejected(400, f"{name} must be a finite number below {limit}, got {value!r}")
    if parsed != parsed.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):
        raise Rejected(400, f"{name} has more than {places} decimals: {value!r}")
    if minimum is not None and parsed < minimum:
        raise Rejected(400, f"{name} must be at least {minimum}, got {value!r}")
    return parsed


def _quantity(value, name: str, *, minimum: Decimal | None = None) -> Decimal:
    return _number(value, name, places=QUANTITY_PLACES, limit=QUANTITY_LIMIT, minimum=minimum)


def _money(value, name: str) -> Decimal:
    # Zero and negative prices are accepted, as an ERP user can type them (reference §3.7 #13).
    return _number(value, name, places=MONEY_PLACES, limit=MONEY_LIMIT)


def _bool(value, name: str) -> bool:
    if not isinstance(value, bool):
        raise Rejected(400, f"{name} must be true or false, got {value!r}")
    return value


def _choice(value, name: str, allowed: set[str]) -> str:
    if value not in allowed:
        raise Rejected(400, f"{name} must be one of {', '.join(sorted(allowed))}, got {value!r}")
    return value


def _currency(value, name: str) -> str:
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise Rejected(400, f"{name} must be an ISO 4217 code such as EUR, got {value!r}")
    return value


def _country(value, name: str) -> str:
    if not isinstance(value, str) or not (len(value) == 3 and value.isascii() and value.isalpha() and value.isupper()):
        raise Rejected(400, f"{name} must be an ISO 3166-1 alpha-3 code such as DEU, got {value!r}")
    return value


def _ean(value, name: str) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not _EAN.fullmatch(value):
        raise Rejected(400, f"{name} must be 8 to 14 digits, got {value!r}")
    return value


def _row(model, pk, name: str):
    """``model`` row ``pk`` (an id); None for None, 422 when there is no such row."""
    key = _id(pk, f"{name}Id")
    if key is None:
        return None
    obj = model.objects.filter(pk=key).first()
    if obj is None:
        raise Rejected(422, f"{model.__name__} {key} does not exist ({name}Id)")
    return obj


def row_found(rows, pk: str, label: str):
    """The row of ``rows`` (a model or a queryset) a control path names; 404 when the segment is no id
    or names nothing."""
    key = object_id(pk)
    rows = rows.objects.all() if isinstance(rows, type) else rows
    obj = rows.filter(pk=key).first() if key is not None else None
    if obj is None:
        raise Rejected(404, f"{label} {pk} does not exist")
    return obj


def _article_of(data: dict, where: str, *, cache: dict | None = None) -> Article:
    """The article a body names by ``articleId`` or ``articleNumber`` (422 when unknown)."""
    if "articleId" in data:
        key = _id(data["articleId"], f"{where}.articleId")
        lookup = {"pk": key}
    else:
        key = _text(data.get("articleNumber"), f"{where}.articleNumber", max_length=100)
        if not key:
            raise Rejected(400, f"{where} needs an articleId or an articleNumber")
        lookup = {"article_number": key}
    if cache is not None and (tuple(lookup), key) in cache:
        return cache[(tuple(lookup), key)]
    article = Article.objects.filter(**lookup).first()
    if article is None:
        raise Rejected(422, f"Article {key} does not exist ({where})")
    if cache is not None:
        cache[(tuple(lookup), key)] = article
    return article


def _next_id(model, base: int) -> int:
    return (model.objects.aggregate(top=Max("id"))["top"] or base) + 1


def _listing_custom(value, name: str, current: dict | None = None) -> dict:
    """Custom fields set attribute by attribute (null removes one); unknown groups/attributes → 422."""
    custom = {group: dict(attrs) for group, attrs in (current or {}).items()}
    for group, attributes in _object(value, name).items():
        known = LISTING_CUSTOM.get(group)
        if known is None:
            raise Rejected(422, f"Custom field group {group!r} does not exist for entity articleListing")
        for attribute, item in _object(attributes, f"{name}.{group}").items():
            if attribute not in known:
                raise Rejected(422, f"Custom field {name}.{group}.{attribute} does not exist")
            if item is None:
                custom.get(group, {}).pop(attribute, None)
            else:
                custom.setdefault(group, {})[attribute] = _text(item, f"{name}.{group}.{attribute}", max_length=1000)
    return {group: attrs for group, attrs in custom.items() if attrs}


# --- JSON -----------------------------------------------------------------------------------------


def listing_json(listing: ArticleListing) -> dict:
    return {
        "id": str(listing.id),
        "articleId": str(listing.article_id),
        "salesChannelId": listing.sales_channel_id,
        "listed": listing.listed,
        "sellableWithoutStock": listing.sellable_without_stock,
        "custom": listing.custom,
        "updatedAt": timestamp(listing.updated_at),
    }


def stock_json(stock: ArticleStorage) -> dict:
    return {
        "articleId": str(stock.article_id),
        "storageId": stock.storage_id,
        "storageNumber": stock.storage.number,
        "quantityInStock": number(stock.quantity_in_stock),
        "reservedQuantity": number(stock.reserved_quantity),
        "quantityInPicking": number(stock.quantity_in_picking),
        "stockAvailable": number(stock.quantity_in_stock - stock.reserved_quantity),
        "updatedAt": timestamp(stock.updated_at),
    }


def price_json(price: ProductPrice) -> dict:
    return {
        "id": str(price.id),
        "articleId": str(price.article_id),
        "qualifier": price.qualifier,
        "priceGroupId": price.price_group_id,
        "salesChannelId": price.sales_channel_id,
        "accountId": price.account_id,
        "currencyCode": price.currency_code,
        "netPrice": number(price.net_price),
        "grossPrice": number(price.gross_price),
        "priceBase": price.price_base,
        "fromQuantity": number(price.from_quantity),
        "validFrom": day(price.valid_from),
        "validUntil": day(price.valid_until),
        "specialOfferPrice": price.special_offer_price,
        "version": price.version,
        "updatedAt": timestamp(price.updated_at),
    }


def rrp_json(rrp: RecommendedRetailPrice) -> dict:
    """Also the body of GET /api/vario/erp/recommended-retail-price/{id} (reference §2.1)."""
    article = rrp.article
    return {
        "id": str(rrp.id),
        "currencyCode": rrp.currency_code,
        "countryCode": rrp.country_code,
        "articleRef": {"id": str(article.id), "label": article.article_number, "description": article.name},
        "value": number(rrp.value),
    }


def storage_json(storage: Storage) -> dict:
    """Also the body of GET /api/vario/erp/storages/{id} (reference §2.1 `erp-stock-Storage`, a subset)."""
    return {
        "id": storage.id,
        "number": storage.number,
        "displayName": storage.display_name,
        "active": storage.active,
        "salesStorage": storage.sales_storage,
        "useInAvailabilityDetermination": storage.use_in_availability_determination,
    }


def article_state_json(article: Article) -> dict:
    """Everything the catalog holds for one article (control API)."""
    return {
        "id": str(article.id),
        "articleNumber": article.article_number,
        "name": article.name,
        "ean": article.ean or None,
        "active": article.active,
        "productType": article.product_type,
        "sellableWithoutStock": article.sellable_without_stock,
        "updatedAt": timestamp(article.updated_at),
        "listings": [listing_json(x) for x in article.listings.all()],
        "stock": [stock_json(x) for x in article.stocks.select_related("storage").all()],
        "prices": [price_json(x) for x in article.prices.all()],
        "recommendedRetailPrices": [rrp_json(x) for x in article.recommended_retail_prices.select_related("article")],
    }


# --- seed -----------------------------------------------------------------------------------------

# (id, number, name, salesStorage, useInAvailabilityDetermination): two sales storages that a channel's
# warehouse map may sum (1, 3, reference §3.1's example), a shop's store (5) and a returns storage (9)
# that no map names (reference §3.7 #6b).
SEED_STORAGES = [
    ("1", "HL", "Hauptlager", True, True),
    ("3", "AL", "Außenlager", True, True),
    ("5", "BER", "Filiale Berlin", True, True),
    ("9", "RET", "Retourenlager", False, False),
]
SEED_PRICE_GROUPS = [("1", "Endkundenpreis", "GROSS_PRICE"), ("4", "Händlerpreis (B2B)", "NET_PRICE")]
SEED_RRP_TSHIRT = Decimal("24.99")


def catalog_seed() -> None:
    """The demo catalog (called by ``seed.vario_seed``; docs/sandbox-vario.md "Catalog seed")."""
    now = clock.now()
    Storage.objects.bulk_create(
        Storage(id=i, number=n, display_name=d, sales_storage=s, use_in_availability_determination=u)
        for i, n, d, s, u in SEED_STORAGES
    )
    PriceGroup.objects.bulk_create(PriceGroup(id=i, label=label, price_base=b) for i, label, b in SEED_PRICE_GROUPS)
    articles = list(Article.objects.order_by("id"))
    listings, stocks, prices, rrps = [], [], [], []
    for position, article in enumerate(articles):
        listings.append(
            ArticleListing(
                id=LISTING_ID_BASE + 1 + position,
                article=article,
                sales_channel_id=DEMO_SALES_CHANNEL_ID,
                listed=article.active,
                updated_at=now,
            )
        )
        gross = article.price
        prices.append(
            ProductPrice(
                id=PRICE_ID_BASE + 1 + position,
                article=article,
                price_group_id="1",
                net_price=(gross / VAT).quantize(CENT, rounding=ROUND_HALF_UP),
                gross_price=gross,
                updated_at=now,
            )
        )
        if not article.active:
            continue
        if article.article_number == "SKU-RED-M":  # the reference's example row (§3.3 Q2)
            stocks += [
                ArticleStorage(
                    article=article, storage_id="1", quantity_in_stock=12, reserved_quantity=3, quantity_in_picking=1
                ),
                ArticleStorage(article=article, storage_id="3", quantity_in_stock=6),
                ArticleStorage(article=article, storage_id="9", quantity_in_stock=4),
            ]
        else:
            quantity = 5 + (article.id * 7) % 20
            stocks.append(
                ArticleStorage(
                    article=article, storage_id="1", quantity_in_stock=quantity, reserved_quantity=article.id % 3
                )
            )
        if article.article_number.startswith("SHOE-"):
            stocks.append(ArticleStorage(article=article, storage_id="5", quantity_in_stock=2))
        if article.article_number.startswith("SKU-"):
            rrps.append(RecommendedRetailPrice(id=RRP_ID_BASE + 1 + len(rrps), article=article, value=SEED_RRP_TSHIRT))
    for stock in stocks:
        stock.updated_at = now
    # reference §3.7 #14: B2B tiers of SKU-RED-M (net), the reference's example values.
    red_m = next(a for a in articles if a.article_number == "SKU-RED-M")
    next_price = PRICE_ID_BASE + 1 + len(articles)
    for offset, (net, tier) in enumerate(((Decimal("14.2"), 1), (Decimal("13.5"), 10))):
        prices.append(
            ProductPrice(
                id=next_price + offset,
                article=red_m,
                price_group_id="4",
                net_price=net,
                gross_price=(net * VAT).quantize(CENT, rounding=ROUND_HALF_UP),
                price_base="NET_PRICE",
                from_quantity=tier,
                updated_at=now,
            )
        )
    ArticleListing.objects.bulk_create(listings)
    ArticleStorage.objects.bulk_create(stocks)
    ProductPrice.objects.bulk_create(prices)
    RecommendedRetailPrice.objects.bulk_create(rrps)


# --- master data: storages, sales channels, articles, listings --------------------------------------


def storage_create(*, data) -> Storage:
    """A new storage {"id"?, "number", "displayName"?, "active"?, "salesStorage"?,
    "useInAvailabilityDetermination"?}; VARIO fires no webhook for it."""
    data = _object(data, "The body")
    _unknown_fields(
        data, {"id", "number", "displayName", "active", "salesStorage", "useInAvailabilityDetermination"}, "the body"
    )
    number_ = _text(data.get("number"), "number", max_length=50)
    if not number_:
        raise Rejected(400, "number is required")
    with transaction.atomic(using=DB):
        key = _id(data.get("id"), "id") or str(
            max((int(s) for s in Storage.objects.values_list("id", flat=True)), default=0) + 1
        )
        if Storage.objects.filter(pk=key).exists():
            raise Rejected(409, f"Storage {key} exists already")
        return Storage.objects.create(
            id=key,
            number=number_,
            display_name=_text(data.get("displayName"), "displayName") or number_,
            active=_bool(data.get("active", True), "active"),
            sales_storage=_bool(data.get("salesStorage", True), "salesStorage"),
            use_in_availability_determination=_bool(
                data.get("useInAvailabilityDetermination", True), "useInAvailabilityDetermination"
            ),
        )


def sales_channel_create(*, data) -> SalesChannel:
    """A new sales channel {"id"?, "label", "active"?}; fires `sales_channel.create` {"id"}."""
    data = _object(data, "The body")
    _unknown_fields(data, {"id", "label", "description", "active"}, "the body")
    label = _text(data.get("label"), "label")
    if not label:
        raise Rejected(400, "label is required")
    with transaction.atomic(using=DB):
        ids = [int(c) for c in SalesChannel.objects.values_list("id", flat=True) if c.isdigit()]
        key = _id(data.get("id"), "id") or str(max(ids, default=0) + 1)
        if SalesChannel.objects.filter(pk=key).exists():
            raise Rejected(409, f"Sales channel {key} exists already")
        channel = SalesChannel.objects.create(
            id=key,
            label=label,
            description=_text(data.get("description"), "description", max_length=500),
            active=_bool(data.get("active", True), "active"),
        )
        key_name = events.payload_key()
        events.catalog_event_fire(event=events.CHANNEL_CREATE, body={key_name: int(key)})
    return channel


ARTICLE_CHANGE_FIELDS = {"articleNumber", "name", "ean", "active", "productType", "sellableWithoutStock"}


def article_change(*, article_id: str, data) -> Article:
    """An ERP user edits an article: fires `article.update` and, per listing, `article(sales-channel-id=c).update`.

    1. The body: any of articleNumber (unique, 409), name, ean, active, productType, sellableWithoutStock.
    2. The article changed, updatedAt now.
    3. The events: one for the default channel, one per listing of the article.
    """
    data = _object(data, "The body")
    _unknown_fields(data, ARTICLE_CHANGE_FIELDS, "the body")  # 1.
    with transaction.atomic(using=DB):
        article = row_found(Article, article_id, "Article")
        if "articleNumber" in data:
            article_number = _text(data["articleNumber"], "articleNumber", max_length=100)
            if not article_number:
                raise Rejected(400, "articleNumber must not be empty")
            if Article.objects.filter(article_number=article_number).exclude(pk=article.pk).exists():
                raise Rejected(409, f"Article {article_number} exists already")
            article.article_number = article_number
        if "name" in data:
            article.name = _text(data["name"], "name") or article.article_number
        if "ean" in data:
            article.ean = _ean(data["ean"], "ean")
        if "active" in data:
            article.active = _bool(data["active"], "active")
        if "productType" in data:
            article.product_type = _choice(data["productType"], "productType", PRODUCT_TYPES)
        if "sellableWithoutStock" in data:
            article.sellable_without_stock = _bool(data["sellableWithoutStock"], "sellableWithoutStock")
        article.updated_at = clock.now()  # 2.
        article.save()
        key = events.payload_key()  # 3.
        events.catalog_event_fire(
            event=events.ARTICLE_UPDATE, body=events.article_body(article_id=article.id, listing_id=None, key=key)
        )
        for listing in article.listings.all():
            events.catalog_event_fire(
                event=events.channel_article_event(channel_id=listing.sales_channel_id, action="update"),
                body=events.article_body(article_id=article.id, listing_id=listing.id, key=key),
            )
    return article


LISTING_FIELDS = {"listed", "sellableWithoutStock", "custom"}


def _listing_fields(listing: ArticleListing, data: dict, where: str) -> None:
    if "listed" in data:
        listing.listed = _bool(data["listed"], f"{where}.listed")
    if "sellableWithoutStock" in data:
        value = data["sellableWithoutStock"]
        listing.sellable_without_stock = None if value is None else _bool(value, f"{where}.sellableWithoutStock")
    if "custom" in data:
        listing.custom = _listing_custom(data["custom"], f"{where}.custom", listing.custom)


def listing_create(*, article_id: str, data) -> ArticleListing:
    """The article listed in one more channel: {"salesChannelId", "listed"?, "sellableWithoutStock"?, "custom"?};
    fires `article(sales-channel-id=c).create` {"articleId", "listingId"}."""
    data = _object(data, "The body")
    _unknown_fields(data, LISTING_FIELDS | {"salesChannelId"}, "the body")
    with transaction.atomic(using=DB):
        article = row_found(Article, article_id, "Article")
        channel = _row(SalesChannel, data.get("salesChannelId"), "salesChannel")
        if channel is None:
            raise Rejected(400, "salesChannelId is required")
        if ArticleListing.objects.filter(article=article, sales_channel=channel).exists():
            raise Rejected(409, f"Article {article.id} is already listed in sales channel {channel.id}")
        listing = ArticleListing(
            id=_next_id(ArticleListing, LISTING_ID_BASE), article=article, sales_channel=channel, updated_at=clock.now()
        )
        _listing_fields(listing, data, "the body")
        listing.save(force_insert=True)
        Article.objects.filter(pk=article.pk).update(updated_at=listing.updated_at)
        events.catalog_event_fire(
            event=events.channel_article_event(channel_id=channel.id, action="create"),
            body=events.article_body(article_id=article.id, listing_id=listing.id),
        )
    return listing


def listing_change(*, listing_id: str, data) -> ArticleListing:
    """A listing edited ({"listed"?, "sellableWithoutStock"? (null: the article's), "custom"?});
    fires `article(sales-channel-id=c).update` {"articleId", "listingId"}."""
    data = _object(data, "The body")
    _unknown_fields(data, LISTING_FIELDS, "the body")
    with transaction.atomic(using=DB):
        listing = row_found(ArticleListing, listing_id, "Listing")
        _listing_fields(listing, data, "the body")
        listing.updated_at = clock.now()
        listing.save()
        Article.objects.filter(pk=listing.article_id).update(updated_at=listing.updated_at)
        events.catalog_event_fire(
            event=events.channel_article_event(channel_id=listing.sales_channel_id, action="update"),
            body=events.article_body(article_id=listing.article_id, listing_id=listing.id),
        )
    return listing


# --- stock ----------------------------------------------------------------------------------------

STOCK_FIELDS = {"quantityInStock": "quantity_in_stock", "reservedQuantity": "reserved_quantity"}
STOCK_FIELDS["quantityInPicking"] = "quantity_in_picking"


@dataclass
class StockChange:
    article: Article
    storage: Storage
    values: dict[str, Decimal] = field(default_factory=dict)  # model field → new value


def _storage_of(data: dict, where: str, storages: dict[str, Storage]) -> Storage:
    key = _id(data.get("storageId"), f"{where}.storageId")
    if key is None:
        raise Rejected(400, f"{where}.storageId is required")
    storage = storages.get(key)
    if storage is None:
        raise Rejected(422, f"Storage {key} does not exist ({where}.storageId)")
    return storage


def _stock_values(data: dict, where: str) -> dict[str, Decimal]:
    values = {}
    for name, attribute in STOCK_FIELDS.items():
        if name in data:
            # Stock may go below zero (an overbooked storage, reference §2.3 #5); reservations may not.
            minimum = None if name == "quantityInStock" else Decimal(0)
            values[attribute] = _quantity(data[name], f"{where}.{name}", minimum=minimum)
    if not values:
        raise Rejected(400, f"{where} changes nothing: give quantityInStock, reservedQuantity or quantityInPicking")
    return values


def _stock_change(data, where: str, *, cache: dict, storages: dict[str, Storage]) -> StockChange:
    data = _object(data, where)
    _unknown_fields(data, {"articleId", "articleNumber", "storageId", *STOCK_FIELDS}, where)
    article = _article_of(data, where, cache=cache)
    return StockChange(article=article, storage=_storage_of(data, where, storages), values=_stock_values(data, where))


def _stock_apply(changes: list[StockChange], *, webhooks: bool, faults: dict, key: str) -> int:
    """Book ``changes`` in order (the last one per article and storage wins) and fire one
    `sales_channel.stockChange` per change; returns the deliveries queued. Callers hold a transaction."""
    pairs = {(c.article.id, c.storage.id) for c in changes}
    article_ids = {a for a, _ in pairs}
    rows = {
        (row.article_id, row.storage_id): row
        for row in ArticleStorage.objects.filter(article_id__in=article_ids).select_related("storage")
        if (row.article_id, row.storage_id) in pairs
    }
    now = clock.now()
    created: dict[tuple[int, str], ArticleStorage] = {}
    for change in changes:
        pair = (change.article.id, change.storage.id)
        row = rows.get(pair)
        if row is None:
            row = rows[pair] = created[pair] = ArticleStorage(article=change.article, storage=change.storage)
        for attribute, value in change.values.items():
            setattr(row, attribute, value)
        row.updated_at = now
    ArticleStorage.objects.bulk_create(created.values(), batch_size=BATCH)
    _stock_rows_update([row for pair, row in rows.items() if pair not in created])
    if not webhooks:
        return 0
    bodies = [events.stock_change_body(article_id=change.article.id, key=key) for change in changes]
    return events.catalog_events_fire_many(event=events.STOCK_CHANGE, bodies=bodies, faults=faults)


_STOCK_UPDATED = ("quantity_in_stock", "reserved_quantity", "quantity_in_picking", "updated_at")


def _stock_rows_update(rows: list[ArticleStorage]) -> None:
    """One UPDATE per row, sent as one executemany (bulk_update's CASE expressions took 1.5 s per 1,000 rows)."""
    if not rows:
        return
    connection = connections[DB]
    quote = connection.ops.quote_name
    fields = [ArticleStorage._meta.get_field(name) for name in _STOCK_UPDATED]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {quote(ArticleStorage._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608 - names from the model
    params = [[f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def stock_set(*, article_id: str, data) -> ArticleStorage:
    """Stock of one article in one storage: {"storageId", "quantityInStock"?, "reservedQuantity"?,
    "quantityInPicking"?} (absolute values; omitted ones stay); fires `sales_channel.stockChange`."""
    article = row_found(Article, article_id, "Article")
    data = {**_object(data, "The body"), "articleId": article.id}
    with transaction.atomic(using=DB):
        storages = {s.id: s for s in Storage.objects.all()}
        change = _stock_change(data, "the body", cache={}, storages=storages)
        faults = events.catalog_faults_get()
        _stock_apply([change], webhooks=True, faults=faults, key=events.payload_key())
        events.faults_draws_store(faults)
    return ArticleStorage.objects.select_related("storage").get(article=article, storage=change.storage)


def stock_changes_apply(*, data) -> dict:
    """Many stock bookings, e.g. a burst: {"changes": [...], "withinSeconds"?: 0, "webhooks"?: true}.

    1. The body: 1 to MAX_STOCK_CHANGES changes (each as ``stock_set``'s body plus articleId or
       articleNumber), all checked before any is booked (a refused body books nothing).
    2. withinSeconds 0: all booked in one transaction. Otherwise change i is booked at
       i × withinSeconds / n seconds after the start (real time; the request returns when the last
       one is booked), the changes due together in one transaction, so each webhook goes out while
       the ERP shows the value that fired it.
    3. One `sales_channel.stockChange` per change unless webhooks is false (lost webhooks).
    """
    data = _object(data, "The body")
    _unknown_fields(data, {"changes", "withinSeconds", "webhooks"}, "the body")
    raw = data.get("changes")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STOCK_CHANGES:
        raise Rejected(400, f"changes must be a list of 1 to {MAX_STOCK_CHANGES} stock changes")
    within = float(_number(data.get("withinSeconds", 0), "withinSeconds", places=3, limit=Decimal(10) ** 6))
    if not 0 <= within <= MAX_WITHIN_SECONDS:
        raise Rejected(400, f"withinSeconds must be from 0 to {MAX_WITHIN_SECONDS:g}")
    webhooks = _bool(data.get("webhooks", True), "webhooks")
    storages = {s.id: s for s in Storage.objects.all()}
    cache: dict = {}
    changes = [_stock_change(item, f"changes[{n}]", cache=cache, storages=storages) for n, item in enumerate(raw)]  # 1.
    faults, key = events.catalog_faults_get(), events.payload_key()
    started = time.monotonic()
    queued, done, step = 0, 0, within / len(changes)
    while done < len(changes):  # 2.
        elapsed = time.monotonic() - started
        due = len(changes) if within == 0 else min(len(changes), int(elapsed / step) + 1)
        if due > done:
            with transaction.atomic(using=DB):
                queued += _stock_apply(changes[done:due], webhooks=webhooks, faults=faults, key=key)  # 3.
                if faults["draws"]:
                    events.faults_draws_store(faults)
            done = due
        else:
            time.sleep(max(done * step - elapsed, 0.001))
    return {"applied": len(changes), "webhooks": queued, "seconds": round(time.monotonic() - started, 3)}


# --- prices ---------------------------------------------------------------------------------------

PRICE_FIELDS = {
    "articleId",
    "articleNumber",
    "qualifier",
    "priceGroupId",
    "salesChannelId",
    "accountId",
    "currencyCode",
    "netPrice",
    "grossPrice",
    "priceBase",
    "fromQuantity",
    "validFrom",
    "validUntil",
    "specialOfferPrice",
}


def _price_amounts(price: ProductPrice, data: dict, where: str, *, required: bool) -> None:
    """The prices given are kept as given; one given alone derives the other at 19 % VAT, to the cent."""
    gross = _money(data["grossPrice"], f"{where}.grossPrice") if "grossPrice" in data else None
    net = _money(data["netPrice"], f"{where}.netPrice") if "netPrice" in data else None
    if gross is None and net is None:
        if required:
            raise Rejected(400, f"{where} needs a grossPrice or a netPrice")
        return
    price.gross_price = gross if gross is not None else (net * VAT).quantize(CENT, rounding=ROUND_HALF_UP)
    price.net_price = net if net is not None else (gross / VAT).quantize(CENT, rounding=ROUND_HALF_UP)


def _price_fields(price: ProductPrice, data: dict, where: str, *, creating: bool) -> None:
    if "qualifier" in data:
        price.qualifier = _choice(data["qualifier"], f"{where}.qualifier", QUALIFIERS)
    for name, model, attribute in (
        ("priceGroupId", PriceGroup, "price_group"),
        ("salesChannelId", SalesChannel, "sales_channel"),
        ("accountId", Account, "account"),
    ):
        if name in data:
            setattr(price, attribute, _row(model, data[name], name[:-2]))
    if "priceBase" in data:
        price.price_base = _choice(data["priceBase"], f"{where}.priceBase", PRICE_BASES)
    elif creating and price.price_group_id:
        price.price_base = price.price_group.price_base
    if "currencyCode" in data:
        price.currency_code = _currency(data["currencyCode"], f"{where}.currencyCode")
    if "fromQuantity" in data:
        price.from_quantity = _quantity(data["fromQuantity"], f"{where}.fromQuantity", minimum=Decimal("0.001"))
    for name in ("validFrom", "validUntil"):
        if name in data:
            setattr(price, "valid_from" if name == "validFrom" else "valid_until", _date(data[name], f"{where}.{name}"))
    if price.valid_from and price.valid_until and price.valid_from > price.valid_until:
        raise Rejected(400, f"{where}: validFrom is after validUntil")
    if "specialOfferPrice" in data:
        price.special_offer_price = _bool(data["specialOfferPrice"], f"{where}.specialOfferPrice")
    _price_amounts(price, data, where, required=creating)


def price_create(*, data) -> ProductPrice:
    """A new sales price (see PRICE_FIELDS; defaults: SALES, EUR, the price group's priceBase, from 1,
    always valid, no special offer); fires `article-price.create`."""
    data = _object(data, "The body")
    _unknown_fields(data, PRICE_FIELDS, "the body")
    with transaction.atomic(using=DB):
        article = _article_of(data, "the body")
        price = ProductPrice(id=_next_id(ProductPrice, PRICE_ID_BASE), article=article, updated_at=clock.now())
        _price_fields(price, data, "the body", creating=True)
        price.save(force_insert=True)
        price.refresh_from_db()  # the defaults as the database holds them (Decimal)
        events.catalog_event_fire(
            event=events.PRICE_CREATE, body=events.price_body(article_id=article.id, price_id=price.id)
        )
    return price


def price_change(*, price_id: str, data) -> ProductPrice:
    """A price edited (any PRICE_FIELDS but the article); version + 1; fires `article-price.update`."""
    data = _object(data, "The body")
    _unknown_fields(data, PRICE_FIELDS - {"articleId", "articleNumber"}, "the body")
    with transaction.atomic(using=DB):
        price = row_found(ProductPrice, price_id, "Price")
        _price_fields(price, data, "the body", creating=False)
        price.version += 1
        price.updated_at = clock.now()
        price.save()
        events.catalog_event_fire(
            event=events.PRICE_UPDATE, body=events.price_body(article_id=price.article_id, price_id=price.id)
        )
    return price


def price_delete(*, price_id: str) -> None:
    """A price removed (e.g. a tier, reference §3.7 #14). VARIO's catalogue has no delete event, so the
    simulator fires `article-price.update` with the removed priceId (choice; the portal reads afresh)."""
    with transaction.atomic(using=DB):
        price = row_found(ProductPrice, price_id, "Price")
        article_id, key = price.article_id, price.id
        price.delete()
        events.catalog_event_fire(
            event=events.PRICE_UPDATE, body=events.price_body(article_id=article_id, price_id=key)
        )


RRP_FIELDS = {"articleId", "articleNumber", "countryCode", "currencyCode", "value", "notify"}


def _rrp_notify(rrp_article_id: int, data: dict) -> None:
    # Whether VARIO fires anything for an RRP change is unknown (reference §2.3 #2): only on request.
    if _bool(data.get("notify", False), "notify"):
        events.catalog_event_fire(
            event=events.PRICE_UPDATE, body=events.price_body(article_id=rrp_article_id, price_id=None)
        )


def rrp_create(*, data) -> RecommendedRetailPrice:
    """A new RRP {"articleId"|"articleNumber", "value", "countryCode"? DEU, "currencyCode"? EUR, "notify"? false}."""
    data = _object(data, "The body")
    _unknown_fields(data, RRP_FIELDS, "the body")
    if "value" not in data:
        raise Rejected(400, "value is required")
    with transaction.atomic(using=DB):
        article = _article_of(data, "the body")
        rrp = RecommendedRetailPrice.objects.create(
            id=_next_id(RecommendedRetailPrice, RRP_ID_BASE),
            article=article,
            country_code=_country(data.get("countryCode", "DEU"), "countryCode"),
            currency_code=_currency(data.get("currencyCode", "EUR"), "currencyCode"),
            value=_money(data["value"], "value"),
            updated_at=clock.now(),
        )
        _rrp_notify(article.id, data)
    return rrp


def rrp_change(*, rrp_id: str, data) -> RecommendedRetailPrice:
    data = _object(data, "The body")
    _unknown_fields(data, RRP_FIELDS - {"articleId", "articleNumber"}, "the body")
    with transaction.atomic(using=DB):
        rrp = row_found(RecommendedRetailPrice, rrp_id, "Recommended retail price")
        if "countryCode" in data:
            rrp.country_code = _country(data["countryCode"], "countryCode")
        if "currencyCode" in data:
            rrp.currency_code = _currency(data["currencyCode"], "currencyCode")
        if "value" in data:
            rrp.value = _money(data["value"], "value")
        rrp.updated_at = clock.now()
        rrp.save()
        _rrp_notify(rrp.article_id, data)
    return rrp


def rrp_delete(*, rrp_id: str, notify: bool) -> None:
    with transaction.atomic(using=DB):
        rrp = row_found(RecommendedRetailPrice, rrp_id, "Recommended retail price")
        article_id = rrp.article_id
        rrp.delete()
        _rrp_notify(article_id, {"notify": notify})


# --- bulk seed ------------------------------------------------------------------------------------

ARTICLE_SPEC_FIELDS = {
    "articleNumber",
    "name",
    "ean",
    "active",
    "productType",
    "sellableWithoutStock",
    "listings",
    "stock",
    "prices",
    "recommendedRetailPrices",
}


@dataclass
class _Spec:
    """One article of a bulk seed, checked, with its rows not yet bound to an article."""

    article: Article
    listings: list[ArticleListing]
    stocks: list[ArticleStorage]
    prices: list[ProductPrice]
    rrps: list[RecommendedRetailPrice]


def _items(value, name: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Rejected(400, f"{name} must be a list")
    return value


def _spec(data, where: str, *, masters: dict, number_required: bool = True) -> _Spec:
    data = _object(data, where)
    _unknown_fields(data, ARTICLE_SPEC_FIELDS, where)
    article_number = _text(data.get("articleNumber"), f"{where}.articleNumber", max_length=100)
    if number_required and not article_number:
        raise Rejected(400, f"{where}.articleNumber is required")
    article = Article(
        article_number=article_number or "",
        name=_text(data.get("name"), f"{where}.name") or "",
        ean=_ean(data.get("ean"), f"{where}.ean"),
        active=_bool(data.get("active", True), f"{where}.active"),
        product_type=_choice(data.get("productType", "WITH_STOCK"), f"{where}.productType", PRODUCT_TYPES),
        sellable_without_stock=_bool(data.get("sellableWithoutStock", False), f"{where}.sellableWithoutStock"),
    )
    listings, channels = [], set()
    for n, item in enumerate(_items(data.get("listings"), f"{where}.listings")):
        name = f"{where}.listings[{n}]"
        item = _object(item, name)
        _unknown_fields(item, LISTING_FIELDS | {"salesChannelId"}, name)
        channel = masters["channels"].get(_id(item.get("salesChannelId"), f"{name}.salesChannelId"))
        if channel is None:
            raise Rejected(422, f"{name}.salesChannelId {item.get('salesChannelId')!r} is not a sales channel")
        if channel.id in channels:
            raise Rejected(400, f"{name}: the article is listed in sales channel {channel.id} twice")
        channels.add(channel.id)
        listing = ArticleListing(sales_channel=channel)
        _listing_fields(listing, item, name)
        listings.append(listing)
    stocks, storages = [], set()
    for n, item in enumerate(_items(data.get("stock"), f"{where}.stock")):
        name = f"{where}.stock[{n}]"
        item = _object(item, name)
        _unknown_fields(item, {"storageId", *STOCK_FIELDS}, name)
        storage = _storage_of(item, name, masters["storages"])
        if storage.id in storages:
            raise Rejected(400, f"{name}: storage {storage.id} twice")
        storages.add(storage.id)
        stocks.append(ArticleStorage(storage=storage, **_stock_values(item, name)))
    prices = []
    for n, item in enumerate(_items(data.get("prices"), f"{where}.prices")):
        name = f"{where}.prices[{n}]"
        item = _object(item, name)
        _unknown_fields(item, PRICE_FIELDS - {"articleId", "articleNumber"}, name)
        price = ProductPrice()
        _price_fields(price, item, name, creating=True)
        prices.append(price)
    rrps = []
    for n, item in enumerate(_items(data.get("recommendedRetailPrices"), f"{where}.recommendedRetailPrices")):
        name = f"{where}.recommendedRetailPrices[{n}]"
        item = _object(item, name)
        _unknown_fields(item, {"countryCode", "currencyCode", "value"}, name)
        if "value" not in item:
            raise Rejected(400, f"{name}.value is required")
        rrps.append(
            RecommendedRetailPrice(
                country_code=_country(item.get("countryCode", "DEU"), f"{name}.countryCode"),
                currency_code=_currency(item.get("currencyCode", "EUR"), f"{name}.currencyCode"),
                value=_money(item["value"], f"{name}.value"),
            )
        )
    return _Spec(article=article, listings=listings, stocks=stocks, prices=prices, rrps=rrps)


def _copy(row, **fields):
    """A fresh unsaved copy of a template row (every concrete field but the id), with ``fields`` set."""
    values = {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if not f.primary_key}
    return type(row)(**{**values, **fields})


def catalog_bulk_create(*, data) -> dict:
    """Many articles with their listings, stock, prices and RRPs at once, without webhooks (as if they
    existed before the portal was connected). POST /_sim/vario/catalog/bulk.

    1. The body: either ``articles`` (1 to BULK_MAX_ARTICLES article objects, each with articleNumber)
       or ``count`` with ``articleNumberPrefix`` and the same fields as one article (without
       articleNumber) as the template every generated article copies: numbers prefix + 00001..,
       EANs generated unless the template gives none ("ean": "") or one (then every article shares it).
    2. Everything is checked before anything is stored (a refused body creates nothing): master data is
       read once; article numbers must be new and unique.
    3. Ids are consecutive from the next free one of each kind; rows are inserted in batches, in one
       transaction; the answer names the first and last article id.
    """
    data = _object(data, "The body")
    _unknown_fields(
        data, {"articles", "count", "articleNumberPrefix", *ARTICLE_SPEC_FIELDS} - {"articleNumber"}, "the body"
    )
    masters = {
        "channels": {c.id: c for c in SalesChannel.objects.all()},
        "storages": {s.id: s for s in Storage.objects.all()},
    }
    if "articles" in data:  # 1.
        if set(data) != {"articles"}:
            raise Rejected(400, "Give either articles or count with a template, not both")
        raw = data["articles"]
        if not isinstance(raw, list) or not 1 <= len(raw) <= BULK_MAX_ARTICLES:
            raise Rejected(400, f"articles must be a list of 1 to {BULK_MAX_ARTICLES} article objects")
        specs = [_spec(item, f"articles[{n}]", masters=masters) for n, item in enumerate(raw)]
        generated_eans = False
    else:
        count = data.get("count")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= BULK_MAX_ARTICLES:
            raise Rejected(400, f"count must be a whole number from 1 to {BULK_MAX_ARTICLES} (or give articles)")
        prefix = _text(data.get("articleNumberPrefix"), "articleNumberPrefix", max_length=90)
        if not prefix:
            raise Rejected(400, "articleNumberPrefix is required with count")
        template = {k: v for k, v in data.items() if k not in ("count", "articleNumberPrefix")}
        spec = _spec(template, "the template", masters=masters, number_required=False)
        generated_eans = "ean" not in template
        specs = []
        for n in range(1, count + 1):
            article = _copy(spec.article, article_number=f"{prefix}{n:05d}")
            specs.append(_Spec(article, spec.listings, spec.stocks, spec.prices, spec.rrps))
    numbers = [s.article.article_number for s in specs]  # 2.
    if len(set(numbers)) != len(numbers):
        raise Rejected(400, "The article numbers of one bulk request must be unique")
    with transaction.atomic(using=DB):
        for start in range(0, len(numbers), BATCH):
            taken = list(Article.objects.filter(article_number__in=numbers[start : start + BATCH])[:1])
            if taken:
                raise Rejected(409, f"Article {taken[0].article_number} exists already")
        ids = {
            model: _next_id(model, base)
            for model, base in (
                (Article, 0),
                (ArticleListing, LISTING_ID_BASE),
                (ProductPrice, PRICE_ID_BASE),
                (RecommendedRetailPrice, RRP_ID_BASE),
            )
        }
        now = clock.now()
        rows: dict[type, list] = {
            Article: [],
            ArticleListing: [],
            ArticleStorage: [],
            ProductPrice: [],
            RecommendedRetailPrice: [],
        }
        for spec in specs:  # 3.
            article = spec.article
            article.id = ids[Article]
            ids[Article] += 1
            article.name = article.name or article.article_number
            if generated_eans:
                article.ean = ean13(f"2{article.id:011d}")
            gross = next((p.gross_price for p in spec.prices if p.price_group_id == "1"), None)
            article.price = gross if gross is not None else (spec.prices[0].gross_price if spec.prices else 0)
            article.updated_at = now
            rows[Article].append(article)
            for model, templates in (
                (ArticleListing, spec.listings),
                (ProductPrice, spec.prices),
                (RecommendedRetailPrice, spec.rrps),
            ):
                for template in templates:
                    rows[model].append(_copy(template, id=ids[model], article_id=article.id, updated_at=now))
                    ids[model] += 1
            rows[ArticleStorage] += [_copy(s, article_id=article.id, updated_at=now) for s in spec.stocks]
        for model, batch in rows.items():
            model.objects.bulk_create(batch, batch_size=BATCH)
    first, last = rows[Article][0].id, rows[Article][-1].id
    return {"created": len(specs), "firstId": str(first), "lastId": str(last)}
