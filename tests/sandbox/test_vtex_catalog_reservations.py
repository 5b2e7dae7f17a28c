"""Logistics simulator: reservations authorized → confirmed → acknowledged, available = total − reserved,
and what an inventory update does to them (reference §1.4.4, working contract §3.4, scenario 3 of §3.7)."""

import pytest

from tests.support.sandbox_vtex_catalog import RED_M, call, checked, control, put_stock, sku_state, stock

INVENTORY = "/api/logistics/pvt/inventory"
T0 = "2026-03-03T09:00:00+00:00"
T1 = "2026-03-03T09:10:00+00:00"
T2 = "2026-03-03T09:20:00+00:00"


@pytest.fixture
def shop(sim):
    control(sim, "POST", "settings", {"lockWindowMs": 0}, status=200)
    control(
        sim, "POST", "inventory", {"items": [{"skuId": RED_M, "warehouseId": "wh_main", "quantity": 10}]}, status=200
    )
    return sim


def reserve(sim, quantity, state="authorized", **extra):
    body = {"skuId": RED_M, "warehouseId": "wh_main", "quantity": quantity, "state": state, **extra}
    return control(sim, "POST", "reservations", body, status=201)


def advance(sim, reservation, action, *, status=200, **body):
    return control(sim, "POST", f"reservations/{reservation['id']}/{action}", body, status=status)


def available(sim):
    entry = checked(sim, "logistics", "GET", f"{INVENTORY}/items/{RED_M}/warehouses/wh_main", status=200)[0]
    return entry["totalQuantity"], entry["reservedQuantity"], entry["availableQuantity"]


def test_an_order_reserves_through_authorized_confirmed_acknowledged(shop):
    reservation = reserve(shop, 3)
    assert (reservation["state"], reservation["reserving"]) == ("authorized", True)
    assert available(shop) == (10, 3, 7)

    assert advance(shop, reservation, "confirm")["state"] == "confirmed"
    acknowledged = advance(shop, reservation, "acknowledge")

    assert (acknowledged["state"], acknowledged["reserving"]) == ("acknowledged", True)
    assert available(shop) == (10, 3, 7)


def test_vtex_never_lowers_the_total_itself(shop):
    reserve(shop, 4, "acknowledged")

    assert stock(shop, RED_M, "wh_main")["totalQuantity"] == 10


def test_scenario_3_the_update_releases_acknowledgements_up_to_its_balance_date(shop):
    a = reserve(shop, 3, "confirmed", at=T0)
    b = reserve(shop, 2, "acknowledged", at=T0)
    c = reserve(shop, 1, "confirmed", at=T0)
    advance(shop, c, "acknowledge", at=T2)

    response = put_stock(shop, RED_M, "wh_main", quantity=8, dateUtcOnBalanceSystem=T1)

    assert response.status_code == 200
    states = {r["id"]: r for r in sku_state(shop, RED_M)["reservations"]}
    assert states[a["id"]]["reserving"] is True
    assert states[b["id"]]["reserving"] is False
    assert states[b["id"]]["releasedAt"] is not None
    assert states[c["id"]]["reserving"] is True  # acknowledged at T2, after the ERP's figure was read
    assert available(shop) == (8, 4, 4)


def test_an_update_without_a_balance_date_releases_every_acknowledgement_so_far(shop):
    reserve(shop, 2, "acknowledged")
    reserve(shop, 3, "confirmed")

    put_stock(shop, RED_M, "wh_main", quantity=10)

    assert available(shop) == (10, 3, 7)


def test_available_can_be_negative(shop):
    reserve(shop, 7, "confirmed")
    put_stock(shop, RED_M, "wh_main", quantity=2)

    assert available(shop) == (2, 7, -5)


def test_an_authorization_expires_on_the_simulated_clock(shop):
    reservation = reserve(shop, 3, authorizationTtlSeconds=3600)
    shop.post("/_sim/clock", {"advanceSeconds": 3601}, content_type="application/json")

    assert available(shop) == (10, 0, 10)
    assert advance(shop, reservation, "confirm", status=409)["error"].startswith("a reservation that is expired")


def test_a_confirmed_reservation_does_not_expire(shop):
    reserve(shop, 3, "confirmed", authorizationTtlSeconds=60)
    shop.post("/_sim/clock", {"advanceSeconds": 86400}, content_type="application/json")

    assert available(shop) == (10, 3, 7)


def test_a_canceled_reservation_frees_its_units(shop):
    reservation = reserve(shop, 3, "confirmed")

    assert advance(shop, reservation, "cancel")["state"] == "canceled"
    assert available(shop) == (10, 0, 10)


def test_a_released_acknowledgement_cannot_be_canceled_any_more(shop):
    reservation = reserve(shop, 3, "acknowledged")
    put_stock(shop, RED_M, "wh_main", quantity=7)

    advance(shop, reservation, "cancel", status=409)


@pytest.mark.parametrize(
    ("state", "action"), [("authorized", "acknowledge"), ("confirmed", "confirm"), ("acknowledged", "confirm")]
)
def test_steps_out_of_order_are_409(shop, state, action):
    advance(shop, reserve(shop, 1, state), action, status=409)


@pytest.mark.parametrize(
    "body",
    [
        {"skuId": RED_M, "warehouseId": "wh_main", "quantity": 0},
        {"skuId": RED_M, "warehouseId": "wh_main", "quantity": 1, "state": "canceled"},
        {"skuId": RED_M, "warehouseId": "wh_main", "quantity": 1, "at": "noon"},
        {"skuId": RED_M, "warehouseId": "wh_main", "quantity": 1, "authorizationTtlSeconds": -1},
    ],
)
def test_a_reservation_the_simulator_cannot_make_is_400(shop, body):
    assert shop.post("/_sim/vtex/catalog/reservations", body, content_type="application/json").status_code == 400


def test_reservations_of_unknown_skus_or_warehouses_are_404(shop):
    for body in (
        {"skuId": 1, "warehouseId": "wh_main", "quantity": 1},
        {"skuId": RED_M, "warehouseId": "x", "quantity": 1},
    ):
        assert shop.post("/_sim/vtex/catalog/reservations", body, content_type="application/json").status_code == 404
    assert (
        shop.post("/_sim/vtex/catalog/reservations/nope/confirm", {}, content_type="application/json").status_code
        == 404
    )
    assert (
        shop.post("/_sim/vtex/catalog/reservations/nope/ship", {}, content_type="application/json").status_code == 404
    )


def test_reservations_are_read_as_vtex_answers_them(shop):
    reservation = reserve(shop, 3, "confirmed", lockId="1510580500001-01")
    reserve(shop, 1, "confirmed")
    advance(shop, reserve(shop, 2), "cancel")

    one = checked(shop, "logistics", "GET", f"{INVENTORY}/reservations/{reservation['id']}", status=200)
    active = checked(shop, "logistics", "GET", f"{INVENTORY}/reservations/wh_main/{RED_M}", status=200)

    assert (one["LockId"], one["Status"], one["SlaRequest"][0]["item"]["quantity"]) == ("1510580500001-01", 2, 3)
    assert sorted(r["SlaRequest"][0]["item"]["quantity"] for r in active) == [1, 3]
    assert call(shop, "GET", f"{INVENTORY}/reservations/nope").status_code == 404
