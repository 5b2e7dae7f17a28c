"""Catalog simulator: the SKU lookups the portal maps ERP articles with (reference §1.2, §3.2)."""

import pytest

from tests.support.sandbox_vtex_catalog import RED_M, RED_M_EAN, RED_M_REF, call, checked, control

SYSTEM = "/api/catalog_system/pvt/sku"
BATCH = "/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids"


def test_sku_id_by_ref_id_is_a_json_string(sim):
    body = checked(sim, "catalog", "GET", f"{SYSTEM}/stockkeepingunitidbyrefid/{RED_M_REF}", status=200)

    assert body == str(RED_M)


def test_unknown_ref_id_is_a_404_with_the_contracts_body(sim):
    response = call(sim, "GET", f"{SYSTEM}/stockkeepingunitidbyrefid/NO-SUCH-REF")

    assert response.status_code == 404
    assert response.json() == "SKU not found"


def test_batch_lookup_answers_the_found_ref_ids_and_leaves_unknown_ones_out(sim):
    body = checked(sim, "catalog", "POST", BATCH, [RED_M_REF, "NO-SUCH-REF", "SHOE-BLACK-38"], status=200)

    assert body == {RED_M_REF: str(RED_M), "SHOE-BLACK-38": "2092"}


def test_batch_lookup_with_a_ref_id_twice_is_a_500_as_vtex_answers(sim):
    response = call(sim, "POST", BATCH, [RED_M_REF, RED_M_REF])

    assert response.status_code == 500


@pytest.mark.parametrize("body", [{"refIds": [RED_M_REF]}, [RED_M_REF, 7], "SKU-RED-M"])
def test_batch_lookup_refuses_a_body_that_is_no_list_of_strings(sim, body):
    assert call(sim, "POST", BATCH, body).status_code == 400


def test_batch_lookup_takes_at_most_100_ref_ids(sim):
    assert call(sim, "POST", BATCH, [f"REF-{n}" for n in range(100)]).status_code == 200
    response = call(sim, "POST", BATCH, [f"REF-{n}" for n in range(101)])

    assert response.status_code == 400
    assert "100" in response.json()["error"]["message"]


def test_a_ref_id_held_by_two_skus_finds_the_lowest_id(sim):
    # The Admin UI accepts a RefId twice (KI 910050); the mapper must cope, the simulator answers one.
    control(sim, "POST", "skus", {"skus": [{"id": 9001, "refId": RED_M_REF}]}, status=201)

    assert call(sim, "GET", f"{SYSTEM}/stockkeepingunitidbyrefid/{RED_M_REF}").json() == str(RED_M)
    assert call(sim, "POST", BATCH, [RED_M_REF]).json() == {RED_M_REF: str(RED_M)}


def test_sku_by_ref_id_query_carries_id_product_active_and_ean(sim):
    body = checked(sim, "catalog", "GET", "/api/catalog/pvt/stockkeepingunit", status=200, query={"RefId": RED_M_REF})

    assert (body["Id"], body["RefId"], body["IsActive"], body["Ean"]) == (RED_M, RED_M_REF, True, RED_M_EAN)
    assert body["Videos"] == []


def test_sku_by_ref_id_query_needs_the_ref_id(sim):
    assert call(sim, "GET", "/api/catalog/pvt/stockkeepingunit").status_code == 400
    assert call(sim, "GET", "/api/catalog/pvt/stockkeepingunit", query="RefId=NOPE").status_code == 404


def test_sku_by_id_and_its_eans(sim):
    body = checked(sim, "catalog", "GET", f"/api/catalog/pvt/stockkeepingunit/{RED_M}", status=200)
    eans = checked(sim, "catalog", "GET", f"/api/catalog/pvt/stockkeepingunit/{RED_M}/ean", status=200)

    assert (body["Id"], body["ProductId"], body["RefId"]) == (RED_M, 1077, RED_M_REF)
    assert eans == [RED_M_EAN]


def test_sku_context_by_ean_matches_any_of_several_eans(sim):
    control(sim, "POST", "skus", {"skus": [{"id": 9002, "refId": "TWO-EANS", "eans": ["111", "222"]}]}, status=201)

    body = checked(sim, "catalog", "GET", f"{SYSTEM}/stockkeepingunitbyean/222", status=200)

    assert (body["Id"], body["AlternateIds"], body["AlternateIdValues"]) == (
        9002,
        {"RefId": "TWO-EANS", "Ean": "111"},
        ["111", "222", "TWO-EANS"],
    )


def test_an_inactive_sku_is_found_by_ean(sim):
    # KI 699007 (fixed): stockkeepingunitbyean once answered "SKU not Found" for inactive SKUs.
    control(sim, "POST", "skus", {"skus": [{"id": 9003, "refId": "OFF", "ean": "333", "isActive": False}]}, status=201)

    body = checked(sim, "catalog", "GET", f"{SYSTEM}/stockkeepingunitbyean/333", status=200)

    assert (body["Id"], body["IsActive"]) == (9003, False)


def test_unknown_ean_is_a_404(sim):
    response = call(sim, "GET", f"{SYSTEM}/stockkeepingunitbyean/0000000000000")

    assert (response.status_code, response.json()) == (404, "SKU not found")


def test_alternate_id_finds_by_ean_then_by_ref_id(sim):
    control(sim, "POST", "skus", {"skus": [{"id": 9004, "refId": "4444", "ean": "5555"}]}, status=201)
    by_ean = checked(sim, "catalog", "GET", f"{SYSTEM}/stockkeepingunitbyalternateId/5555", status=200)
    by_ref = checked(sim, "catalog", "GET", f"{SYSTEM}/stockkeepingunitbyalternateId/4444", status=200)

    assert by_ean["Id"] == by_ref["Id"] == 9004
    assert call(sim, "GET", f"{SYSTEM}/stockkeepingunitbyalternateId/6666").status_code == 404


def test_sku_context_by_id(sim):
    body = checked(sim, "catalog", "GET", f"{SYSTEM}/stockkeepingunitbyid/{RED_M}", status=200)

    assert (body["Id"], body["SkuName"], body["SalesChannels"]) == (RED_M, "T-Shirt rot M", [1])


def test_all_sku_ids_are_paged(sim):
    first = checked(
        sim, "catalog", "GET", f"{SYSTEM}/stockkeepingunitids", status=200, query={"page": 1, "pagesize": 10}
    )
    second = call(sim, "GET", f"{SYSTEM}/stockkeepingunitids", query="page=2&pagesize=10").json()
    last = call(sim, "GET", f"{SYSTEM}/stockkeepingunitids", query="page=4&pagesize=10").json()

    assert first == list(range(2076, 2086))
    assert second == list(range(2086, 2096))
    assert last == [2106, 2107, 2108, 2109]


@pytest.mark.parametrize(
    "query", ["page=1", "pagesize=10", "page=0&pagesize=10", "page=1&pagesize=1001", "page=x&pagesize=1"]
)
def test_sku_id_paging_parameters_are_checked(sim, query):
    assert call(sim, "GET", f"{SYSTEM}/stockkeepingunitids", query=query).status_code == 400


@pytest.mark.parametrize("sku_id", ["02077", "abc", "\u00b2", str(2**31), "9" * 30])
def test_a_sku_id_that_is_no_int32_finds_nothing(sim, sku_id):
    response = call(sim, "GET", f"/api/catalog/pvt/stockkeepingunit/{sku_id}")

    assert response.status_code == 404


def test_lookups_need_the_key_pair(sim):
    path = f"{SYSTEM}/stockkeepingunitidbyrefid/{RED_M_REF}"
    missing = call(sim, "GET", path, auth={})
    wrong = call(sim, "GET", path, auth={"HTTP_X_VTEX_API_APPKEY": "x", "HTTP_X_VTEX_API_APPTOKEN": "y"})

    assert (missing.status_code, wrong.status_code) == (401, 403)


def test_another_account_sees_its_own_catalog_and_a_second_key_pair_the_same_one(sim):
    control_accounts = "/_sim/vtex/accounts"
    sim.post(
        control_accounts, {"accountName": "other", "appKey": "k2", "appToken": "t2"}, content_type="application/json"
    )
    sim.post(
        control_accounts,
        {"accountName": "demostore", "appKey": "k3", "appToken": "t3"},
        content_type="application/json",
    )
    path = f"{SYSTEM}/stockkeepingunitidbyrefid/{RED_M_REF}"

    other = call(sim, "GET", path, auth={"HTTP_X_VTEX_API_APPKEY": "k2", "HTTP_X_VTEX_API_APPTOKEN": "t2"})
    second = call(sim, "GET", path, auth={"HTTP_X_VTEX_API_APPKEY": "k3", "HTTP_X_VTEX_API_APPTOKEN": "t3"})

    assert other.status_code == 404
    assert second.json() == str(RED_M)
