"""VtexLogisticsClient: warehouses, inventory read and update (reference/catalog-sync.md §1.3, §1.4, §3.4),
checked against VTEX's official Logistics API file; and its builder in sync.remotes."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import responses

from sync.clients.errors import NotFoundError, PayloadError, RejectedError, RetryableError
from sync.clients.http import writes_held
from sync.clients.limiter import Rate
from sync.clients.vtex import VtexCredentials
from sync.clients.vtex_logistics import INVENTORY_LOCK_WAIT_SECONDS, VtexLogisticsClient, warehouse_not_found
from sync.remotes import NotConfigured, remote_lane, vtex_logistics_client_for
from tests.support.openapi import validate_vtex_request, validate_vtex_response

BASE = "https://demostore.vtexcommercestable.com.br"
WAREHOUSES = "/api/logistics/pvt/configuration/warehouses"
INVENTORY = "/api/logistics/pvt/inventory/skus"
# The spec's examples (logistics-api.json).
WAREHOUSE_LIST = [
    {
        "id": "1937054",
        "name": "Main warehouse",
        "warehouseDocks": [{"dockId": "1_1_1", "time": "1.00:00:00", "cost": 0}],
        "pickupPointIds": ["345", "136", "189"],
        "priority": 0,
        "isActive": True,
    },
    {
        "id": "140ac66",
        "name": "Warehouse B",
        "warehouseDocks": [{"dockId": "139270d", "time": "00:00:00", "cost": 0}],
        "pickupPointIds": [],
        "priority": 1,
        "isActive": False,
    },
]
INVENTORY_BY_SKU = {
    "skuId": "10",
    "balance": [
        {
            "warehouseId": "1fabf84",
            "warehouseName": "Main Warehouse",
            "totalQuantity": 10,
            "reservedQuantity": 12,
            "hasUnlimitedQuantity": False,
            "timeToRefill": None,
            "dateOfSupplyUtc": None,
            "leadTime": "00:00:00",
        },
        {
            "warehouseId": "WH_b",
            "warehouseName": "Warehouse B",
            "totalQuantity": 1000000,
            "reservedQuantity": 0,
            "hasUnlimitedQuantity": True,
            "timeToRefill": None,
            "dateOfSupplyUtc": None,
            "leadTime": "1.00:00:00",
        },
    ],
}
READ_AT = datetime(2026, 3, 3, 9, 12, 4, 512000, tzinfo=UTC)


class RecordingLimiter:
    """Grants every call at once and records each block (no Redis, no sleeping)."""

    max_wait = 10

    def __init__(self) -> None:
        self.routes: list[str] = []
        self.blocks: list[tuple[str, float]] = []

    def acquire(self, route):
        self.routes.append(route)
        return 0

    def block(self, route, seconds):
        self.blocks.append((route, seconds))


@pytest.fixture
def recorded():
    return []


@pytest.fixture
def limiter():
    return RecordingLimiter()


@pytest.fixture
def logistics(recorded, limiter):
    return VtexLogisticsClient(
        credentials=VtexCredentials(account_name="demostore", base_url=BASE, app_key="key", app_token="APP-TOKEN"),
        timeout=(1, 1),
        limiter=limiter,
        recorder=recorded.append,
    )


def update(client, sku_id="10", warehouse_id="1fabf84", **overrides):
    values = {
        "quantity": 9,
        "unlimited_quantity": False,
        "lead_time": "00:00:00",
        "date_utc_on_balance_system": READ_AT,
    }
    client.update_inventory(sku_id, warehouse_id, **{**values, **overrides})


def sent(index: int = -1):
    call = responses.calls[index]
    return call.request, json.loads(call.request.body) if call.request.body else None


def test_the_spec_examples_are_valid_logistics_answers():
    validate_vtex_response("logistics", "get", WAREHOUSES, status=200, body=WAREHOUSE_LIST)
    validate_vtex_response("logistics", "get", f"{INVENTORY}/10", status=200, body=INVENTORY_BY_SKU)


@responses.activate
def test_warehouses_are_listed_with_their_docks_and_state(logistics, limiter):
    responses.get(f"{BASE}{WAREHOUSES}", json=WAREHOUSE_LIST)

    main, other = logistics.list_warehouses()

    assert (main.id, main.name, main.is_active, main.dock_ids) == ("1937054", "Main warehouse", True, ("1_1_1",))
    assert (other.id, other.is_active, other.priority) == ("140ac66", False, 1)
    assert limiter.routes == ["warehouses"]
    validate_vtex_request("logistics", "get", WAREHOUSES)


@responses.activate
def test_inventory_by_sku_reads_each_warehouses_balance(logistics, limiter):
    responses.get(f"{BASE}{INVENTORY}/10", json=INVENTORY_BY_SKU)

    inventory = logistics.get_inventory(10)

    main = inventory.balance_in("1fabf84")
    assert (main.total_quantity, main.reserved_quantity, main.available_quantity) == (10, 12, -2)
    assert inventory.balance_in("WH_b").unlimited is True
    assert inventory.balance_in("wh_b") is None  # warehouse ids are case-sensitive (§1.3)
    assert limiter.routes == ["inventory_read"]
    validate_vtex_request("logistics", "get", f"{INVENTORY}/10")


@responses.activate
def test_inventory_of_a_sku_logistics_does_not_know_is_not_found(logistics):
    responses.get(f"{BASE}{INVENTORY}/99", status=404, json={"error": {"code": "LOG001", "message": "SKU not found"}})

    with pytest.raises(NotFoundError) as exc_info:
        logistics.get_inventory("99")
    assert not warehouse_not_found(exc_info.value)


@responses.activate
@pytest.mark.parametrize(
    "body",
    [
        {"balance": []},
        {"skuId": "10", "balance": {"warehouseId": "1"}},
        {"skuId": "10", "balance": [{"warehouseName": "no id"}]},
        {"skuId": "10", "balance": [{"warehouseId": "1", "totalQuantity": "many"}]},
        {"skuId": "10", "balance": [{"warehouseId": "1", "totalQuantity": 1.5}]},
    ],
)
def test_an_inventory_answer_that_cannot_be_read_is_a_payload_error(logistics, body):
    responses.get(f"{BASE}{INVENTORY}/10", json=body)
    with pytest.raises(PayloadError):
        logistics.get_inventory(10)


@responses.activate
def test_an_update_sends_the_full_body_the_spec_asks_for(logistics, limiter):
    responses.put(f"{BASE}{INVENTORY}/10/warehouses/1fabf84", json=True)

    update(logistics, quantity=202, lead_time="10.10:00:00")

    request, body = sent()
    assert body == {
        "quantity": 202,
        "unlimitedQuantity": False,
        "dateUtcOnBalanceSystem": "2026-03-03T09:12:04.512+00:00",
        "leadTime": "10.10:00:00",
    }
    assert request.headers["Content-Type"] == "application/json"
    assert limiter.routes == ["inventory_write"]
    validate_vtex_request("logistics", "put", f"{INVENTORY}/10/warehouses/1fabf84", body=body)


@responses.activate
def test_the_balance_time_is_sent_in_utc(logistics):
    responses.put(f"{BASE}{INVENTORY}/10/warehouses/1fabf84", json=True)
    berlin = timezone(timedelta(hours=1))

    update(logistics, date_utc_on_balance_system=datetime(2026, 3, 3, 10, 12, 4, 512000, tzinfo=berlin))

    assert sent()[1]["dateUtcOnBalanceSystem"] == "2026-03-03T09:12:04.512+00:00"


@responses.activate
def test_unlimited_stock_is_sent_with_its_quantity(logistics):
    responses.put(f"{BASE}{INVENTORY}/10/warehouses/1fabf84", json=True)

    update(logistics, quantity=0, unlimited_quantity=True)

    _, body = sent()
    assert (body["quantity"], body["unlimitedQuantity"]) == (0, True)
    validate_vtex_request("logistics", "put", f"{INVENTORY}/10/warehouses/1fabf84", body=body)


@responses.activate
def test_a_warehouse_id_is_escaped_in_the_path(logistics):
    responses.put(f"{BASE}{INVENTORY}/10/warehouses/wh%2Fa", json=True)

    update(logistics, warehouse_id="wh/a")

    assert responses.calls[0].request.url.endswith("/warehouses/wh%2Fa")


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("quantity", -1),  # stock sent to VTEX is never negative (§3.4)
        ("quantity", 2.5),
        ("quantity", True),
        ("quantity", 2_147_483_648),
        ("unlimited_quantity", None),
        ("lead_time", "78:00:00"),  # VTEX would read 78 days (§1.4.3)
        ("lead_time", "1 day"),
        ("lead_time", ""),
        ("date_utc_on_balance_system", datetime(2026, 3, 3, 9, 12)),  # naive
        ("warehouse_id", "main warehouse"),  # blanks break VTEX's logistics (§1.3)
        ("warehouse_id", ""),
        ("sku_id", "0010"),  # another SKU than 10 for Logistics (§1.2)
        ("sku_id", "10 "),
        ("sku_id", 0),
    ],
)
def test_a_value_vtex_would_misread_is_refused_before_any_call(logistics, argument, value):
    with responses.RequestsMock() as mock, pytest.raises(ValueError):
        update(logistics, **{argument: value})
    assert not mock.calls


@responses.activate
def test_a_423_is_retryable_after_the_references_wait_and_was_not_applied(logistics, limiter):
    lock = "Unable to acquire lock for key: demostore_item_logistics_10_1fabf84."
    responses.put(f"{BASE}{INVENTORY}/10/warehouses/1fabf84", status=423, body=lock, content_type="text/plain")

    with pytest.raises(RetryableError) as exc_info:
        update(logistics)

    error = exc_info.value
    assert (error.status, error.retry_after, error.may_have_applied) == (423, INVENTORY_LOCK_WAIT_SECONDS, False)
    assert lock in str(error)
    # The lock is one SKU's and warehouse's: the route stays open for every other pair.
    assert limiter.blocks == []
    assert len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_on_an_update_is_retryable_and_may_have_been_applied(logistics, status):
    responses.put(f"{BASE}{INVENTORY}/10/warehouses/1fabf84", status=status, json={"error": {"message": "boom"}})

    with pytest.raises(RetryableError) as exc_info:
        update(logistics)

    # VTEX's known issue: a stock change completes even after a 500 (§1.8 pitfall 4).
    assert exc_info.value.may_have_applied is True and exc_info.value.status == status


@responses.activate
def test_a_429_blocks_the_inventory_route_and_was_not_applied(logistics, limiter):
    responses.put(f"{BASE}{INVENTORY}/10/warehouses/1fabf84", status=429, headers={"Retry-After": "5"}, json={})

    with pytest.raises(RetryableError) as exc_info:
        update(logistics)

    assert exc_info.value.may_have_applied is False and exc_info.value.retry_after == 60  # VTEX's minute
    assert limiter.blocks == [("inventory_write", 60)]


@responses.activate
def test_an_unknown_warehouse_is_told_apart_from_an_unknown_sku(logistics):
    responses.put(
        f"{BASE}{INVENTORY}/10/warehouses/WH-X",
        status=404,
        json={"error": {"code": "LOG404", "message": "Warehouse not found"}},
    )
    responses.put(f"{BASE}{INVENTORY}/11/warehouses/WH-A", status=404, json={"error": {"message": "SKU not found"}})

    with pytest.raises(NotFoundError) as warehouse:
        update(logistics, warehouse_id="WH-X")
    with pytest.raises(NotFoundError) as sku:
        update(logistics, sku_id=11, warehouse_id="WH-A")

    assert warehouse_not_found(warehouse.value) and not warehouse_not_found(sku.value)


@responses.activate
def test_a_400_is_rejected_with_vtexs_message(logistics):
    responses.put(
        f"{BASE}{INVENTORY}/10/warehouses/1fabf84",
        status=400,
        json={"error": {"code": "LOG400", "message": "Invalid quantity"}},
    )

    with pytest.raises(RejectedError) as exc_info:
        update(logistics)
    assert not isinstance(exc_info.value, RetryableError)
    assert (exc_info.value.code, exc_info.value.message) == ("LOG400", "Invalid quantity")


def test_a_dry_run_holds_the_update_back(logistics):
    held = []
    with responses.RequestsMock() as mock, writes_held(lambda call: (held.append(call), (200, True))[1]):
        update(logistics)
    assert not mock.calls
    [call] = held
    assert (call.method, call.path) == ("PUT", f"{INVENTORY}/10/warehouses/1fabf84")
    assert call.body["quantity"] == 9


@responses.activate
def test_calls_are_recorded_without_the_app_token(logistics, recorded):
    responses.put(f"{BASE}{INVENTORY}/10/warehouses/1fabf84", json=True)
    echo = {"error": {"message": "Forbidden"}, "X-VTEX-API-AppToken": "APP-TOKEN", "appKey": "key"}
    responses.get(f"{BASE}{WAREHOUSES}", status=403, json=echo)

    update(logistics)
    with pytest.raises(RejectedError) as exc_info:
        logistics.list_warehouses()

    put, refused = recorded
    assert (put.method, put.path, put.status) == ("PUT", f"{INVENTORY}/10/warehouses/1fabf84", 200)
    assert '"quantity": 9' in put.request_excerpt
    assert refused.status == 403
    assert "APP-TOKEN" not in repr(recorded) and "APP-TOKEN" not in exc_info.value.body_excerpt
    assert responses.calls[0].request.headers["X-VTEX-API-AppToken"] == "APP-TOKEN"


# --- the builder ---------------------------------------------------------------------------------------------


@pytest.fixture
def vtex_channel(channel):
    channel.vtex_account_name = "demostore"
    channel.vtex_app_key = "key"
    channel.vtex_app_token = "APP-TOKEN"
    channel.vtex_rate_limits = {}
    return channel


def test_the_builder_paces_inventory_writes_by_their_setting(vtex_channel, settings):
    settings.VTEX_INVENTORY_WRITE_RATE = "4/2"
    settings.VTEX_DEFAULT_RATE = "50/1"

    client = vtex_logistics_client_for(vtex_channel)

    assert client.http.base_url == BASE
    assert client.http.limiter._rate("inventory_write") == Rate(4, 2)
    assert client.http.limiter._rate("inventory_read") == Rate(50, 1)
    assert (client.http.limiter.remote, client.http.limiter.scope) == ("vtex", "demostore")


def test_the_builder_honours_the_bulk_lane(vtex_channel, settings):
    settings.BULK_BUDGET_SHARE = 0.25
    with remote_lane("bulk"):
        client = vtex_logistics_client_for(vtex_channel)

    assert (client.http.limiter.lane, client.http.limiter.lane_share) == ("bulk", 0.25)
    assert vtex_logistics_client_for(vtex_channel).http.limiter.lane == ""


def test_the_builder_needs_the_channels_vtex_credentials(vtex_channel):
    vtex_channel.vtex_app_token = ""
    with pytest.raises(NotConfigured):
        vtex_logistics_client_for(vtex_channel)
