"""Pricing v2: a SKU's base price, cost and markup, list price and fixed prices per price table
(reference §1.5, working contract §3.4).

- Money is a decimal number of currency units (``19.99``), not cents.
- ``PUT /pricing/prices/{itemId}`` **replaces** the fixed prices: the ones not in its
  ``fixedPrices`` are deleted; an empty list deletes all (§1.5.2, C). A PUT without the
  ``fixedPrices`` key keeps them: the working contract's ``preserveForeignFixedPrices`` mode sends
  such a PUT and then ``PATCH …/fixed`` (§3.4, A).
- Exactly two of ``basePrice``/``costPrice``/``markup``, or ``basePrice`` alone (the others then
  follow from it): all three → 400 (§1.5.2, C).
- Accepted although wrong, and **flagged** in the control API's state: negative prices (KI 774548)
  and a list price below the price it belongs to.
"""

from __future__ import annotations

import re

from sandbox import clock
from sandbox.vtex_catalog.errors import CatalogError, ControlError, bad_request, price_not_found, vtex_error
from sandbox.vtex_catalog.models import Price, PriceTable, Sku
from sandbox.vtex_catalog.values import INT32_MAX, is_money, is_whole, moment_of, sku_id_of

_ITEM_ID = re.compile(r"[0-9]{1,19}")
MARKUP_MAX = 10**6
TABLE_ID_MAX = 100


def _number(value: float | None):
    """JSON number as VTEX writes it: ``250`` for a whole amount, ``19.99`` otherwise."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def pricing_sku(*, account: str, value: str) -> Sku:
    """The SKU an ``itemId`` path names: the spec types it integer (not digits → 400, unknown → 404)."""
    if not _ITEM_ID.fullmatch(value):
        raise bad_request("SBX-INVALID-ITEM-ID", "itemId must be an integer")
    number = int(value)
    sku = Sku.objects.filter(account=account, sku_id=number).first() if 1 <= number <= INT32_MAX else None
    if sku is None:
        raise vtex_error(404, "SBX-SKU-NOT-FOUND", f"SKU {number} not found")
    return sku


def _price(sku: Sku) -> Price:
    price = Price.objects.filter(sku=sku).first()
    if price is None:
        raise price_not_found(sku.sku_id)
    return price


def tables(account: str) -> list[str]:
    return list(PriceTable.objects.filter(account=account).values_list("table_id", flat=True))


# --- answers ----------------------------------------------------------------------------------------


def fixed_json(entry: dict) -> dict:
    body = {
        "tradePolicyId": entry["tradePolicyId"],
        "value": _number(entry["value"]),
        "listPrice": _number(entry.get("listPrice")),
        "minQuantity": entry["minQuantity"],
    }
    if entry.get("dateRange"):
        body["dateRange"] = dict(entry["dateRange"])
    return body


def price_json(price: Price) -> dict:
    """``GET /pricing/prices/{itemId}``."""
    return {
        "itemId": str(price.sku.sku_id),
        "listPrice": _number(price.list_price),
        "costPrice": _number(price.cost_price),
        "markup": price.markup,
        "basePrice": _number(price.base_price),
        "fixedPrices": [fixed_json(e) for e in price.fixed_prices],
    }


def price_get(*, account: str, value: str) -> dict:
    return price_json(_price(pricing_sku(account=account, value=value)))


def fixed_get(*, account: str, value: str, table: str | None = None) -> list[dict]:
    """``GET …/fixed`` and ``GET …/fixed/{priceTableId}``."""
    entries = _price(pricing_sku(account=account, value=value)).fixed_prices
    return [fixed_json(e) for e in entries if table is None or e["tradePolicyId"] == table]


# --- reading a body -----------------------------------------------------------------------------------


def _money(data: dict, key: str, *, required: bool = False) -> float | None:
    value = data.get(key)
    if value is None:
        if required:
            raise bad_request("SBX-INVALID-PRICE", f"{key} is required")
        return None
    if not is_money(value):
        raise bad_request("SBX-INVALID-PRICE", f"{key} must be a finite number")
    return float(value)


def _base(data: dict) -> tuple[float, float, int]:
    """(basePrice, costPrice, markup): two given, or basePrice alone; the third follows.

    ``basePrice = costPrice × (1 + markup/100)``, markup a whole percentage (reference §1.5, spec).
    """
    base, cost = _money(data, "basePrice"), _money(data, "costPrice")
    markup = data.get("markup")
    if markup is not None and (not is_whole(markup) or not -100 < markup <= MARKUP_MAX):
        raise bad_request("SBX-INVALID-PRICE", "markup must be a whole percentage above -100")
    given = [name for name, v in (("basePrice", base), ("costPrice", cost), ("markup", markup)) if v is not None]
    if len(given) == 3:
        raise bad_request(
            "SBX-PRICE-OVERDETERMINED",
            "Provide exactly two values among basePrice, costPrice and markup; all three were sent",
        )
    if base is None:
        if cost is None or markup is None:
            raise bad_request("SBX-INVALID-PRICE", "Provide basePrice, or costPrice and markup")
        return round(cost * (1 + markup / 100), 2), cost, markup
    if cost is not None:
        derived = round((base / cost - 1) * 100) if cost else 0
        if not -100 < derived <= MARKUP_MAX:
            raise bad_request("SBX-INVALID-PRICE", "basePrice and costPrice give a markup out of range")
        return base, cost, derived
    if markup is not None:
        return base, round(base / (1 + markup / 100), 2), markup
    return base, base, 0  # basePrice alone: cost and markup "adapt to the number inserted" (spec)


def _fixed_entry(item, *, known_tables: set[str], table: str | None = None, default_min: int | None = None) -> dict:
    """One fixed price: table (the path's, or ``tradePolicyId``), value, listPrice, minQuantity, dateRange."""
    if not isinstance(item, dict):
        raise bad_request("SBX-INVALID-FIXED-PRICE", "A fixed price must be a JSON object")
    trade_policy = table if table is not None else item.get("tradePolicyId")
    if not isinstance(trade_policy, str) or not trade_policy or len(trade_policy) > TABLE_ID_MAX:
        raise bad_request("SBX-INVALID-FIXED-PRICE", "tradePolicyId (a trade policy or price table) is required")
    if trade_policy not in known_tables:
        # choice: VTEX's answer to an unknown table is not published; refusing it shows a bad map at once.
        raise bad_request("SBX-UNKNOWN-PRICE-TABLE", f"Price table {trade_policy!r} does not exist")
    value = _money(item, "value", required=True)
    list_price = _money(item, "listPrice")
    min_quantity = item.get("minQuantity", default_min)
    if not is_whole(min_quantity) or not 1 <= min_quantity <= INT32_MAX:
        raise bad_request("SBX-INVALID-FIXED-PRICE", "minQuantity must be a whole number ≥ 1")
    entry = {"tradePolicyId": trade_policy, "value": value, "listPrice": list_price, "minQuantity": min_quantity}
    date_range = item.get("dateRange")
    if date_range is not None:
        if not isinstance(date_range, dict):
            raise bad_request("SBX-INVALID-DATE-RANGE", "dateRange must be an object with from and to")
        try:
            start, end = (moment_of(date_range.get(k), require_offset=True) for k in ("from", "to"))
        except ValueError:
            raise bad_request(
                "SBX-INVALID-DATE-RANGE", "dateRange from and to must be RFC 3339 with an offset"
            ) from None
        if start >= end:
            # reference §1.5.2: "identical from/to may fail"; the simulator always refuses (choice).
            raise bad_request("SBX-INVALID-DATE-RANGE", "dateRange from must lie before to")
        entry["dateRange"] = {"from": date_range["from"], "to": date_range["to"]}
    return entry


def _key(entry: dict) -> tuple:
    """What identifies a fixed price: table, minQuantity and dateRange (reference §1.5.3)."""
    date_range = entry.get("dateRange") or {}
    return entry["tradePolicyId"], entry["minQuantity"], date_range.get("from"), date_range.get("to")


def _fixed_list(items, *, known_tables: set[str], table: str | None = None, default_min: int | None = None) -> list:
    if not isinstance(items, list):
        raise bad_request("SBX-INVALID-FIXED-PRICE", "fixed prices must be a JSON array")
    entries = [_fixed_entry(i, known_tables=known_tables, table=table, default_min=default_min) for i in items]
    if len({_key(e) for e in entries}) != len(entries):
        raise bad_request("SBX-DUPLICATE-FIXED-PRICE", "Two fixed prices share table, minQuantity and dateRange")
    return entries


def _upsert(current: list[dict], entries: list[dict]) -> list[dict]:
    replaced = {_key(e): e for e in entries}
    kept = [e for e in current if _key(e) not in replaced]
    return kept + entries


def price_flags(price: Price) -> list[str]:
    """What VTEX accepts although it is wrong, as the price stands now."""
    flags = []
    for name, value in (
        ("basePrice", price.base_price),
        ("costPrice", price.cost_price),
        ("listPrice", price.list_price),
    ):
        if value is not None and value < 0:
            flags.append(f"{name} {value} is negative (KI 774548: accepted, the SKU becomes unavailable)")
    if price.list_price is not None and price.list_price < price.base_price:
        flags.append(f"listPrice {price.list_price} is below basePrice {price.base_price}")
    for entry in price.fixed_prices:
        where = f"fixed price {entry['tradePolicyId']}/{entry['minQuantity']}"
        if entry["value"] < 0:
            flags.append(f"{where}: value {entry['value']} is negative (KI 774548)")
        if entry.get("listPrice") is not None and entry["listPrice"] < entry["value"]:
            flags.append(f"{where}: listPrice {entry['listPrice']} is below value {entry['value']}")
    return flags


# --- writes -------------------------------------------------------------------------------------------


def _save(price: Price, *, sku: Sku) -> None:
    price.sku = sku
    price.flags = price_flags(price)
    price.writes += 1
    price.updated_at = clock.now()
    price.save()


def price_put(*, account: str, value: str, data) -> None:
    """``PUT /pricing/prices/{itemId}``.

    1. The SKU (400/404), then the body: an object with the base-price pair (400 otherwise).
    2. ``fixedPrices``, when the key is there, replaces every fixed price (tables must exist, no two
       with the same table, minQuantity and dateRange); without it the fixed prices stay (§3.4, A).
    3. The price is written whole and its flags recomputed.
    """
    sku = pricing_sku(account=account, value=value)
    price = price_from_body(account=account, sku=sku, data=data, current=Price.objects.filter(sku=sku).first())
    _save(price, sku=sku)


def price_from_body(*, account: str, sku: Sku, data, current: Price | None) -> Price:
    if not isinstance(data, dict):
        raise bad_request("SBX-INVALID-BODY", "The body must be a JSON object")
    base, cost, markup = _base(data)
    list_price = _money(data, "listPrice")
    price = current or Price(sku=sku, fixed_prices=[])
    if "fixedPrices" in data:
        fixed = data["fixedPrices"]
        price.fixed_prices = [] if fixed is None else _fixed_list(fixed, known_tables=set(tables(account)))
    price.base_price, price.cost_price, price.markup, price.list_price = base, cost, markup, list_price
    return price


def price_delete(*, account: str, value: str) -> None:
    """``DELETE /pricing/prices/{itemId}``: the base price and every fixed price (reference §1.5.3)."""
    _price(pricing_sku(account=account, value=value)).delete()


def fixed_patch(*, account: str, value: str, data) -> None:
    """``PATCH …/fixed``: upsert the given fixed prices, keep the others (reference §1.5.3)."""
    sku = pricing_sku(account=account, value=value)
    price = _price(sku)  # choice: fixed prices need a base price first
    entries = _fixed_list(data, known_tables=set(tables(account)), default_min=1)
    price.fixed_prices = _upsert(price.fixed_prices, entries)
    _save(price, sku=sku)


def fixed_table_post(*, account: str, value: str, table: str, data) -> None:
    """``POST …/fixed/{priceTableId}``: create or update fixed prices of one table (upsert, choice)."""
    sku = pricing_sku(account=account, value=value)
    price = _price(sku)
    entries = _fixed_list(data, known_tables=set(tables(account)), table=table)
    price.fixed_prices = _upsert(price.fixed_prices, entries)
    _save(price, sku=sku)


def fixed_table_delete(*, account: str, value: str, table: str) -> None:
    """``DELETE …/fixed/{priceTableId}``: every fixed price of that table."""
    sku = pricing_sku(account=account, value=value)
    price = _price(sku)
    price.fixed_prices = [e for e in price.fixed_prices if e["tradePolicyId"] != table]
    _save(price, sku=sku)


# --- control API ----------------------------------------------------------------------------------------


def prices_set(*, account: str, items) -> int:
    """Control API: set prices directly (no budget), each item a PUT body plus ``skuId``; all checked first."""
    if not isinstance(items, list) or not items or len(items) > 200_000:
        raise ControlError("items must be a non-empty list (at most 200000)")
    skus = {s.sku_id: s for s in Sku.objects.filter(account=account)}
    current = {p.sku_id: p for p in Price.objects.filter(sku__account=account)}
    now = clock.now()
    built = {}
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise ControlError(f"item {n + 1}: must be a JSON object")
        sku = skus.get(sku_id_of(item.get("skuId")))
        if sku is None:
            raise ControlError(f"item {n + 1}: unknown skuId in {account}", status=404)
        try:
            price = price_from_body(account=account, sku=sku, data=item, current=current.get(sku.pk))
        except CatalogError as exc:
            raise ControlError(f"item {n + 1}: {exc.body['error']['message']}") from None
        price.flags, price.updated_at = price_flags(price), now
        built[sku.pk] = price
    fields = ["base_price", "cost_price", "markup", "list_price", "fixed_prices", "flags", "updated_at"]
    Price.objects.bulk_create([p for p in built.values() if p.pk is None], batch_size=2000)
    Price.objects.bulk_update([p for p in built.values() if p.pk is not None], fields, batch_size=2000)
    return len(built)


def price_state(price: Price | None) -> dict | None:
    if price is None:
        return None
    return {
        **price_json(price),
        "flags": price.flags,
        "writes": price.writes,
        "updatedAt": price.updated_at.isoformat(),
    }


def price_rows(*, account: str, sku_ids: list[int] | None = None) -> list[dict]:
    rows = Price.objects.filter(sku__account=account).select_related("sku")
    if sku_ids is not None:
        rows = rows.filter(sku__sku_id__in=sku_ids)
    return [price_state(p) for p in rows]
