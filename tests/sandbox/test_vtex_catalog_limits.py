"""Rate limits of the Catalog and Pricing simulators (reference §1.6): Pricing's route budgets with
burst credits and Ratelimit-* headers, the Catalog's windows through the sandbox's limiter."""

import re
import time

import pytest

from sandbox.models import RateLimitRule
from tests.support.sandbox_vtex_catalog import RED_M, RED_M_REF, call, control

PRICE = f"/pricing/prices/{RED_M}"
PUT_ROUTE = "PUT /pricing/prices/{itemId}"


def put(sim, value, path=PRICE, **auth):
    return call(sim, "PUT", path, {"basePrice": value}, **auth)


def budget(sim, route=PUT_ROUTE, **fields):
    return control(sim, "POST", "rate-limits", {"route": route, **fields}, status=200)


def test_every_pricing_write_answer_carries_the_published_budget(sim):
    first = put(sim, 1)
    started = time.monotonic()
    answers = [put(sim, n) for n in range(2, 151)]
    elapsed = time.monotonic() - started

    assert (first["Ratelimit-Limit"], first["Ratelimit-Remaining"]) == ("500", "500")
    # 150 requests spend 150 of 533 tokens (500 credits + 33 free per second); 33 per second come back.
    assert int(answers[-1]["Ratelimit-Remaining"]) <= 533 - 150 + 33 * elapsed + 1
    assert int(answers[-1]["Ratelimit-Reset"]) >= 1
    assert all(a.status_code == 200 and "Retry-After" not in a for a in answers)


def test_reads_have_no_budget_unless_one_is_set(sim):
    put(sim, 1)

    assert "Ratelimit-Limit" not in call(sim, "GET", PRICE)


def test_without_credits_the_write_is_429_with_retry_after_and_not_applied(sim):
    budget(sim, limitPerSecond=1, burst=4, retryAfterSeconds=2)
    answers = [put(sim, n) for n in range(1, 7)]

    assert [a.status_code for a in answers] == [200] * 5 + [429]
    refused = answers[-1]
    assert refused["Retry-After"] == "2"
    assert refused["Ratelimit-Remaining"] == "0"
    assert refused.json() == {"error": {"code": "429", "message": "Too Many Requests", "exception": None}}
    assert call(sim, "GET", PRICE).json()["basePrice"] == 5


def test_retry_after_is_the_time_to_the_next_credit_when_not_set(sim):
    budget(sim, limitPerSecond=0.5, burst=0)
    assert put(sim, 1).status_code == 429  # capacity 0.5: not one whole request

    assert put(sim, 1)["Retry-After"] == "1"


def test_credits_refill_at_the_route_rate(sim):
    budget(sim, limitPerSecond=2, burst=0)
    assert [put(sim, n).status_code for n in (1, 2, 3)] == [200, 200, 429]

    time.sleep(0.6)

    assert put(sim, 4).status_code == 200


def test_budgets_are_per_route_and_per_account(sim):
    sim.post(
        "/_sim/vtex/accounts",
        {"accountName": "other", "appKey": "k2", "appToken": "t2"},
        content_type="application/json",
    )
    control(sim, "POST", "skus", {"accountName": "other", "skus": [{"id": RED_M}]}, status=201)
    budget(sim, limitPerSecond=0.1, burst=1)
    budget(sim, route="DELETE /pricing/prices/{itemId}", limitPerSecond=0.1, burst=1)
    put(sim, 1)
    assert put(sim, 2).status_code == 429

    other = put(sim, 3, auth={"HTTP_X_VTEX_API_APPKEY": "k2", "HTTP_X_VTEX_API_APPTOKEN": "t2"})
    delete = call(sim, "DELETE", PRICE)

    assert (other.status_code, delete.status_code) == (200, 200)


def test_lifting_and_restoring_the_budgets(sim):
    control(sim, "DELETE", "rate-limits", status=200)
    assert "Ratelimit-Limit" not in put(sim, 1)

    restored = control(sim, "POST", "rate-limits", {"published": True}, status=200)

    assert restored["routes"][PUT_ROUTE] == {"limitPerSecond": 33, "burst": 500, "retryAfterSeconds": None}
    assert put(sim, 2)["Ratelimit-Limit"] == "500"


def test_lifting_one_route(sim):
    answer = sim.delete(f"/_sim/vtex/catalog/rate-limits?route={PUT_ROUTE}").json()

    assert PUT_ROUTE not in answer["routes"]
    assert "DELETE /pricing/prices/{itemId}" in answer["routes"]
    assert sim.delete("/_sim/vtex/catalog/rate-limits?route=GET /x").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"route": "PUT /pricing/x", "limitPerSecond": 1, "burst": 1},
        {"route": PUT_ROUTE, "limitPerSecond": 0, "burst": 1},
        {"route": PUT_ROUTE, "limitPerSecond": 1, "burst": -1},
        {"route": PUT_ROUTE, "limitPerSecond": 1, "burst": 1, "retryAfterSeconds": 0},
    ],
)
def test_a_budget_the_simulator_cannot_keep_is_400(sim, body):
    assert sim.post("/_sim/vtex/catalog/rate-limits", body, content_type="application/json").status_code == 400


def test_a_reset_restores_the_published_budgets(sim):
    budget(sim, limitPerSecond=1, burst=1)

    sim.post("/_sim/reset")

    assert control(sim, "GET", "rate-limits")["routes"][PUT_ROUTE]["burst"] == 500


def test_the_catalogs_published_limits_are_sandbox_windows_per_endpoint_and_account(sim):
    rules = {r.name: r for r in RateLimitRule.objects.filter(name__startswith="vtex-catalog-")}
    samples = {
        "vtex-catalog-stockkeepingunitidbyrefid": ("GET", "/api/catalog_system/pvt/sku/stockkeepingunitidbyrefid/A"),
        "vtex-catalog-stockkeepingunitidsbyrefids": ("POST", "/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids"),
        "vtex-catalog-stockkeepingunit-by-refid": ("GET", "/api/catalog/pvt/stockkeepingunit"),
        "vtex-catalog-stockkeepingunitbyean": ("GET", "/api/catalog_system/pvt/sku/stockkeepingunitbyean/1"),
    }

    assert rules["vtex-catalog-account"].limit == 45_000
    assert {r.limit for n, r in rules.items() if n != "vtex-catalog-account"} == {15_000}
    assert all(r.window_seconds == 60 for r in rules.values())
    for name, (method, path) in samples.items():
        matching = [
            r.name for r in rules.values() if (not r.method or r.method == method) and re.search(r.path_pattern, path)
        ]
        assert sorted(matching) == sorted([name, "vtex-catalog-account"])


def test_a_catalog_endpoint_over_its_window_is_429_from_the_sandbox_limiter(sim):
    rule = RateLimitRule.objects.get(name="vtex-catalog-stockkeepingunitidbyrefid")
    rule.limit = 1
    rule.save()
    path = f"/api/catalog_system/pvt/sku/stockkeepingunitidbyrefid/{RED_M_REF}"

    assert [call(sim, "GET", path).status_code for _ in range(2)] == [200, 429]
    assert call(sim, "GET", f"/api/catalog/pvt/stockkeepingunit/{RED_M}").status_code == 200


def test_the_lock_window_setting(sim):
    assert control(sim, "GET", "settings") == {"lockWindowMs": 200}
    assert control(sim, "POST", "settings", {"lockWindowMs": 50}) == {"lockWindowMs": 50}
    for window in (-1, 60_001, "5"):
        assert (
            sim.post(
                "/_sim/vtex/catalog/settings", {"lockWindowMs": window}, content_type="application/json"
            ).status_code
            == 400
        )
