"""Frozen dataclasses the stock-and-price clients return (reference/catalog-sync.md §1, §3.3, §3.4).

Kept apart from ``dtos.py`` because money here is different: VTEX Pricing and VARIO's sales prices are
decimal numbers in currency units (``50.5`` = 50.50, catalog-sync.md conventions), not the OMS's integer
cents, and VARIO stock may be fractional (``2.5`` of a non-piece unit, §3.3). Both are ``Decimal`` here,
read from the JSON number's text so that ``19.99`` stays ``Decimal("19.99")``.

Each ``from_json`` reads the remote's field names and raises ``KeyError``/``ValueError``/``TypeError``
on a shape it cannot read; the client turns that into a ``PayloadError``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

INT32_MAX = 2_147_483_647
# reference/catalog-sync.md §1.2: "SKU id is an int32 (max 2,147,483,647)".
MAX_SKU_ID = INT32_MAX


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"not a boolean: {value!r}")


def _decimal(value: Any) -> Decimal:
    """A JSON number (or numeric text) as a finite Decimal; bools are no numbers."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a number: {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _optional_decimal(value: Any) -> Decimal | None:
    return None if value is None or value == "" else _decimal(value)


def _decimal_or_zero(value: Any) -> Decimal:
    return Decimal(0) if value is None or value == "" else _decimal(value)


def _int(value: Any, default: int | None = None) -> int:
    if value is None or value == "":
        if default is None:
            raise ValueError("a whole number is missing")
        return default
    if isinstance(value, bool):
        raise ValueError(f"not a whole number: {value!r}")
    number = _decimal(value)
    if number != number.to_integral_value():
        raise ValueError(f"not a whole number: {value!r}")
    return int(number)


def sku_id_of(value: Any) -> int:
    """A VTEX SKU id as Catalog gives it: a positive int32 (catalog-sync.md §1.2). Logistics treats
    ``0123`` and ``123`` as different SKUs, so text with a leading zero (or a sign, or spaces) is refused
    rather than silently read as another SKU."""
    if isinstance(value, bool):
        raise ValueError(f"not a SKU id: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and not value.startswith("0"):
        number = int(value)
    else:
        raise ValueError(f"not a SKU id: {value!r}")
    if not 1 <= number <= MAX_SKU_ID:
        raise ValueError(f"a SKU id lies between 1 and {MAX_SKU_ID}: {value!r}")
    return number


def _moment(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware datetime (one without an offset is UTC); None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso_text(value: Any) -> str | None:
    """An ISO 8601 date or timestamp kept as VARIO wrote it, after checking it is one."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not an ISO 8601 date: {value!r}")
    datetime.fromisoformat(value)  # raises ValueError on anything else
    return value


# --- VTEX Catalog (catalog-sync.md §1.2) ----------------------------------------------------------------


@dataclass(frozen=True)
class VtexSku:
    """A VTEX SKU as the mapping needs it: its id, whether it is active, and the keys it is found by.

    Read from two shapes: Get SKU by reference ID (``Id, ProductId, IsActive, Name, RefId``) and the SKU
    context of Get SKU by EAN (``Id, ProductId, IsActive, SkuName, AlternateIds{Ean, RefId}``)."""

    id: int
    product_id: int | None
    is_active: bool
    name: str
    ref_id: str
    eans: tuple[str, ...] = ()

    @classmethod
    def from_sku_json(cls, data: Mapping[str, Any]) -> VtexSku:
        ean = _optional_str(data.get("Ean"))
        return cls(
            id=sku_id_of(data["Id"]),
            product_id=_int(data["ProductId"]) if data.get("ProductId") is not None else None,
            is_active=_bool(data.get("IsActive")),
            name=_str(data.get("Name")),
            ref_id=_str(data.get("RefId")),
            eans=(ean,) if ean else (),
        )

    @classmethod
    def from_context_json(cls, data: Mapping[str, Any]) -> VtexSku:
        alternate = data.get("AlternateIds") or {}
        if not isinstance(alternate, Mapping):
            raise TypeError("AlternateIds is not an object")
        ean = _optional_str(alternate.get("Ean"))
        return cls(
            id=sku_id_of(data["Id"]),
            product_id=_int(data["ProductId"]) if data.get("ProductId") is not None else None,
            is_active=_bool(data.get("IsActive")),
            name=_str(data.get("SkuName") or data.get("NameComplete")),
            ref_id=_str(alternate.get("RefId")),
            eans=(ean,) if ean else (),
        )


# --- VTEX Logistics (catalog-sync.md §1.3, §1.4) -------------------------------------------------------------


@dataclass(frozen=True)
class VtexWarehouse:
    id: str  # case-sensitive (catalog-sync.md §1.3): compare exactly
    name: str
    is_active: bool
    priority: int = 0
    dock_ids: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VtexWarehouse:
        docks = data.get("warehouseDocks") or ()
        return cls(
            id=_str(data["id"]),
            name=_str(data.get("name")),
            # A warehouse without the flag is taken as active: the list shows it, and the spec's examples
            # always carry the flag, so a missing one is no reason to refuse its stock.
            is_active=_bool(data.get("isActive"), default=True),
            priority=_int(data.get("priority"), default=0),
            dock_ids=tuple(_str(dock["dockId"]) for dock in docks),
        )


@dataclass(frozen=True)
class VtexInventoryBalance:
    """One warehouse's line of Inventory by SKU. ``available`` = total − reserved and may be negative
    (catalog-sync.md §1.4.4)."""

    warehouse_id: str
    warehouse_name: str
    total_quantity: int
    reserved_quantity: int
    unlimited: bool
    lead_time: str
    date_of_supply: str | None = None

    @property
    def available_quantity(self) -> int:
        return self.total_quantity - self.reserved_quantity

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VtexInventoryBalance:
        return cls(
            warehouse_id=_str(data["warehouseId"]),
            warehouse_name=_str(data.get("warehouseName")),
            total_quantity=_int(data.get("totalQuantity"), default=0),
            reserved_quantity=_int(data.get("reservedQuantity"), default=0),
            unlimited=_bool(data.get("hasUnlimitedQuantity")),
            lead_time=_str(data.get("leadTime")) or "00:00:00",
            date_of_supply=_optional_str(data.get("dateOfSupplyUtc")),
        )


@dataclass(frozen=True)
class VtexInventory:
    """Inventory by SKU (``InventoryBySku``): the SKU's balance in each warehouse that has one."""

    sku_id: str
    balances: tuple[VtexInventoryBalance, ...]

    def balance_in(self, warehouse_id: str) -> VtexInventoryBalance | None:
        """The balance in exactly this warehouse (ids are case-sensitive, §1.3); None when VTEX shows none."""
        return next((balance for balance in self.balances if balance.warehouse_id == warehouse_id), None)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VtexInventory:
        balances = data.get("balance") or ()
        if not isinstance(balances, Sequence) or isinstance(balances, str):
            raise TypeError("balance is not a list")
        return cls(sku_id=_str(data["skuId"]), balances=tuple(VtexInventoryBalance.from_json(b) for b in balances))


# --- VTEX Pricing (catalog-sync.md §1.5) ---------------------------------------------------------------------


@dataclass(frozen=True)
class VtexFixedPrice:
    """A fixed price of one price table (a trade policy id or a table name), optionally from a quantity
    on and within a date range (RFC 3339 ``from``/``to``). Also what the portal sends: see
    ``VtexPricingClient.update_price``."""

    trade_policy_id: str
    value: Decimal
    list_price: Decimal | None = None
    min_quantity: int = 1
    date_from: str | None = None
    date_to: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VtexFixedPrice:
        date_range = data.get("dateRange") or {}
        if not isinstance(date_range, Mapping):
            raise TypeError("dateRange is not an object")
        return cls(
            trade_policy_id=_str(data["tradePolicyId"]),
            value=_decimal(data["value"]),
            list_price=_optional_decimal(data.get("listPrice")),
            min_quantity=_int(data.get("minQuantity"), default=1),
            date_from=_optional_str(date_range.get("from")),
            date_to=_optional_str(date_range.get("to")),
        )


@dataclass(frozen=True)
class VtexPrice:
    """Get price (``GetPrice``): the SKU's base, list and cost price, markup and all its fixed prices."""

    item_id: str
    base_price: Decimal | None
    list_price: Decimal | None
    cost_price: Decimal | None
    markup: Decimal | None
    fixed_prices: tuple[VtexFixedPrice, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VtexPrice:
        fixed = data.get("fixedPrices") or ()
        if not isinstance(fixed, Sequence) or isinstance(fixed, str):
            raise TypeError("fixedPrices is not a list")
        return cls(
            item_id=_str(data["itemId"]),
            base_price=_optional_decimal(data.get("basePrice")),
            list_price=_optional_decimal(data.get("listPrice")),
            cost_price=_optional_decimal(data.get("costPrice")),
            markup=_optional_decimal(data.get("markup")),
            fixed_prices=tuple(VtexFixedPrice.from_json(item) for item in fixed),
        )


# --- VARIO (catalog-sync.md §3.3: the working contract's queries Q1, Q2, Q3 and the RRP query) --------------


@dataclass(frozen=True)
class ErpListing:
    """One article's listing in a sales channel (Q1, ``article.shopListing``).

    ``ean`` is the first identifier named EAN: the simulator flattens it to ``ean`` (§3.3, A); rows
    with ``identifiers.name``/``identifiers.value`` are read too."""

    article_id: str
    article_number: str
    active: bool
    product_type: str
    sellable_without_stock: bool
    ean: str
    listing_id: str
    listed: bool
    sales_channel_id: str
    vtex_sku_id: str  # the portal's custom field on the listing (listings.custom.vtexportal.vtexSkuId)
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ErpListing:
        ean = row.get("ean")
        if ean is None and _str(row.get("identifiers.name")).upper() == "EAN":
            ean = row.get("identifiers.value")
        return cls(
            article_id=_str(row["id"]),
            article_number=_str(row.get("articleNumber")),
            active=_bool(row.get("active")),
            product_type=_str(row.get("productType")),
            sellable_without_stock=_bool(row.get("sellableWithoutStock")),
            ean=_str(ean),
            listing_id=_str(row.get("listings.id")),
            listed=_bool(row.get("listings.listed")),
            sales_channel_id=_str(row.get("listings.salesChannel.id")),
            vtex_sku_id=_str(row.get("listings.custom.vtexportal.vtexSkuId")),
            updated_at=_moment(row.get("info.updatedAt")),
        )


@dataclass(frozen=True)
class ErpListingPage:
    """A page of a channel's listed articles, ordered by article id; ``next_after_id`` is the cursor of
    the next page (the last article id here), None when this page was the last."""

    listings: tuple[ErpListing, ...]
    next_after_id: int | None


@dataclass(frozen=True)
class ErpArticle:
    """An article as ``article.queryArticles`` shows it (reference/vario-erp.md §4.5)."""

    id: str
    article_number: str
    ean: str
    active: bool

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ErpArticle:
        return cls(
            id=_str(row["id"]),
            article_number=_str(row.get("articleNumber")),
            ean=_str(row.get("ean")),
            active=_bool(row.get("active")),
        )


@dataclass(frozen=True)
class ErpStockRow:
    """An article's stock in one storage (Q2, mirroring VARIO's ``ArticleStorage``). Quantities are
    decimal (non-piece units) and ``stock_available`` may be negative (§3.3)."""

    article_id: str
    article_number: str
    storage_id: str
    storage_number: str
    quantity_in_stock: Decimal
    reserved_quantity: Decimal
    quantity_in_picking: Decimal
    stock_available: Decimal
    updated_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ErpStockRow:
        return cls(
            article_id=_str(row["articleId"]),
            article_number=_str(row.get("articleNumber")),
            storage_id=_str(row["storage.id"]),
            storage_number=_str(row.get("storage.number")),
            quantity_in_stock=_decimal_or_zero(row.get("quantityInStock")),
            reserved_quantity=_decimal_or_zero(row.get("reservedQuantity")),
            quantity_in_picking=_decimal_or_zero(row.get("quantityInPicking")),
            # The figure pushed to VTEX (§3.5 step 7): never defaulted, a row without it is unreadable.
            stock_available=_decimal(row["stockAvailable"]),
            updated_at=_moment(row.get("info.updatedAt")),
        )


@dataclass(frozen=True)
class ErpStock:
    """Q2's rows for a batch of articles and when the query was sent: the moment the ERP figures are at
    least as new as, which the inventory PUT sends as ``dateUtcOnBalanceSystem`` (§3.4, §1.4.4)."""

    read_at: datetime
    rows: tuple[ErpStockRow, ...]


@dataclass(frozen=True)
class ErpSalesPrice:
    """A sales price row (Q3, mirroring VARIO's ``ProductPrice``). ``valid_from``/``valid_until`` are ISO
    8601 text as VARIO sends it (a date or a timestamp: §3.3 does not say which)."""

    id: str
    article_id: str
    price_group_id: str
    sales_channel_id: str | None
    account_id: str | None
    currency_code: str
    net_price: Decimal | None
    gross_price: Decimal | None
    price_base: str
    from_quantity: Decimal
    valid_from: str | None
    valid_until: str | None
    special_offer: bool

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ErpSalesPrice:
        return cls(
            id=_str(row["id"]),
            article_id=_str(row["articleId"]),
            price_group_id=_str(row.get("priceGroup.id")),
            sales_channel_id=_optional_str(row.get("salesChannel.id")),
            account_id=_optional_str(row.get("account.id")),
            currency_code=_str(row.get("currencyCode")),
            net_price=_optional_decimal(row.get("netPrice")),
            gross_price=_optional_decimal(row.get("grossPrice")),
            price_base=_str(row.get("priceBase")),
            from_quantity=_decimal(row["fromQuantity"]) if row.get("fromQuantity") is not None else Decimal(1),
            valid_from=_iso_text(row.get("validFrom")),
            valid_until=_iso_text(row.get("validUntil")),
            special_offer=_bool(row.get("specialOfferPrice")),
        )


@dataclass(frozen=True)
class ErpRecommendedPrice:
    """A recommended retail price (RRP, UVP) of an article in a country and currency: the candidate list
    price (§3.3, ``article.queryRecommendedRetailPrices``)."""

    id: str
    article_id: str
    country_code: str
    currency_code: str
    value: Decimal

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ErpRecommendedPrice:
        return cls(
            id=_str(row["id"]),
            article_id=_str(row["articleRef.id"]),
            country_code=_str(row.get("countryCode")),
            currency_code=_str(row.get("currencyCode")),
            value=_decimal(row["value"]),
        )
