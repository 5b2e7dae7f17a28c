"""Logistics simulator: warehouses, docks, inventory updates and reads, the 423 lock, 500 after apply
(reference §1.3, §1.4, §1.8, working contract §3.4)."""

import time

import pytest

from tests.support.sandbox_vtex_catalog import RED_M, call, checked, control, put_stock, stock, validate_response

INVENTORY = "/api/logistics/pvt/inventory"
FULL = {
    "quantity": 202,
    "unlimitedQuantity": False,
    "dateUtcOnBalanceSystem": "2026-03-03T09:12:04.512+00:00",
    "leadTime": "10.10:00:00",
}


@pytest.fixture
def no_lock(sim):
    control(sim, "POST", "settings", {"lockWindowMs": 0}, status=200)
    return sim


def test_warehouses_and_docks_are_listed(sim):
    warehouses = checked(sim, "logistics", "GET", "/api/logistics/pvt/configuration/warehouses", status=200)
    docks = checked(sim, "logistics", "GET", "/api/logistics/pvt/configuration/docks", status=200)
    one = checked(sim, "logistics", "GET", "/api/logistics/pvt/configuration/warehouses/wh_main", status=200)

    assert [w["id"] for w in warehouses] == ["wh_main", "wh_store_berlin"]
    assert one["warehouseDocks"] == [{"dockId": "dock_main", "time": "00:00:00", "cost": 0}]
    assert [(d["id"], d["salesChannels"]) for d in docks] == [("dock_main", ["1"]), ("dock_berlin", ["1"])]


def test_update_sets_the_stock_and_the_reads_show_it(sim):
    path = f"{INVENTORY}/skus/{RED_M}/warehouses/wh_main"
    answer = checked(sim, "logistics", "PUT", path, FULL, status=200)
    balance = checked(sim, "logistics", "GET", f"{INVENTORY}/skus/{RED_M}", status=200)
    per_warehouse = checked(sim, "logistics", "GET", f"{INVENTORY}/items/{RED_M}/warehouses/wh_main", status=200)

    assert answer is True
    assert balance == {
        "skuId": str(RED_M),
        "balance": [
            {
                "warehouseId": "wh_main",
                "warehouseName": "Main warehouse",
                "totalQuantity": 202,
                "reservedQuantity": 0,
                "hasUnlimitedQuantity": False,
                "timeToRefill": None,
                "dateOfSupplyUtc": None,
                "leadTime": "10.10:00:00",
            }
        ],
    }
    assert [(e["dockId"], e["totalQuantity"], e["availableQuantity"]) for e in per_warehouse] == [
        ("dock_main", 202, 202)
    ]
    assert stock(sim, RED_M, "wh_main")["dateUtcOnBalanceSystem"] == "2026-03-03T09:12:04.512000Z"


def test_a_sku_never_stocked_has_an_empty_balance(sim):
    assert checked(sim, "logistics", "GET", f"{INVENTORY}/skus/{RED_M}", status=200) == {
        "skuId": str(RED_M),
        "balance": [],
    }


def test_missing_fields_take_vtex_defaults_quantity_zero_lead_time_zero(no_lock):
    put_stock(no_lock, RED_M, "wh_main", quantity=9, leadTime="2.00:00:00")

    response = call(no_lock, "PUT", f"{INVENTORY}/skus/{RED_M}/warehouses/wh_main", {"unlimitedQuantity": False})

    assert response.status_code == 200
    row = stock(no_lock, RED_M, "wh_main")
    assert (row["quantity"], row["leadTime"], row["unlimited"]) == (0, "00:00:00", False)


def test_unlimited_stock_shows_a_million_and_never_drops(no_lock):
    put_stock(no_lock, RED_M, "wh_main", quantity=3, unlimitedQuantity=True)
    control(
        no_lock, "POST", "reservations", {"skuId": RED_M, "warehouseId": "wh_main", "quantity": 2, "state": "confirmed"}
    )

    entry = checked(no_lock, "logistics", "GET", f"{INVENTORY}/items/{RED_M}/warehouses/wh_main", status=200)[0]

    assert (entry["totalQuantity"], entry["reservedQuantity"], entry["availableQuantity"], entry["isUnlimited"]) == (
        1_000_000,
        2,
        1_000_000,
        True,
    )


@pytest.mark.parametrize(
    "body",
    [
        {"quantity": -1},
        {"quantity": 2.5},
        {"quantity": "5"},
        {"quantity": True},
        {"quantity": 2**31},
        {"quantity": 1, "unlimitedQuantity": "yes"},
        {"quantity": 1, "leadTime": "3 days"},
        {"quantity": 1, "leadTime": "00:60:00"},
        {"quantity": 1, "dateUtcOnBalanceSystem": "yesterday"},
        {"quantity": 1, "dateUtcOnBalanceSystem": "9999-12-31T23:59:59-23:59"},
        [1],
    ],
)
def test_an_update_vtex_would_not_take_is_a_400_and_changes_nothing(sim, body):
    response = call(sim, "PUT", f"{INVENTORY}/skus/{RED_M}/warehouses/wh_main", body)

    assert response.status_code == 400, response.content
    assert stock(sim, RED_M, "wh_main") is None


def test_a_body_that_is_not_json_is_a_400(sim):
    response = call(sim, "PUT", f"{INVENTORY}/skus/{RED_M}/warehouses/wh_main", raw="{quantity: 1")

    assert response.status_code == 400


def test_unknown_warehouse_is_a_404_with_the_contracts_body(sim):
    response = put_stock(sim, RED_M, "WH_MAIN", quantity=1)  # ids are case-sensitive (reference §1.3)

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "LOG404", "message": "Warehouse not found"}}
    assert call(sim, "GET", f"{INVENTORY}/items/{RED_M}/warehouses/nope").status_code == 404


def test_unknown_sku_is_a_404_a_client_tells_from_a_missing_warehouse(sim):
    response = put_stock(sim, 999999, "wh_main", quantity=1)

    assert response.status_code == 404
    assert response.json()["error"]["code"] != "LOG404"
    assert response.json()["error"]["message"] == "SKU not found"


def test_a_zero_padded_sku_id_is_another_sku(sim):
    # KI: Logistics treats "0123" and "123" as different SKUs; only the Catalog's numeric id works.
    assert put_stock(sim, f"0{RED_M}", "wh_main", quantity=1).status_code == 404
    assert call(sim, "GET", f"{INVENTORY}/skus/0{RED_M}").status_code == 404


def test_a_second_update_within_the_lock_window_is_423_and_discarded(sim):
    control(sim, "POST", "settings", {"lockWindowMs": 5000}, status=200)
    assert put_stock(sim, RED_M, "wh_main", quantity=5).status_code == 200

    second = put_stock(sim, RED_M, "wh_main", quantity=6)
    other_warehouse = put_stock(sim, RED_M, "wh_store_berlin", quantity=7)

    assert second.status_code == 423
    validate_response(
        "logistics",
        "PUT",
        f"{INVENTORY}/skus/{RED_M}/warehouses/wh_main",
        status=423,
        body=second.content,
        content_type=second["Content-Type"],
    )
    assert second["Content-Type"].startswith("text/plain")
    assert second.content.decode() == f"Unable to acquire lock for key: demostore_item_logistics_{RED_M}_wh_main."
    assert stock(sim, RED_M, "wh_main")["quantity"] == 5
    assert other_warehouse.status_code == 200


def test_the_lock_is_released_after_its_window_and_a_refused_update_does_not_extend_it(sim):
    control(sim, "POST", "settings", {"lockWindowMs": 300}, status=200)
    assert put_stock(sim, RED_M, "wh_main", quantity=5).status_code == 200
    time.sleep(0.15)
    assert put_stock(sim, RED_M, "wh_main", quantity=6).status_code == 423
    time.sleep(0.2)  # 350 ms after the applied one, 200 ms after the refused one

    assert put_stock(sim, RED_M, "wh_main", quantity=7).status_code == 200
    assert stock(sim, RED_M, "wh_main")["quantity"] == 7


def test_an_invalid_update_does_not_take_the_lock(sim):
    control(sim, "POST", "settings", {"lockWindowMs": 5000}, status=200)
    assert put_stock(sim, RED_M, "wh_main", quantity=-1).status_code == 400

    assert put_stock(sim, RED_M, "wh_main", quantity=1).status_code == 200


def test_writes_count_every_accepted_update_changes_only_the_ones_that_changed(no_lock):
    for quantity in (4, 4, 5):
        assert put_stock(no_lock, RED_M, "wh_main", quantity=quantity).status_code == 200

    row = stock(no_lock, RED_M, "wh_main")
    assert (row["writes"], row["changes"]) == (3, 2)


# --- 500 after apply ------------------------------------------------------------------------------


def test_500_after_apply_applies_the_write_and_answers_500_once(no_lock):
    control(no_lock, "POST", "faults", {"method": "PUT", "pathPattern": "/inventory/skus/", "remaining": 1}, status=201)

    first = put_stock(no_lock, RED_M, "wh_main", quantity=8)
    applied = stock(no_lock, RED_M, "wh_main")
    retry = put_stock(no_lock, RED_M, "wh_main", quantity=8)

    assert first.status_code == 500
    assert first.json()["error"]["message"] == "An error has occurred"
    assert (applied["quantity"], applied["writes"]) == (8, 1)
    assert retry.status_code == 200
    assert stock(no_lock, RED_M, "wh_main")["quantity"] == 8
    assert control(no_lock, "GET", "faults") == []


def test_500_after_apply_spares_refused_writes_and_reads(no_lock):
    control(no_lock, "POST", "faults", {"pathPattern": "/inventory/", "statusCode": 503}, status=201)

    refused = put_stock(no_lock, RED_M, "nope", quantity=1)
    read = call(no_lock, "GET", f"{INVENTORY}/skus/{RED_M}")
    applied = put_stock(no_lock, RED_M, "wh_main", quantity=1)

    assert (refused.status_code, read.status_code, applied.status_code) == (404, 200, 503)


@pytest.mark.parametrize(
    "body",
    [{"kind": "status"}, {"statusCode": 429}, {"method": "GET"}, {"pathPattern": "("}, {"remaining": 0}],
)
def test_an_after_apply_fault_the_simulator_cannot_play_is_refused(sim, body):
    response = sim.post("/_sim/vtex/catalog/faults", body, content_type="application/json")

    assert response.status_code == 400
