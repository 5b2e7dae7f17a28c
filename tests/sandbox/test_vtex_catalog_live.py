"""The Catalog, Logistics and Pricing simulators over real HTTP (run_sandbox): their tables migrate
into the sandbox database, and concurrent requests meet the lock as VTEX's do."""

import threading

import pytest
import requests

from tests.support.sandbox_vtex import HTTP_HEADERS
from tests.support.sandbox_vtex_catalog import RED_M, RED_M_REF

pytestmark = pytest.mark.slow


def test_two_updates_of_one_sku_and_warehouse_at_once_apply_one_and_423_the_other(sandbox_url):
    # A wide window, so a loaded machine that delays one request by some milliseconds still meets it.
    requests.post(f"{sandbox_url}/_sim/vtex/catalog/settings", json={"lockWindowMs": 2000}, timeout=10)
    url = f"{sandbox_url}/api/logistics/pvt/inventory/skus/{RED_M}/warehouses/wh_main"
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def update(quantity: int) -> None:
        body = {"quantity": quantity, "unlimitedQuantity": False, "leadTime": "00:00:00"}
        barrier.wait()
        statuses.append(requests.put(url, json=body, headers=HTTP_HEADERS, timeout=10).status_code)

    threads = [threading.Thread(target=update, args=(q,)) for q in (3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 423]
    state = requests.get(f"{sandbox_url}/_sim/vtex/catalog/skus/{RED_M}", timeout=10).json()
    assert state["inventory"][0]["quantity"] in (3, 4)
    assert state["inventory"][0]["writes"] == 1


def test_lookup_and_price_over_http_with_the_account_in_the_pricing_path(sandbox_url):
    batch = requests.post(
        f"{sandbox_url}/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids",
        json=[RED_M_REF],
        headers=HTTP_HEADERS,
        timeout=10,
    )
    put = requests.put(
        f"{sandbox_url}/demostore/pricing/prices/{RED_M}", json={"basePrice": 19.99}, headers=HTTP_HEADERS, timeout=10
    )
    price = requests.get(f"{sandbox_url}/demostore/pricing/prices/{RED_M}", headers=HTTP_HEADERS, timeout=10)

    assert batch.json() == {RED_M_REF: str(RED_M)}
    assert (put.status_code, put.headers["Ratelimit-Limit"]) == (200, "500")
    assert price.json()["basePrice"] == 19.99
