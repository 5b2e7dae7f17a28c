"""Pure: the ERP's stock and prices of an article → what VTEX should show, and what of it VTEX was not told yet.

No I/O, no models: the push (``sync.catalog.push``) reads both sides and the configuration, this module
decides. Reference: catalog-sync.md §3.3 (the price selection rule), §3.4 (the inventory and price bodies,
validation), §3.5 (send only what differs from what was last sent).

Stock (§3.4): per VTEX warehouse, ``quantity = max(0, floor(Σ stock field over the warehouse's mapped VARIO
storages − safety stock))``; storages no warehouse maps are ignored (§3.1, §3.7 #6b); a negative sum sends 0
with a warning (§3.7 #4); ``unlimitedQuantity`` when the channel says so and the listing is sellable without
stock (§3.7 #12); the lead time from the configuration, always sent (§1.8 pitfall 1).

Price (§3.3, §3.4): the base price is the selected row of the base price group, gross or net, rounded half-up
to cents; the list price (RRP or a price group) is sent only when above the price (§3.7 #5), for fixed prices
likewise against their value; each mapped price table gets the selected row of its group as a fixed price
from quantity 1 and each quantity tier (``fromQuantity`` > 1) as one from that quantity (§3.7 #14); every
amount must be finite and above 0 and in the channel's currency, or nothing is sent: ``INVALID_PRICE``
(§3.7 #13).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from sync.clients.catalog_dtos import (
    INT32_MAX,
    ErpRecommendedPrice,
    ErpSalesPrice,
    ErpStockRow,
    VtexFixedPrice,
)
from sync.clients.vtex_pricing import fixed_price_body, money

CENT = Decimal("0.01")
INVALID_PRICE = "INVALID_PRICE"
# The inventory body's fields that say what VTEX shows; ``dateUtcOnBalanceSystem`` changes with every read
# and is no reason to write again (§1.4.2).
STOCK_FIELDS = ("quantity", "unlimitedQuantity", "leadTime")
STOCK_AVAILABLE = "stockAvailable"
QUANTITY_IN_STOCK = "quantityInStock"


# --- stock --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StockRules:
    """What a channel's configuration says about stock (``mappings.selectors.CatalogConfig``, §3.1)."""

    warehouses: Mapping[str, tuple[str, ...]]  # VTEX warehouse id → the VARIO storage ids it sums
    stock_field: str = STOCK_AVAILABLE
    safety_stock: int = 0
    lead_time: str = "00:00:00"
    unlimited_when_sellable_without_stock: bool = False


@dataclass(frozen=True)
class InventoryTarget:
    """What one VTEX warehouse should show for one SKU."""

    warehouse_id: str
    quantity: int
    unlimited: bool
    lead_time: str

    def body(self) -> dict:
        """The fields of the inventory PUT that say what VTEX shows (``STOCK_FIELDS``)."""
        return {"quantity": self.quantity, "unlimitedQuantity": self.unlimited, "leadTime": self.lead_time}


@dataclass(frozen=True)
class StockPlan:
    article_id: str
    targets: tuple[InventoryTarget, ...]  # one per mapped warehouse, by warehouse id
    warnings: tuple[str, ...] = ()
    ignored_storages: tuple[str, ...] = ()  # storages with stock that no warehouse maps (§3.7 #6b)

    def changes(self, last_sent: Mapping[str, Mapping] | None, *, force: bool = False) -> tuple[InventoryTarget, ...]:
        """The targets VTEX was not last told (all of them with ``force``: a reconciliation found VTEX
        showing something else, §3.5)."""
        if force:
            return self.targets
        last_sent = last_sent or {}
        return tuple(t for t in self.targets if not stock_sent_matches(last_sent.get(t.warehouse_id), t))


def stock_sent_matches(sent: Mapping | None, target: InventoryTarget) -> bool:
    """Whether the body last sent for the warehouse says what ``target`` says (the balance time aside)."""
    if not isinstance(sent, Mapping):
        return False
    return {field: sent.get(field) for field in STOCK_FIELDS} == target.body()


def _stock_value(row: ErpStockRow, field: str) -> Decimal:
    if field == QUANTITY_IN_STOCK:
        return row.quantity_in_stock
    if field == STOCK_AVAILABLE:
        return row.stock_available
    raise ValueError(f"unknown stock field {field!r}")


def stock_plan(
    *, article_id: str, rows: Iterable[ErpStockRow], rules: StockRules, sellable_without_stock: bool = False
) -> StockPlan:
    """The inventory every mapped warehouse should show for one article (module docstring).

    Steps:
    1. Sum the configured stock field over each warehouse's storages (a storage without a row has 0, the
       simulator's rule and VARIO's likely one: no booking, no row); rows of other articles are not this one's.
    2. Subtract the safety stock, round down to whole units (VTEX counts whole units; a fraction of a
       non-piece unit is not sellable), never below 0 (a warning when the ERP figure itself is negative),
       never above int32.
    3. Unlimited when the channel sends listings sellable without stock as unlimited and this one is.
    """
    storage_warehouse = {s: wh for wh, storages in rules.warehouses.items() for s in storages}
    sums: dict[str, Decimal] = {wh: Decimal(0) for wh in rules.warehouses}
    ignored: set[str] = set()
    # 1.
    for row in rows:
        if row.article_id != article_id:
            continue
        warehouse = storage_warehouse.get(row.storage_id)
        if warehouse is None:
            ignored.add(row.storage_id)
            continue
        sums[warehouse] += _stock_value(row, rules.stock_field)
    # 2.
    warnings = []
    unlimited = rules.unlimited_when_sellable_without_stock and sellable_without_stock
    targets = []
    for warehouse in sorted(sums):
        total = sums[warehouse]
        if total < 0:
            warnings.append(
                f"Article {article_id}: the ERP's stock for warehouse {warehouse} is {total}; VTEX gets 0 "
                "(stock sent to VTEX is never negative)."
            )
        quantity = int((total - rules.safety_stock).to_integral_value(rounding=ROUND_FLOOR))
        if quantity > INT32_MAX:
            warnings.append(f"Article {article_id}: stock {quantity} for {warehouse} is capped at {INT32_MAX}.")
        # 3.
        targets.append(
            InventoryTarget(
                warehouse_id=warehouse,
                quantity=min(max(quantity, 0), INT32_MAX),
                unlimited=unlimited,
                lead_time=rules.lead_time,
            )
        )
    return StockPlan(
        article_id=article_id,
        targets=tuple(targets),
        warnings=tuple(warnings),
        ignored_storages=tuple(sorted(ignored)),
    )


# --- prices -------------------------------------------------------------------------------------------------

GROSS = "gross"
NET = "net"
LIST_NONE = "none"
LIST_RRP = "rrp"
LIST_PRICE_GROUP = "price_group"


@dataclass(frozen=True)
class TableRule:
    """A VTEX price table whose fixed prices come from a VARIO price group, gross or net."""

    vtex_price_table: str
    vario_price_group_id: str
    price_mode: str


@dataclass(frozen=True)
class PriceRules:
    """What a channel's configuration says about prices (``mappings.selectors.CatalogConfig``, §3.1)."""

    sales_channel_id: str  # VARIO's: rows of this channel are preferred over rows of none (§3.3)
    currency: str
    price_mode: str
    base_price_group_id: str
    list_price_source: str = LIST_NONE
    list_price_group_id: str = ""
    list_price_country: str = ""
    tables: tuple[TableRule, ...] = ()


@dataclass(frozen=True)
class PriceTarget:
    """The whole price VTEX should show for one SKU: the PUT replaces every fixed price (§1.5.2)."""

    base_price: Decimal
    list_price: Decimal | None
    fixed_prices: tuple[VtexFixedPrice, ...]
    warnings: tuple[str, ...] = ()

    def body(self) -> dict:
        """The PUT's body exactly as ``VtexPricingClient.update_price`` sends it: what is recorded as last sent,
        so "unchanged" compares like with like."""
        body: dict = {"basePrice": money(self.base_price, "basePrice")}
        if self.list_price is not None:
            body["listPrice"] = money(self.list_price, "listPrice")
        body["fixedPrices"] = [fixed_price_body(fixed) for fixed in self.fixed_prices]
        return body

    def changed(self, last_sent: Mapping | None, *, force: bool = False) -> bool:
        return force or not isinstance(last_sent, Mapping) or dict(last_sent) != self.body()


@dataclass(frozen=True)
class PriceInvalid:
    """The ERP's price cannot be sent (§3.4 validation): the item fails with ``INVALID_PRICE``, no VTEX call."""

    message: str
    code: str = INVALID_PRICE


def _moment_or_day(text: str) -> datetime | date:
    if "T" in text or " " in text:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return date.fromisoformat(text)


def price_valid_at(row: ErpSalesPrice, now: datetime) -> bool:
    """Whether ``now`` lies within the row's ``[validFrom, validUntil]``, both ends included. VARIO sends a date
    or a timestamp (§3.3 does not say which): a date is compared with ``now``'s date, in ``now``'s time zone."""
    for text, after in ((row.valid_from, False), (row.valid_until, True)):
        if not text:
            continue
        bound = _moment_or_day(text)
        here = now if isinstance(bound, datetime) else now.date()
        if (here > bound) if after else (here < bound):
            return False
    return True


def _id_order(row: ErpSalesPrice) -> tuple[int, str]:
    return (int(row.id), row.id) if row.id.isdigit() else (-1, row.id)


def price_rows_applicable(
    rows: Iterable[ErpSalesPrice], *, article_id: str, group: str, sales_channel_id: str, now: datetime
) -> list[ErpSalesPrice]:
    """The rows §3.3's rule may choose from for (article, price group, channel): no account's own price, this
    channel's or no channel's, valid now."""
    return [
        row
        for row in rows
        if row.article_id == article_id
        and row.price_group_id == group
        and row.account_id is None
        and row.sales_channel_id in (None, sales_channel_id)
        and price_valid_at(row, now)
    ]


def price_row_chosen(rows: Sequence[ErpSalesPrice], *, sales_channel_id: str) -> ErpSalesPrice | None:
    """§3.3's preference among applicable rows of one tier: the channel's own over none, a (valid) special offer
    over a normal price, then the highest id."""
    if not rows:
        return None
    return max(rows, key=lambda r: (r.sales_channel_id == sales_channel_id, r.special_offer, _id_order(r)))


def _amount(row: ErpSalesPrice, mode: str) -> Decimal | None:
    value = row.gross_price if mode == GROSS else row.net_price
    return None if value is None else value.quantize(CENT, rounding=ROUND_HALF_UP)


class _Invalid(Exception):
    pass


def _checked(row: ErpSalesPrice, *, mode: str, currency: str, what: str) -> Decimal:
    """The row's amount in ``mode``, rounded half-up to cents, or ``_Invalid`` saying why it cannot be sent."""
    if row.currency_code != currency:
        raise _Invalid(f"{what} (VARIO price {row.id}) is in {row.currency_code or 'no currency'}, not {currency}.")
    amount = _amount(row, mode)
    if amount is None:
        raise _Invalid(f"{what} (VARIO price {row.id}) has no {mode} price.")
    if not amount.is_finite() or amount <= 0:
        raise _Invalid(f"{what} (VARIO price {row.id}) is {amount}: a price must be above 0.")
    try:
        money(amount, what)
    except ValueError as exc:
        raise _Invalid(str(exc)) from None
    return amount


def _min_quantity(from_quantity: Decimal) -> int:
    """VTEX's ``minQuantity`` (a whole number ≥ 1) for VARIO's ``fromQuantity`` (decimal for non-piece units):
    the first whole quantity the tier applies to."""
    if from_quantity <= 1:
        return 1
    return min(int(from_quantity.to_integral_value(rounding=ROUND_CEILING)), INT32_MAX)


def _list_price(
    *,
    article_id: str,
    prices: Sequence[ErpSalesPrice],
    rrps: Iterable[ErpRecommendedPrice],
    rules: PriceRules,
    now: datetime,
    warnings: list[str],
) -> Decimal | None:
    if rules.list_price_source == LIST_RRP:
        mine = [
            r
            for r in rrps
            if r.article_id == article_id
            and r.country_code == rules.list_price_country
            and r.currency_code == rules.currency
        ]
        if not mine:
            return None
        chosen = max(mine, key=lambda r: (int(r.id), r.id) if r.id.isdigit() else (-1, r.id))
        value = chosen.value.quantize(CENT, rounding=ROUND_HALF_UP)
    elif rules.list_price_source == LIST_PRICE_GROUP and rules.list_price_group_id:
        applicable = price_rows_applicable(
            prices,
            article_id=article_id,
            group=rules.list_price_group_id,
            sales_channel_id=rules.sales_channel_id,
            now=now,
        )
        first_tier = [r for r in applicable if r.from_quantity <= 1]
        chosen = price_row_chosen(first_tier, sales_channel_id=rules.sales_channel_id)
        if chosen is None or chosen.currency_code != rules.currency:
            return None
        value = _amount(chosen, rules.price_mode)
        if value is None:
            return None
    else:
        return None
    # A list price VTEX cannot take is left out, not a reason to hold the price back: it is only the "was"
    # price struck through.
    if not value.is_finite() or value <= 0:
        warnings.append(f"Article {article_id}: list price {value} is not above 0 and is not sent.")
        return None
    return value


def _above(list_price: Decimal | None, value: Decimal) -> Decimal | None:
    """§3.4: a list price is sent only when it is above the price it goes with (§3.7 #5)."""
    return list_price if list_price is not None and list_price > value else None


def price_plan(
    *,
    article_id: str,
    prices: Iterable[ErpSalesPrice],
    rrps: Iterable[ErpRecommendedPrice] = (),
    rules: PriceRules,
    now: datetime,
) -> PriceTarget | PriceInvalid:
    """The whole price VTEX should show for one article, or why it cannot be sent (module docstring).

    Steps:
    1. The base price: the chosen row (§3.3's rule, tier ≤ 1) of the base price group, in the channel's price
       mode and currency, rounded half-up to cents, above 0 (else ``INVALID_PRICE``).
    2. The list price from its source (RRP of the country and currency, or a price group), kept only when
       above the base price.
    3. Per mapped price table, in its own mode: the chosen row of each quantity tier of its group as a fixed
       price from that quantity (a tier is ``fromQuantity``; two that round to the same whole quantity keep
       the higher one's row), each validated like the base price, with the list price when above its value.
    """
    rows = [row for row in prices if row.article_id == article_id]
    try:
        # 1.
        channel = rules.sales_channel_id
        base_rows = price_rows_applicable(
            rows, article_id=article_id, group=rules.base_price_group_id, sales_channel_id=channel, now=now
        )
        base_row = price_row_chosen([r for r in base_rows if r.from_quantity <= 1], sales_channel_id=channel)
        if base_row is None:
            raise _Invalid(
                f"VARIO has no valid sales price of price group {rules.base_price_group_id} for article {article_id}."
            )
        base = _checked(base_row, mode=rules.price_mode, currency=rules.currency, what="The base price")
        # 2.
        warnings: list[str] = []
        list_price = _list_price(article_id=article_id, prices=rows, rrps=rrps, rules=rules, now=now, warnings=warnings)
        # 3.
        fixed: list[VtexFixedPrice] = []
        for table in sorted(rules.tables, key=lambda t: t.vtex_price_table):
            applicable = price_rows_applicable(
                rows,
                article_id=article_id,
                group=table.vario_price_group_id,
                sales_channel_id=rules.sales_channel_id,
                now=now,
            )
            tiers: dict[int, tuple[Decimal, ErpSalesPrice]] = {}
            for from_quantity in sorted({r.from_quantity for r in applicable}):
                chosen = price_row_chosen(
                    [r for r in applicable if r.from_quantity == from_quantity], sales_channel_id=rules.sales_channel_id
                )
                if chosen is not None:
                    tiers[_min_quantity(from_quantity)] = (from_quantity, chosen)  # ascending: the higher wins
            for min_quantity, (_, row) in sorted(tiers.items()):
                value = _checked(
                    row,
                    mode=table.price_mode,
                    currency=rules.currency,
                    what=f"The fixed price of table {table.vtex_price_table} from {min_quantity}",
                )
                fixed.append(
                    VtexFixedPrice(
                        trade_policy_id=table.vtex_price_table,
                        value=value,
                        list_price=_above(list_price, value),
                        min_quantity=min_quantity,
                    )
                )
    except _Invalid as exc:
        return PriceInvalid(str(exc))
    return PriceTarget(
        base_price=base,
        list_price=_above(list_price, base),
        fixed_prices=tuple(fixed),
        warnings=tuple(warnings),
    )
