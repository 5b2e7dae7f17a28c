"""The pure stock and price plan (sync.catalog.plan): reference/catalog-sync.md §3.3, §3.4, §3.7."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from sync.catalog.plan import (
    INVALID_PRICE,
    InventoryTarget,
    PriceInvalid,
    PriceRules,
    PriceTarget,
    StockRules,
    TableRule,
    price_plan,
    stock_plan,
)
from sync.clients.catalog_dtos import INT32_MAX, ErpRecommendedPrice, ErpSalesPrice, ErpStockRow, VtexFixedPrice

NOW = datetime(2026, 3, 3, 9, 12, tzinfo=UTC)
WAREHOUSES = {"wh_main": ("1", "3"), "wh_store_berlin": ("5",)}


def stock_row(storage: str, available, *, article: str = "77", in_stock=None) -> ErpStockRow:
    available = Decimal(str(available))
    return ErpStockRow(
        article_id=article,
        article_number="SKU-RED-M",
        storage_id=storage,
        storage_number=f"S{storage}",
        quantity_in_stock=Decimal(str(in_stock)) if in_stock is not None else available,
        reserved_quantity=Decimal(0),
        quantity_in_picking=Decimal(0),
        stock_available=available,
        updated_at=None,
    )


def price(
    id: str,
    gross,
    *,
    group: str = "1",
    article: str = "77",
    channel: str | None = None,
    account: str | None = None,
    net=None,
    currency: str = "EUR",
    from_quantity="1",
    valid_from: str | None = None,
    valid_until: str | None = None,
    special: bool = False,
) -> ErpSalesPrice:
    return ErpSalesPrice(
        id=id,
        article_id=article,
        price_group_id=group,
        sales_channel_id=channel,
        account_id=account,
        currency_code=currency,
        net_price=Decimal(str(net)) if net is not None else None,
        gross_price=Decimal(str(gross)) if gross is not None else None,
        price_base="GROSS_PRICE",
        from_quantity=Decimal(str(from_quantity)),
        valid_from=valid_from,
        valid_until=valid_until,
        special_offer=special,
    )


def rrp(value, *, id: str = "7001", country: str = "DEU", currency: str = "EUR") -> ErpRecommendedPrice:
    return ErpRecommendedPrice(
        id=id, article_id="77", country_code=country, currency_code=currency, value=Decimal(value)
    )


RULES = PriceRules(sales_channel_id="7", currency="EUR", price_mode="gross", base_price_group_id="1")


# --- stock: the working contract's examples -----------------------------------------------------------------


def test_a_warehouse_sums_its_storages_and_ignores_unmapped_ones():
    rows = [stock_row("1", 9), stock_row("3", 6), stock_row("5", 2), stock_row("9", 4)]

    plan = stock_plan(article_id="77", rows=rows, rules=StockRules(warehouses=WAREHOUSES))

    assert plan.targets == (
        InventoryTarget("wh_main", 15, False, "00:00:00"),
        InventoryTarget("wh_store_berlin", 2, False, "00:00:00"),
    )
    assert plan.ignored_storages == ("9",)  # §3.7 #6b: storage 9 is in no warehouse map
    assert plan.warnings == ()


def test_negative_erp_stock_sends_zero_with_a_warning():
    plan = stock_plan(article_id="77", rows=[stock_row("1", -3)], rules=StockRules(warehouses={"wh_main": ("1",)}))

    assert plan.targets[0].quantity == 0  # §3.7 #4
    assert "is -3" in plan.warnings[0]


def test_safety_stock_and_fractions_round_down():
    rules = StockRules(warehouses={"wh_main": ("1",)}, safety_stock=2)

    plan = stock_plan(article_id="77", rows=[stock_row("1", "4.9")], rules=rules)

    assert plan.targets[0].quantity == 2


def test_the_physical_stock_field_reads_quantity_in_stock():
    rules = StockRules(warehouses={"wh_main": ("1",)}, stock_field="quantityInStock")

    plan = stock_plan(article_id="77", rows=[stock_row("1", 9, in_stock=12)], rules=rules)

    assert plan.targets[0].quantity == 12


def test_a_warehouse_without_rows_shows_zero_and_other_articles_rows_are_not_counted():
    plan = stock_plan(article_id="77", rows=[stock_row("1", 5, article="78")], rules=StockRules(warehouses=WAREHOUSES))

    assert [t.quantity for t in plan.targets] == [0, 0]


def test_sellable_without_stock_is_unlimited_only_when_the_channel_says_so():
    on = StockRules(warehouses={"wh_main": ("1",)}, unlimited_when_sellable_without_stock=True)
    off = StockRules(warehouses={"wh_main": ("1",)})

    assert stock_plan(article_id="77", rows=[], rules=on, sellable_without_stock=True).targets[0].unlimited
    assert not stock_plan(article_id="77", rows=[], rules=on, sellable_without_stock=False).targets[0].unlimited
    assert not stock_plan(article_id="77", rows=[], rules=off, sellable_without_stock=True).targets[0].unlimited


def test_only_warehouses_whose_figures_changed_are_sent_again():
    plan = stock_plan(
        article_id="77", rows=[stock_row("1", 9), stock_row("5", 2)], rules=StockRules(warehouses=WAREHOUSES)
    )
    last_sent = {
        "wh_main": {"quantity": 9, "unlimitedQuantity": False, "leadTime": "00:00:00", "dateUtcOnBalanceSystem": "x"},
        "wh_store_berlin": {"quantity": 3, "unlimitedQuantity": False, "leadTime": "00:00:00"},
    }

    assert [t.warehouse_id for t in plan.changes(last_sent)] == ["wh_store_berlin"]
    assert [t.warehouse_id for t in plan.changes(last_sent, force=True)] == ["wh_main", "wh_store_berlin"]
    assert [t.warehouse_id for t in plan.changes({})] == ["wh_main", "wh_store_berlin"]


def test_a_changed_lead_time_is_sent_again():
    rules = StockRules(warehouses={"wh_main": ("1",)}, lead_time="2.00:00:00")
    plan = stock_plan(article_id="77", rows=[stock_row("1", 9)], rules=rules)

    assert plan.changes({"wh_main": {"quantity": 9, "unlimitedQuantity": False, "leadTime": "00:00:00"}})


# --- stock: properties --------------------------------------------------------------------------------------

amounts = st.decimals(min_value=-1000, max_value=10**6, places=3, allow_nan=False, allow_infinity=False)
storages = st.sampled_from(["1", "3", "5", "9", "11"])


@given(
    rows=st.lists(st.tuples(storages, amounts), max_size=12, unique_by=lambda r: r[0]),
    safety=st.integers(min_value=0, max_value=50),
    shuffle=st.randoms(use_true_random=False),
)
def test_stock_is_the_floored_sum_of_mapped_storages_less_safety_never_negative(rows, safety, shuffle):
    erp = [stock_row(storage, value) for storage, value in rows]
    rules = StockRules(warehouses=WAREHOUSES, safety_stock=safety)

    plan = stock_plan(article_id="77", rows=erp, rules=rules)
    shuffle.shuffle(erp)
    again = stock_plan(article_id="77", rows=erp, rules=rules)

    assert again.targets == plan.targets  # the order of the ERP's rows does not matter
    by_storage = dict(rows)
    for target in plan.targets:
        total = sum((by_storage.get(s, Decimal(0)) for s in WAREHOUSES[target.warehouse_id]), Decimal(0))
        expected = int((total - safety).to_integral_value(rounding=ROUND_FLOOR))
        assert target.quantity == min(max(expected, 0), INT32_MAX)
        assert isinstance(target.quantity, int) and 0 <= target.quantity <= INT32_MAX
    assert set(plan.ignored_storages) == {s for s in by_storage if s in ("9", "11")}
    negative = [wh for wh, ss in WAREHOUSES.items() if sum(by_storage.get(s, Decimal(0)) for s in ss) < 0]
    assert len(plan.warnings) == len(negative)


@given(rows=st.lists(st.tuples(storages, amounts), max_size=8, unique_by=lambda r: r[0]))
def test_what_was_last_sent_is_never_sent_again(rows):
    plan = stock_plan(article_id="77", rows=[stock_row(s, v) for s, v in rows], rules=StockRules(warehouses=WAREHOUSES))
    sent = {
        t.warehouse_id: {**t.body(), "dateUtcOnBalanceSystem": "2026-03-03T09:12:04.512+00:00"} for t in plan.targets
    }

    assert plan.changes(sent) == ()


# --- prices: the working contract's examples ----------------------------------------------------------------


def test_the_base_price_is_the_price_groups_gross_price_rounded_half_up():
    target = price_plan(article_id="77", prices=[price("5501", "19.985", net="16.8")], rules=RULES, now=NOW)

    assert target == PriceTarget(base_price=Decimal("19.99"), list_price=None, fixed_prices=())
    assert target.body() == {"basePrice": 19.99, "fixedPrices": []}


def test_net_mode_sends_the_net_price():
    rules = PriceRules(sales_channel_id="7", currency="EUR", price_mode="net", base_price_group_id="1")

    target = price_plan(article_id="77", prices=[price("5501", "19.99", net="16.80")], rules=rules, now=NOW)

    assert target.base_price == Decimal("16.80")
    assert target.body()["basePrice"] == 16.8


def test_a_list_price_below_the_price_is_not_sent():
    rules = PriceRules(**{**RULES.__dict__, "list_price_source": "rrp", "list_price_country": "DEU"})

    below = price_plan(article_id="77", prices=[price("5501", "19.99")], rrps=[rrp("17.50")], rules=rules, now=NOW)
    above = price_plan(article_id="77", prices=[price("5501", "19.99")], rrps=[rrp("24.99")], rules=rules, now=NOW)

    assert below.list_price is None and "listPrice" not in below.body()  # §3.7 #5
    assert above.body() == {"basePrice": 19.99, "listPrice": 24.99, "fixedPrices": []}


def test_an_rrp_of_another_country_or_currency_is_no_list_price():
    rules = PriceRules(**{**RULES.__dict__, "list_price_source": "rrp", "list_price_country": "DEU"})
    rrps = [rrp("30", country="AUT"), rrp("31", id="7002", currency="CHF")]

    assert (
        price_plan(article_id="77", prices=[price("5501", "19.99")], rrps=rrps, rules=rules, now=NOW).list_price is None
    )


def test_the_list_price_from_a_price_group():
    rules = PriceRules(**{**RULES.__dict__, "list_price_source": "price_group", "list_price_group_id": "2"})
    prices = [price("5501", "19.99"), price("5502", "29.99", group="2")]

    assert price_plan(article_id="77", prices=prices, rules=rules, now=NOW).list_price == Decimal("29.99")


def test_fixed_prices_per_table_with_tiers_and_their_list_price_rule():
    rules = PriceRules(
        **{
            **RULES.__dict__,
            "list_price_source": "rrp",
            "list_price_country": "DEU",
            "tables": (TableRule("b2b", "4", "net"),),
        }
    )
    prices = [
        price("5501", "19.99"),
        price("5510", "16.90", net="14.20", group="4"),
        price("5511", "16.07", net="13.50", group="4", from_quantity="10"),
    ]

    target = price_plan(article_id="77", prices=prices, rrps=[rrp("14.00")], rules=rules, now=NOW)

    assert target.fixed_prices == (
        VtexFixedPrice("b2b", Decimal("14.20"), None, 1),  # the RRP 14.00 is below 14.20: no list price
        VtexFixedPrice("b2b", Decimal("13.50"), Decimal("14.00"), 10),
    )
    assert target.body()["fixedPrices"] == [
        {"tradePolicyId": "b2b", "value": 14.2, "minQuantity": 1},
        {"tradePolicyId": "b2b", "value": 13.5, "listPrice": 14, "minQuantity": 10},
    ]


def test_a_removed_tier_leaves_the_body_and_so_vtex():
    rules = PriceRules(**{**RULES.__dict__, "tables": (TableRule("b2b", "4", "net"),)})
    both = [
        price("5501", "19.99"),
        price("5510", "1", net="14.20", group="4"),
        price("5511", "1", net="13.5", group="4", from_quantity="10"),
    ]
    one = both[:2]

    before = price_plan(article_id="77", prices=both, rules=rules, now=NOW)
    after = price_plan(article_id="77", prices=one, rules=rules, now=NOW)

    assert after.changed(before.body())  # §3.7 #14: the PUT without the tier deletes it in VTEX
    assert [f["minQuantity"] for f in after.body()["fixedPrices"]] == [1]


def test_a_fractional_tier_starts_at_the_next_whole_quantity():
    rules = PriceRules(**{**RULES.__dict__, "tables": (TableRule("b2b", "4", "gross"),)})
    prices = [price("5501", "19.99"), price("5512", "9.99", group="4", from_quantity="2.5")]

    assert price_plan(article_id="77", prices=prices, rules=rules, now=NOW).fixed_prices[0].min_quantity == 3


def test_zero_or_negative_prices_are_invalid_and_nothing_is_sent():
    for value in ("0", "-1", "0.004"):
        result = price_plan(article_id="77", prices=[price("5501", value)], rules=RULES, now=NOW)

        assert isinstance(result, PriceInvalid) and result.code == INVALID_PRICE  # §3.7 #13


def test_an_invalid_fixed_price_holds_back_the_whole_price():
    rules = PriceRules(**{**RULES.__dict__, "tables": (TableRule("b2b", "4", "gross"),)})
    prices = [price("5501", "19.99"), price("5510", "0", group="4")]

    assert isinstance(price_plan(article_id="77", prices=prices, rules=rules, now=NOW), PriceInvalid)


def test_a_price_in_another_currency_or_without_one_is_invalid():
    assert isinstance(
        price_plan(article_id="77", prices=[price("5501", "19.99", currency="CHF")], rules=RULES, now=NOW), PriceInvalid
    )
    assert "no valid sales price" in price_plan(article_id="77", prices=[], rules=RULES, now=NOW).message


def test_the_selection_rule_prefers_the_channel_then_a_special_offer_then_the_highest_id():
    generic = price("5501", "19.99")
    newer_generic = price("5503", "18.99")
    for_channel = price("5502", "17.99", channel="7")
    other_channel = price("5504", "9.99", channel="8")
    account = price("5505", "5.99", account="42")
    offer = price("5506", "15.99", channel="7", special=True)
    tier = price("5507", "1.99", from_quantity="5")

    def base(*rows):
        return price_plan(article_id="77", prices=list(rows), rules=RULES, now=NOW).base_price

    assert base(generic, newer_generic) == Decimal("18.99")
    assert base(generic, newer_generic, for_channel, other_channel, account, tier) == Decimal("17.99")
    assert base(generic, for_channel, offer) == Decimal("15.99")


def test_prices_outside_their_validity_are_not_chosen():
    expired = price("5509", "9.99", valid_until="2026-03-02")
    future = price("5510", "8.99", valid_from=(NOW + timedelta(hours=1)).isoformat())
    today_only = price("5511", "7.99", valid_from="2026-03-03", valid_until="2026-03-03")
    generic = price("5501", "19.99")

    assert price_plan(article_id="77", prices=[generic, expired, future], rules=RULES, now=NOW).base_price == Decimal(
        "19.99"
    )
    assert price_plan(article_id="77", prices=[generic, today_only], rules=RULES, now=NOW).base_price == Decimal("7.99")


# --- prices: properties -------------------------------------------------------------------------------------

money = st.decimals(min_value="-5", max_value="5000", places=4, allow_nan=False, allow_infinity=False)


@st.composite
def price_rows(draw):
    rows = []
    for n in range(draw(st.integers(min_value=0, max_value=8))):
        rows.append(
            price(
                str(5500 + n),
                draw(money),
                net=draw(money),
                group=draw(st.sampled_from(["1", "4"])),
                channel=draw(st.sampled_from([None, "7", "8"])),
                from_quantity=draw(st.sampled_from(["1", "1", "5", "10", "2.5"])),
                special=draw(st.booleans()),
            )
        )
    return rows


TABLE_RULES = PriceRules(
    sales_channel_id="7",
    currency="EUR",
    price_mode="gross",
    base_price_group_id="1",
    list_price_source="rrp",
    list_price_country="DEU",
    tables=(TableRule("b2b", "4", "net"), TableRule("1", "1", "gross")),
)


@given(rows=price_rows(), list_price=money, shuffle=st.randoms(use_true_random=False))
def test_a_price_is_sent_whole_valid_and_the_same_whatever_the_row_order(rows, list_price, shuffle):
    result = price_plan(article_id="77", prices=rows, rrps=[rrp(list_price)], rules=TABLE_RULES, now=NOW)
    shuffle.shuffle(rows)

    assert price_plan(article_id="77", prices=rows, rrps=[rrp(list_price)], rules=TABLE_RULES, now=NOW) == result
    if isinstance(result, PriceInvalid):
        return
    amounts = [result.base_price, *(f.value for f in result.fixed_prices)]
    assert all(a > 0 and a == a.quantize(Decimal("0.01")) for a in amounts)
    assert result.list_price is None or result.list_price > result.base_price
    assert all(f.list_price is None or f.list_price > f.value for f in result.fixed_prices)
    keys = [(f.trade_policy_id, f.min_quantity) for f in result.fixed_prices]
    assert len(keys) == len(set(keys)) and keys == sorted(keys)
    assert not result.changed(result.body())  # the body last sent is never sent again
    # The base price is one of the base group's tier-1 rows for this channel or none, rounded half-up.
    candidates = {
        (r.gross_price or Decimal(0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        for r in rows
        if r.price_group_id == "1" and r.sales_channel_id in (None, "7") and r.from_quantity <= 1
    }
    assert result.base_price in candidates


@given(rows=price_rows())
def test_a_non_positive_chosen_price_is_always_refused(rows):
    result = price_plan(article_id="77", prices=rows, rules=RULES, now=NOW)
    tier_one = [
        r for r in rows if r.price_group_id == "1" and r.sales_channel_id in (None, "7") and r.from_quantity <= 1
    ]

    if not tier_one:
        assert isinstance(result, PriceInvalid)
    elif isinstance(result, PriceTarget):
        assert result.base_price > 0
