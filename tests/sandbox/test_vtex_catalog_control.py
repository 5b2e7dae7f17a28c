"""Control API of the Catalog, Logistics and Pricing simulators: seeding in bulk, setting and reading
VTEX's state, changing the catalog under the portal, resets."""

import json

import pytest
from django.db import connections

from tests.support.sandbox_vtex_catalog import RED_M, RED_M_REF, call, control, put_stock, sku_state

BATCH = "/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids"


def test_the_seed_mirrors_the_vario_demo_articles(sim):
    skus = control(sim, "GET", "skus")

    assert len(skus) == 34
    assert {
        "skuId": RED_M,
        "productId": 1077,
        "refId": RED_M_REF,
        "eans": ["4006381000772"],
        "name": "T-Shirt rot M",
        "isActive": True,
    } in skus
    assert [s["isActive"] for s in skus if s["refId"] == "SKU-OLD-1"] == [False]


def test_ten_thousand_skus_are_seeded_in_multi_row_inserts(sim, django_assert_max_num_queries):
    body = {"count": 10_000, "firstId": 100_001, "refIdPattern": "ART-{n}", "eanPattern": "99{id}"}

    # 20,000 rows; SQLite takes at most 999 parameters a statement, so about 120 inserts, not 20,000.
    with django_assert_max_num_queries(200, connection=connections["sandbox"]):
        answer = control(sim, "POST", "skus", body, status=201)

    assert (answer["created"], answer["skuIds"][0], answer["skuIds"][-1]) == (10_000, 100_001, 110_000)
    assert call(sim, "POST", BATCH, ["ART-1", "ART-10000"]).json() == {"ART-1": "100001", "ART-10000": "110000"}
    assert call(sim, "GET", "/api/catalog_system/pvt/sku/stockkeepingunitbyean/99110000").json()["Id"] == 110_000


def test_skus_are_given_one_by_one_too(sim):
    body = {"skus": [{"id": 9001, "refId": "A-1", "eans": ["1", "2"], "productId": 77, "name": "A"}, {"id": 9002}]}

    assert control(sim, "POST", "skus", body, status=201)["skuIds"] == [9001, 9002]
    assert sku_state(sim, 9001)["sku"] == {
        "skuId": 9001,
        "productId": 77,
        "refId": "A-1",
        "eans": ["1", "2"],
        "name": "A",
        "isActive": True,
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"skus": [{"id": RED_M}]}, 409),
        ({"skus": [{"id": 9001}, {"id": 9001}]}, 400),
        ({"skus": [{"id": 0}]}, 400),
        ({"skus": [{"id": 2**31}]}, 400),
        ({"skus": [{"id": 9001, "eans": "123"}]}, 400),
        ({"skus": [{"id": 9001, "isActive": "yes"}]}, 400),
        ({"skus": []}, 400),
        ({"count": 0}, 400),
        ({"count": 2, "firstId": 2**31 - 1}, 400),
        ({"count": 2, "refIdPattern": "{x}"}, 400),
        ({"count": 2, "firstId": "1"}, 400),
        ({"accountName": "nobody", "count": 1}, 400),
    ],
)
def test_skus_that_cannot_be_created_are_refused_and_none_is(sim, body, status):
    response = sim.post("/_sim/vtex/catalog/skus", body, content_type="application/json")

    assert response.status_code == status, response.content
    assert len(control(sim, "GET", "skus")) == 34


def test_scenario_2_a_sku_created_later_is_found(sim):
    assert call(sim, "POST", BATCH, ["SKU-NEW-80"]).json() == {}

    control(sim, "POST", "skus", {"skus": [{"id": 2080 + 1000, "refId": "SKU-NEW-80"}]}, status=201)

    assert call(sim, "POST", BATCH, ["SKU-NEW-80"]).json() == {"SKU-NEW-80": "3080"}


def test_a_skus_ref_id_eans_and_active_flag_change(sim):
    state = control(sim, "POST", f"skus/{RED_M}", {"refId": "RED-M-NEW", "eans": ["42"], "isActive": False}, status=200)

    assert (state["sku"]["refId"], state["sku"]["eans"], state["sku"]["isActive"]) == ("RED-M-NEW", ["42"], False)
    assert call(sim, "GET", f"/api/catalog_system/pvt/sku/stockkeepingunitidbyrefid/{RED_M_REF}").status_code == 404
    assert call(sim, "GET", "/api/catalog_system/pvt/sku/stockkeepingunitbyean/42").json()["IsActive"] is False


def test_a_deleted_sku_is_404_for_logistics_and_pricing(sim):
    control(sim, "DELETE", f"skus/{RED_M}", status=200)

    assert put_stock(sim, RED_M, "wh_main", quantity=1).json()["error"]["message"] == "SKU not found"
    assert call(sim, "PUT", f"/pricing/prices/{RED_M}", {"basePrice": 1}).status_code == 404
    assert sim.get(f"/_sim/vtex/catalog/skus/{RED_M}").status_code == 404


def test_scenario_6a_a_warehouse_that_disappears_is_404_log404(sim):
    assert put_stock(sim, RED_M, "wh_store_berlin", quantity=1).status_code == 200

    control(sim, "DELETE", "warehouses/wh_store_berlin", status=200)

    assert put_stock(sim, RED_M, "wh_store_berlin", quantity=2).json()["error"]["code"] == "LOG404"
    assert [r["warehouseId"] for r in sku_state(sim, RED_M)["inventory"]] == []
    assert sim.delete("/_sim/vtex/catalog/warehouses/wh_store_berlin").status_code == 404


def test_warehouses_and_docks_are_created_with_exact_ids(sim):
    control(sim, "POST", "docks", {"id": "dock_x", "salesChannels": ["1", "2"]}, status=201)
    created = control(sim, "POST", "warehouses", {"id": "WH_MAIN", "name": "Upper", "dockIds": ["dock_x"]}, status=201)

    ids = [w["id"] for w in call(sim, "GET", "/api/logistics/pvt/configuration/warehouses").json()]
    assert ids == ["wh_main", "wh_store_berlin", "WH_MAIN"]
    assert created["warehouseDocks"] == [{"dockId": "dock_x", "time": "00:00:00", "cost": 0}]
    entry = call(sim, "GET", f"/api/logistics/pvt/inventory/items/{RED_M}/warehouses/WH_MAIN").json()[0]
    assert (entry["dockId"], entry["salesChannel"]) == ("dock_x", ["1", "2"])


def test_stock_is_set_and_listed_in_bulk(sim):
    control(sim, "POST", "skus", {"count": 2000, "firstId": 50_001}, status=201)
    items = [{"skuId": 50_000 + n, "warehouseId": "wh_main", "quantity": n} for n in range(1, 2001)]

    assert control(sim, "POST", "inventory", {"items": items}, status=200)["set"] == 2000
    control(
        sim,
        "POST",
        "inventory",
        {"items": [{"skuId": 50_001, "warehouseId": "wh_main", "quantity": 9, "leadTime": "1.00:00:00"}]},
    )
    control(
        sim, "POST", "reservations", {"skuId": 50_002, "warehouseId": "wh_main", "quantity": 1, "state": "confirmed"}
    )

    rows = control(sim, "GET", "inventory?warehouseId=wh_main")
    assert len(rows) == 2000
    by_sku = {r["skuId"]: r for r in control(sim, "GET", "inventory?skuIds=50001,50002")}
    assert (by_sku[50_001]["quantity"], by_sku[50_001]["leadTime"], by_sku[50_001]["writes"]) == (9, "1.00:00:00", 0)
    assert (by_sku[50_002]["reservedQuantity"], by_sku[50_002]["availableQuantity"]) == (1, 1)


@pytest.mark.parametrize(
    "items",
    [
        [],
        [{"skuId": 1, "warehouseId": "wh_main", "quantity": 1}],
        [{"skuId": RED_M, "warehouseId": "wh_main", "quantity": -1}],
        [{"skuId": RED_M, "warehouseId": "wh_main", "quantity": 1, "leadTime": "soon"}],
        "all",
    ],
)
def test_stock_that_cannot_be_set_is_refused(sim, items):
    response = sim.post("/_sim/vtex/catalog/inventory", {"items": items}, content_type="application/json")

    assert response.status_code in (400, 404)
    assert control(sim, "GET", "inventory") == []


def test_prices_are_set_and_listed_in_bulk(sim):
    items = [
        {"skuId": RED_M, "basePrice": 19.99, "listPrice": 17.5},
        {"skuId": 2078, "basePrice": 19.99, "fixedPrices": [{"tradePolicyId": "b2b", "value": 14.2, "minQuantity": 1}]},
    ]

    assert control(sim, "POST", "prices", {"items": items}, status=200)["set"] == 2
    rows = {r["itemId"]: r for r in control(sim, "GET", "prices")}
    assert rows[str(RED_M)]["flags"] == ["listPrice 17.5 is below basePrice 19.99"]
    assert rows["2078"]["fixedPrices"][0]["tradePolicyId"] == "b2b"
    assert call(sim, "GET", "/pricing/prices/2078").json()["basePrice"] == 19.99
    assert [r["itemId"] for r in control(sim, "GET", f"prices?skuIds={RED_M}")] == [str(RED_M)]


def test_a_price_item_vtex_would_refuse_names_the_item(sim):
    items = [{"skuId": RED_M, "basePrice": 1}, {"skuId": 2078, "basePrice": 1, "costPrice": 1, "markup": 0}]

    response = sim.post("/_sim/vtex/catalog/prices", {"items": items}, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"].startswith("item 2: Provide exactly two values")
    assert control(sim, "GET", "prices") == []


def test_the_state_of_a_sku_is_what_vtex_holds(sim):
    control(sim, "POST", "settings", {"lockWindowMs": 0})
    put_stock(sim, RED_M, "wh_main", quantity=4, leadTime="1.00:00:00")
    call(sim, "PUT", f"/pricing/prices/{RED_M}", {"basePrice": 19.99})
    reservation = control(sim, "POST", "reservations", {"skuId": RED_M, "warehouseId": "wh_main", "quantity": 1})

    state = sku_state(sim, RED_M)

    assert state["inventory"][0] | {"dateUtcOnBalanceSystem": None, "updatedAt": None} == {
        "skuId": RED_M,
        "warehouseId": "wh_main",
        "quantity": 4,
        "totalQuantity": 4,
        "reservedQuantity": 1,
        "availableQuantity": 3,
        "unlimited": False,
        "leadTime": "1.00:00:00",
        "dateUtcOnBalanceSystem": None,
        "writes": 1,
        "changes": 1,
        "updatedAt": None,
    }
    assert [r["id"] for r in state["reservations"]] == [reservation["id"]]
    assert (state["price"]["basePrice"], state["price"]["writes"]) == (19.99, 1)


def test_the_catalog_reset_keeps_the_orders(sim):
    order = sim.post(
        "/_sim/vtex/orders",
        {"items": [{"skuId": "18", "name": "x", "quantity": 1, "price": 100}]},
        content_type="application/json",
    ).json()
    control(sim, "POST", "skus", {"skus": [{"id": 9001}]}, status=201)
    control(sim, "POST", "settings", {"lockWindowMs": 5})

    assert control(sim, "POST", "reset", status=200) == {"reset": True}

    assert len(control(sim, "GET", "skus")) == 34
    assert control(sim, "GET", "settings") == {"lockWindowMs": 200}
    assert sim.get(f"/_sim/vtex/orders/{order['orderId']}").status_code == 200


def test_the_sandbox_reset_empties_the_catalog_too(sim):
    control(sim, "POST", "skus", {"skus": [{"id": 9001}]}, status=201)

    sim.post("/_sim/reset")

    assert len(control(sim, "GET", "skus")) == 34


@pytest.mark.parametrize("value", ["\u00b2", "1\u00b2", "\u0663", str(2**63), "9" * 30, "0"])
@pytest.mark.parametrize("path", ["skus/{}", "warehouses/{}", "reservations/{}/confirm"])
def test_a_control_id_that_is_no_id_is_a_404(sim, path, value):
    method = "delete" if path.startswith("warehouses") else ("post" if "confirm" in path else "get")

    response = getattr(sim, method)(f"/_sim/vtex/catalog/{path.format(value)}", content_type="application/json")

    assert response.status_code == 404, response.content


HOSTILE = [
    *("", "{", "null", "[]", "{}", '"x"', "1e999", '{"a": NaN}', '{"quantity": {"a": 1}}', "[" * 50 + "]" * 50),
    '{"basePrice": 1e12, "costPrice": 1e-12}',
    '{"costPrice": 1e12, "markup": 1000000}',
    '{"basePrice": 1, "markup": -99}',
]
HOSTILE_FIELDS = {
    "items": [{"skuId": [], "warehouseId": {}, "quantity": 10**40, "basePrice": [1], "fixedPrices": "x"}],
    "skus": [{"id": "9001", "refId": ["x"], "eans": [1]}],
    "count": 10**30,
    "skuId": {"x": 1},
    "warehouseId": None,
    "route": ["x"],
    "lockWindowMs": 1e400,
    "accountName": ["demostore"],
    "basePrice": 10**400,
    "costPrice": 1e-300,
    "markup": 10**30,
    "fixedPrices": [{"tradePolicyId": ["1"], "value": {}, "minQuantity": 10**20, "dateRange": {"from": 1, "to": []}}],
    "quantity": 2**70,
    "leadTime": 5,
    "dateUtcOnBalanceSystem": "9999-12-31T23:59:59+23:59",
}
WRITES = [
    ("PUT", f"/api/logistics/pvt/inventory/skus/{RED_M}/warehouses/wh_main"),
    ("PUT", f"/pricing/prices/{RED_M}"),
    ("PATCH", f"/pricing/prices/{RED_M}/fixed"),
    ("POST", f"/pricing/prices/{RED_M}/fixed/b2b"),
    ("POST", "/_sim/vtex/catalog/skus"),
    ("POST", f"/_sim/vtex/catalog/skus/{RED_M}"),
    ("POST", "/_sim/vtex/catalog/warehouses"),
    ("POST", "/_sim/vtex/catalog/docks"),
    ("POST", "/_sim/vtex/catalog/price-tables"),
    ("POST", "/_sim/vtex/catalog/inventory"),
    ("POST", "/_sim/vtex/catalog/prices"),
    ("POST", "/_sim/vtex/catalog/reservations"),
    ("POST", "/_sim/vtex/catalog/rate-limits"),
    ("POST", "/_sim/vtex/catalog/faults"),
    ("POST", "/_sim/vtex/catalog/settings"),
]


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_hostile_bodies_are_never_a_500(sim, method, path):
    control(sim, "POST", "settings", {"lockWindowMs": 0})
    control(sim, "POST", "prices", {"items": [{"skuId": RED_M, "basePrice": 1}]})
    bodies = [*HOSTILE, *(json.dumps({key: value}) for key, value in HOSTILE_FIELDS.items())]

    statuses = {body[:40]: call(sim, method, path, raw=body).status_code for body in bodies}

    assert all(status < 500 for status in statuses.values()), statuses
