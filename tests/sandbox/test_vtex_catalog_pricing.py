"""Pricing simulator: get and full update of a price, fixed prices per price table, the validation
VTEX does and what it accepts although wrong (reference §1.5, working contract §3.4, §3.7)."""

import pytest

from tests.support.sandbox_vtex_catalog import RED_M, call, checked, control, sku_state

PRICE = f"/pricing/prices/{RED_M}"
TIERS = [
    {"tradePolicyId": "b2b", "value": 14.2, "listPrice": None, "minQuantity": 1},
    {"tradePolicyId": "b2b", "value": 13.5, "listPrice": None, "minQuantity": 10},
]


def put(sim, body, path=PRICE):
    return call(sim, "PUT", path, body)


def get(sim, path=PRICE):
    response = call(sim, "GET", path)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_price_is_put_and_read_back_as_the_spec_describes(sim):
    body = {"basePrice": 250, "listPrice": 300, "fixedPrices": [{"tradePolicyId": "1", "value": 200, "minQuantity": 1}]}

    assert checked(sim, "pricing", "PUT", PRICE, body, status=200) is None
    answer = checked(sim, "pricing", "GET", PRICE, status=200)

    assert answer == {
        "itemId": str(RED_M),
        "listPrice": 300,
        "costPrice": 250,
        "markup": 0,
        "basePrice": 250,
        "fixedPrices": [{"tradePolicyId": "1", "value": 200, "listPrice": None, "minQuantity": 1}],
    }


def test_money_is_decimal_currency_units(sim):
    # The spec types the top-level prices int32; VTEX's Pricing money is decimal (reference §1.5).
    put(sim, {"basePrice": 19.99, "listPrice": 24.99, "fixedPrices": TIERS})

    answer = get(sim)

    assert (answer["basePrice"], answer["listPrice"], [f["value"] for f in answer["fixedPrices"]]) == (
        19.99,
        24.99,
        [14.2, 13.5],
    )


def test_scenario_14_the_put_replaces_every_fixed_price(sim):
    put(sim, {"basePrice": 19.99, "fixedPrices": TIERS})
    put(sim, {"basePrice": 19.99, "fixedPrices": TIERS[:1]})

    assert get(sim)["fixedPrices"] == TIERS[:1]
    put(sim, {"basePrice": 19.99, "fixedPrices": []})
    assert get(sim)["fixedPrices"] == []


def test_a_put_without_the_fixed_prices_key_keeps_them(sim):
    # reference §3.4 (A): preserveForeignFixedPrices sends such a PUT, then PATCH …/fixed.
    put(sim, {"basePrice": 19.99, "fixedPrices": TIERS})
    put(sim, {"basePrice": 21.5})

    answer = get(sim)
    assert (answer["basePrice"], answer["fixedPrices"]) == (21.5, TIERS)


def test_cost_and_markup_give_the_base_price(sim):
    put(sim, {"costPrice": 10, "markup": 2400})

    answer = get(sim)
    assert (answer["basePrice"], answer["costPrice"], answer["markup"]) == (250, 10, 2400)


def test_base_and_cost_give_the_markup(sim):
    put(sim, {"basePrice": 15, "costPrice": 10})

    assert get(sim)["markup"] == 50


def test_all_three_of_base_cost_and_markup_is_a_400(sim):
    response = put(sim, {"basePrice": 250, "costPrice": 10, "markup": 2400})

    assert response.status_code == 400
    assert "exactly two" in response.json()["error"]["message"]
    assert call(sim, "GET", PRICE).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"listPrice": 10},
        {"costPrice": 10},
        {"basePrice": "19.99"},
        {"basePrice": True},
        {"basePrice": 10**13},
        {"basePrice": 10, "markup": 1.5},
        {"basePrice": 10, "fixedPrices": {"tradePolicyId": "1"}},
        {"basePrice": 10, "fixedPrices": [{"tradePolicyId": "1", "value": 9}]},
        {"basePrice": 10, "fixedPrices": [{"tradePolicyId": "1", "value": 9, "minQuantity": 0}]},
        {"basePrice": 10, "fixedPrices": [{"tradePolicyId": "", "value": 9, "minQuantity": 1}]},
        {"basePrice": 10, "fixedPrices": [{"tradePolicyId": "gold", "value": 9, "minQuantity": 1}]},
        {"basePrice": 10, "fixedPrices": [TIERS[0], TIERS[0]]},
        {"basePrice": 10, "fixedPrices": [{**TIERS[0], "dateRange": {"from": "2026-12-01T00:00:00+01:00"}}]},
        {"basePrice": 10, "fixedPrices": [{**TIERS[0], "dateRange": {"from": "2026-12-01", "to": "2026-12-24"}}]},
        {
            "basePrice": 10,
            "fixedPrices": [
                {**TIERS[0], "dateRange": {"from": "2026-12-01T00:00:00+01:00", "to": "2026-12-01T00:00:00+01:00"}}
            ],
        },
        [19.99],
    ],
)
def test_a_price_vtex_would_not_take_is_a_400_and_nothing_changes(sim, body):
    response = put(sim, body)

    assert response.status_code == 400, response.content
    assert call(sim, "GET", PRICE).status_code == 404


def test_not_a_number_is_no_price(sim):
    response = call(sim, "PUT", PRICE, raw='{"basePrice": NaN}')

    assert response.status_code == 400


def test_scheduled_fixed_prices_are_kept_as_sent(sim):
    scheduled = {**TIERS[0], "dateRange": {"from": "2026-12-01T00:00:00+01:00", "to": "2026-12-24T23:59:59+01:00"}}
    put(sim, {"basePrice": 19.99, "fixedPrices": [TIERS[0], scheduled]})

    assert get(sim)["fixedPrices"] == [TIERS[0], scheduled]


def test_negative_and_list_below_price_are_accepted_but_flagged(sim):
    # KI 774548: VTEX accepts negative prices; a list price below the price is not refused either.
    response = put(
        sim,
        {
            "basePrice": -5,
            "listPrice": -6,
            "fixedPrices": [{"tradePolicyId": "b2b", "value": 9, "listPrice": 8, "minQuantity": 1}],
        },
    )

    assert response.status_code == 200
    flags = sku_state(sim, RED_M)["price"]["flags"]
    assert any("basePrice -5.0 is negative" in f for f in flags)
    assert any("listPrice -6.0 is below basePrice -5.0" in f for f in flags)
    assert any("b2b/1: listPrice 8.0 is below value 9.0" in f for f in flags)


def test_a_clean_price_has_no_flags(sim):
    put(sim, {"basePrice": 19.99, "listPrice": 24.99, "fixedPrices": TIERS})

    state = sku_state(sim, RED_M)["price"]
    assert (state["flags"], state["writes"]) == ([], 1)


def test_unknown_price_unknown_sku_and_an_id_that_is_no_integer(sim):
    missing = call(sim, "GET", PRICE)
    unknown = call(sim, "GET", "/pricing/prices/999999")
    not_integer = call(sim, "GET", "/pricing/prices/abc")

    assert (missing.status_code, unknown.status_code, not_integer.status_code) == (404, 404, 400)
    assert missing.json()["error"]["code"] == "SBX-PRICE-NOT-FOUND"
    assert put(sim, {"basePrice": 1}, "/pricing/prices/999999").status_code == 404
    assert put(sim, {"basePrice": 1}, f"/pricing/prices/{2**40}").status_code == 404


def test_price_tables_are_listed(sim):
    assert checked(sim, "pricing", "GET", "/pricing/tables", status=200) == ["1", "b2b"]
    control(sim, "POST", "price-tables", {"id": "gold"}, status=201)
    assert call(sim, "GET", "/pricing/tables").json() == ["1", "b2b", "gold"]


def test_the_account_in_the_path_as_on_api_vtex_com(sim):
    put(sim, {"basePrice": 7}, f"/demostore{PRICE}")

    assert get(sim, f"/demostore{PRICE}")["basePrice"] == 7
    assert call(sim, "GET", f"/otherstore{PRICE}").status_code == 403


# --- fixed prices -----------------------------------------------------------------------------------------


def test_fixed_prices_are_read_all_or_per_table(sim):
    put(sim, {"basePrice": 19.99, "fixedPrices": [*TIERS, {"tradePolicyId": "1", "value": 18, "minQuantity": 1}]})

    everything = checked(sim, "pricing", "GET", f"{PRICE}/fixed", status=200)
    b2b = checked(sim, "pricing", "GET", f"{PRICE}/fixed/b2b", status=200)

    assert len(everything) == 3
    assert b2b == TIERS


def test_patch_upserts_fixed_prices_and_keeps_the_others(sim):
    put(sim, {"basePrice": 19.99, "fixedPrices": TIERS})

    body = [{"tradePolicyId": "b2b", "value": 12, "minQuantity": 10}, {"tradePolicyId": "1", "value": 18}]

    checked(sim, "pricing", "PATCH", f"{PRICE}/fixed", body, status=200)

    assert get(sim)["fixedPrices"] == [
        TIERS[0],
        {"tradePolicyId": "b2b", "value": 12, "listPrice": None, "minQuantity": 10},
        {"tradePolicyId": "1", "value": 18, "listPrice": None, "minQuantity": 1},
    ]


def test_post_and_delete_the_fixed_prices_of_one_table(sim):
    put(sim, {"basePrice": 19.99, "fixedPrices": [{"tradePolicyId": "1", "value": 18, "minQuantity": 1}]})

    checked(sim, "pricing", "POST", f"{PRICE}/fixed/b2b", [{"value": 14.2, "minQuantity": 1}], status=200)
    assert [f["tradePolicyId"] for f in get(sim)["fixedPrices"]] == ["1", "b2b"]
    checked(sim, "pricing", "DELETE", f"{PRICE}/fixed/b2b", status=200)
    assert [f["tradePolicyId"] for f in get(sim)["fixedPrices"]] == ["1"]
    assert call(sim, "POST", f"{PRICE}/fixed/gold", [{"value": 1, "minQuantity": 1}]).status_code == 400


def test_fixed_prices_need_a_base_price_first(sim):
    assert call(sim, "PATCH", f"{PRICE}/fixed", [TIERS[0]]).status_code == 404


def test_delete_removes_the_price_and_its_fixed_prices(sim):
    put(sim, {"basePrice": 19.99, "fixedPrices": TIERS})

    checked(sim, "pricing", "DELETE", PRICE, status=200)
    assert call(sim, "GET", PRICE).status_code == 404
    assert call(sim, "DELETE", PRICE).status_code == 404


def test_a_method_the_route_does_not_have_is_405(sim):
    assert call(sim, "POST", PRICE, {"basePrice": 1}).status_code == 405
