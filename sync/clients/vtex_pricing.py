"""VTEX Pricing v2: a SKU's price, its full update, the price tables (reference/catalog-sync.md §1.5, §3.4).

Base URL ``https://api.vtex.com/{account}`` (§1.1); paths start with ``/pricing``. Money is a decimal
number in currency units (``50.5`` = 50.50), sent as a JSON number converted exactly from a ``Decimal``.

Limits (§1.6, the spec's ``info``): ``POST``/``PUT`` 2000 a minute, 33 a second per route and account,
with 500 burst credits; ``GET`` "under review". ``PUBLISHED_RATE`` (33 a second, so at most 1980 a
minute) is the default of every pricing route: the burst credits are left for the remote's clock and
ours to disagree, and GETs, whose limit may come any day, are paced like writes. A 429 here carries
``Retry-After``, "the time, in seconds, until the route accepts a new request"; when it is present "the
current request was rate-limited and not processed" (§1.6). So this client waits exactly that long (its
back-off base, VTEX's minute doubled per repeat, only when the header is missing) and the error says the
write was not applied.

Routes (limiter windows): ``price_read`` (Get price), ``price_write`` (the PUT), ``price_tables``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.views.decorators.debug import sensitive_variables

from sync.clients.catalog_dtos import INT32_MAX, VtexFixedPrice, VtexPrice, sku_id_of
from sync.clients.errors import NotFoundError
from sync.clients.http import Recorder
from sync.clients.limiter import Rate, RemoteLimiter
from sync.clients.vtex import VtexApiClient, VtexCredentials

PUBLISHED_RATE = Rate(33, 1)
ROUTES = ("price_read", "price_write", "price_tables")


def pricing_base_url(account_name: str) -> str:
    """Where VTEX serves Pricing for an account (the spec's only ``servers`` entry, §1.1)."""
    return f"https://api.vtex.com/{account_name}"


def money(value: Decimal, what: str) -> int | float:
    """A positive, finite amount as the JSON number VTEX reads: an int when whole, else the float whose
    shortest text is the same decimal (``Decimal("19.99")`` → ``19.99``). Non-positive amounts are refused:
    VTEX accepts negative prices and then makes the product unavailable (KI 774548, §1.5.2)."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{what} is a Decimal, not {type(value).__name__}")
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{what} must be a finite amount above 0: {value}")
    if value == value.to_integral_value():
        return int(value)
    number = float(value)
    if Decimal(repr(number)) != value:
        raise ValueError(f"{what} has more digits than a JSON number carries exactly: {value}")
    return number


def _moment(text: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"{what} is an RFC 3339 timestamp with its offset: {text!r}") from None
    if moment.tzinfo is None:
        raise ValueError(f"{what} needs its time zone offset (RFC 3339): {text!r}")
    return moment


def fixed_price_body(fixed: VtexFixedPrice) -> dict:
    """One entry of ``fixedPrices`` (the PUT's schema: ``tradePolicyId``, ``value`` and ``minQuantity``
    required). ``listPrice`` and ``dateRange`` are left out when there are none: the schema has no null
    for them."""
    table = fixed.trade_policy_id
    if not isinstance(table, str) or not table or table != table.strip():
        raise ValueError(f"a fixed price names its price table or trade policy: {table!r}")
    if isinstance(fixed.min_quantity, bool) or not isinstance(fixed.min_quantity, int):
        raise ValueError(f"minQuantity is a whole number: {fixed.min_quantity!r}")
    if not 1 <= fixed.min_quantity <= INT32_MAX:
        raise ValueError(f"minQuantity lies between 1 and {INT32_MAX}: {fixed.min_quantity}")
    body: dict = {"tradePolicyId": table, "value": money(fixed.value, f"the fixed price of {table}")}
    if fixed.list_price is not None:
        body["listPrice"] = money(fixed.list_price, f"the fixed list price of {table}")
    body["minQuantity"] = fixed.min_quantity
    if (fixed.date_from is None) != (fixed.date_to is None):
        raise ValueError(f"a fixed price's date range of {table} needs both ends")
    if fixed.date_from is not None and fixed.date_to is not None:
        # "Ensure that `to` is after `from`, identical values may cause an error" (the spec, §1.5.2).
        if _moment(fixed.date_to, "dateRange.to") <= _moment(fixed.date_from, "dateRange.from"):
            raise ValueError(f"a fixed price's date range of {table} ends after it starts")
        body["dateRange"] = {"from": fixed.date_from, "to": fixed.date_to}
    return body


class VtexPricingClient(VtexApiClient):
    @sensitive_variables("credentials")
    def __init__(
        self,
        *,
        credentials: VtexCredentials,
        timeout: tuple[float, float],
        limiter: RemoteLimiter | None = None,
        recorder: Recorder | None = None,
        session=None,
        retry_after_default: float = 60.0,
    ) -> None:
        # Pricing's Retry-After is exact (module docstring): the back-off-base mode of HttpClient honours
        # it as sent and falls back to VTEX's minute, doubled per repeat, only without it.
        super().__init__(
            credentials=credentials,
            timeout=timeout,
            limiter=limiter,
            recorder=recorder,
            session=session,
            retry_after_default=retry_after_default,
            backoff_429_base=retry_after_default,
        )

    def get_price(self, sku_id: int | str) -> VtexPrice | None:
        """``GET /pricing/prices/{itemId}`` (``GetPrice``): base, list and cost price, markup and all fixed
        prices of the SKU; None when it has no price (a 404: not in the spec, §1.5.1, U)."""
        path = f"/pricing/prices/{sku_id_of(sku_id)}"
        try:
            data = self.http.request_json("GET", path, route="price_read")
        except NotFoundError:
            return None
        return self.http.parse(VtexPrice.from_json, data, "GET", path)

    def update_price(
        self,
        sku_id: int | str,
        *,
        base_price: Decimal,
        list_price: Decimal | None,
        fixed_prices: Sequence[VtexFixedPrice],
    ) -> None:
        """``PUT /pricing/prices/{itemId}`` (``CreateUpdatePriceOrFixedPrice``): the SKU's whole price.

        This PUT **replaces every fixed price** of the SKU: one not in ``fixed_prices`` is deleted (§1.5.2),
        so the caller sends all the fixed prices it owns; an empty sequence deletes them all (§3.4).

        Steps:
        1. Check the amounts (finite, above 0), each fixed price (table, ``minQuantity`` ≥ 1, a date range
           with both ends, ``to`` after ``from``) and that no two fixed prices share table, minimum quantity
           and date range (VTEX keeps one per such key, §1.5.3): which one it kept would be chance.
        2. Send ``basePrice`` only, never ``costPrice``/``markup`` (§3.4, A: the spec forbids all three at
           once and lets ``basePrice`` alone fill the others), ``listPrice`` when there is one, and the
           complete ``fixedPrices``. The PUT's schema has no null ``listPrice``, so ``None`` leaves it out;
           whether VTEX then clears a list price it had is not documented (§4 gap 2): a caller that must
           be sure no old list price survives sends ``list_price=base_price`` (VTEX strikes through only a
           list price above the price).
        3. A 5xx may have been applied; sending the same whole price again is safe. A 429 was not applied.
        """
        body: dict = {"basePrice": money(base_price, "basePrice")}
        if list_price is not None:
            body["listPrice"] = money(list_price, "listPrice")
        entries = [fixed_price_body(fixed) for fixed in fixed_prices]
        keys = [(e["tradePolicyId"], e["minQuantity"], tuple((e.get("dateRange") or {}).values())) for e in entries]
        if len(set(keys)) != len(keys):
            raise ValueError("two fixed prices share a price table, a minimum quantity and a date range")
        body["fixedPrices"] = entries
        # The answer (200, no body) carries nothing to read.
        self.http.request("PUT", f"/pricing/prices/{sku_id_of(sku_id)}", route="price_write", json_body=body)

    def list_price_tables(self) -> tuple[str, ...]:
        """``GET /pricing/tables`` (``Listpricetables``): the account's price tables (``["1", "b2b", …]``)."""
        path = "/pricing/tables"
        data = self.http.request_json("GET", path, route="price_tables")

        def tables(d) -> tuple[str, ...]:
            if not isinstance(d, list) or not all(isinstance(t, str | int) and not isinstance(t, bool) for t in d):
                raise TypeError("the price tables are no list of names")
            return tuple(str(t) for t in d)

        return self.http.parse(tables, data, "GET", path)
