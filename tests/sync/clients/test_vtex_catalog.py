"""VtexCatalogClient: SKU lookups by RefId and EAN (reference/catalog-sync.md §1.2, §3.2), checked against
VTEX's official Catalog API file."""

import json

import pytest
import responses

from sync.clients.catalog_dtos import VtexSku
from sync.clients.errors import AuthError, PayloadError, RetryableError
from sync.clients.http import writes_held
from sync.clients.vtex import VtexCredentials
from sync.clients.vtex_catalog import MAX_REF_IDS_PER_CALL, VtexCatalogClient
from tests.support.openapi import validate_vtex_request, validate_vtex_response

BASE = "https://demostore.vtexcommercestable.com.br"
SKU_ID_PATH = "/api/catalog_system/pvt/sku/stockkeepingunitidbyrefid"
BATCH_PATH = "/api/catalog_system/pub/sku/stockkeepingunitidsbyrefids"
SKU_PATH = "/api/catalog/pvt/stockkeepingunit"
EAN_PATH = "/api/catalog_system/pvt/sku/stockkeepingunitbyean"
# The spec's example answers (catalog-api.json), trimmed to the fields the portal reads plus a few others.
SKU_BY_REF_ID = {
    "Id": 1,
    "ProductId": 1,
    "IsActive": True,
    "Name": "Royal Canin Feline Urinary 500g",
    "RefId": "0001",
    "PackagedHeight": 6.0,
    "MeasurementUnit": "un",
    "UnitMultiplier": 1.0,
    "Videos": [],
}
SKU_CONTEXT = {
    "Id": 2001773,
    "ProductId": 2001426,
    "NameComplete": "Tabela de Basquete",
    "SkuName": "Tabela de Basquete",
    "IsActive": False,
    "AlternateIds": {"Ean": "8781", "RefId": "878181"},
    "AlternateIdValues": ["8781", "878181"],
    "SalesChannels": [1, 2, 3, 10],
}


@pytest.fixture
def recorded():
    return []


@pytest.fixture
def catalog(recorded):
    return VtexCatalogClient(
        credentials=VtexCredentials(account_name="demostore", base_url=BASE, app_key="key", app_token="APP-TOKEN"),
        timeout=(1, 1),
        recorder=recorded.append,
    )


def sent(index: int = -1):
    call = responses.calls[index]
    return call.request, json.loads(call.request.body) if call.request.body else None


@responses.activate
def test_sku_id_by_ref_id_reads_the_json_string(catalog):
    responses.get(f"{BASE}{SKU_ID_PATH}/SKU-RED-M", json="435")

    assert catalog.get_sku_id_by_ref_id("SKU-RED-M") == 435
    request, _ = sent()
    assert request.headers["X-VTEX-API-AppKey"] == "key" and request.headers["Accept"] == "application/json"
    validate_vtex_request("catalog", "get", f"{SKU_ID_PATH}/SKU-RED-M")


@responses.activate
def test_a_ref_id_is_escaped_in_the_path(catalog):
    responses.get(f"{BASE}{SKU_ID_PATH}/A%2FB%20C", json="7")

    assert catalog.get_sku_id_by_ref_id("A/B C") == 7
    assert responses.calls[0].request.url.endswith("/stockkeepingunitidbyrefid/A%2FB%20C")


@responses.activate
@pytest.mark.parametrize(
    ("status", "body"), [(404, "SKU not found"), (200, None), (200, "")], ids=["404", "null", "empty"]
)
def test_an_unknown_ref_id_is_no_sku_not_an_error(catalog, status, body):
    responses.get(f"{BASE}{SKU_ID_PATH}/nope", status=status, json=body)

    assert catalog.get_sku_id_by_ref_id("nope") is None


@responses.activate
@pytest.mark.parametrize("body", ["0435", "-1", "abc", "2147483648", True, {"Id": 1}])
def test_an_answer_that_is_no_sku_id_is_a_payload_error(catalog, body):
    # "0435" would be another SKU than 435 for Logistics (catalog-sync.md §1.2): never read as 435.
    responses.get(f"{BASE}{SKU_ID_PATH}/X", json=body)

    with pytest.raises(PayloadError):
        catalog.get_sku_id_by_ref_id("X")


@pytest.mark.parametrize("ref_id", ["", " ", " A", "A ", None])
def test_a_blank_ref_id_is_refused_before_any_call(catalog, ref_id):
    with responses.RequestsMock() as mock, pytest.raises(ValueError):
        catalog.get_sku_id_by_ref_id(ref_id)
    assert not mock.calls


@responses.activate
def test_the_batch_lookup_sends_each_ref_id_once_and_keeps_only_known_ones(catalog):
    responses.post(f"{BASE}{BATCH_PATH}", json={"799": "435", "D25133K-B2": None, "OTHER": "9"})

    found = catalog.get_sku_ids_by_ref_ids(["799", "D25133K-B2", "799", "MISSING"])

    _, body = sent()
    assert body == ["799", "D25133K-B2", "MISSING"]  # a repeated RefId makes VTEX answer 500 (§1.2)
    validate_vtex_request("catalog", "post", BATCH_PATH, body=body)
    # null and omitted RefIds are unknown (§3.2); a RefId nobody asked for is not taken.
    assert found == {"799": 435}


@responses.activate
def test_the_batch_lookup_sends_at_most_a_hundred_ref_ids_a_call(catalog):
    ref_ids = [f"R{i}" for i in range(MAX_REF_IDS_PER_CALL * 2 + 1)]
    responses.post(f"{BASE}{BATCH_PATH}", json={ref_id: str(i + 1) for i, ref_id in enumerate(ref_ids)})

    found = catalog.get_sku_ids_by_ref_ids(ref_ids)

    bodies = [json.loads(call.request.body) for call in responses.calls]
    assert [len(body) for body in bodies] == [100, 100, 1]
    assert [ref_id for body in bodies for ref_id in body] == ref_ids
    assert found == {ref_id: i + 1 for i, ref_id in enumerate(ref_ids)}


def test_the_batch_lookup_of_nothing_makes_no_call(catalog):
    with responses.RequestsMock() as mock:
        assert catalog.get_sku_ids_by_ref_ids([]) == {}
    assert not mock.calls


@responses.activate
@pytest.mark.parametrize("body", [["435"], {"799": "0435"}, {"799": 3.5}, "435"])
def test_a_batch_answer_that_cannot_be_read_is_a_payload_error(catalog, body):
    responses.post(f"{BASE}{BATCH_PATH}", json=body)

    with pytest.raises(PayloadError):
        catalog.get_sku_ids_by_ref_ids(["799"])


@responses.activate
def test_the_batch_lookup_is_sent_in_a_dry_run_too(catalog):
    # A POST that only reads: a dry run must see the real mapping, not a held write's answer.
    responses.post(f"{BASE}{BATCH_PATH}", json={"799": "435"})
    held = []
    with writes_held(lambda call: (held.append(call), (200, None))[1]):
        assert catalog.get_sku_ids_by_ref_ids(["799"]) == {"799": 435}
    assert held == [] and len(responses.calls) == 1


def test_the_spec_examples_are_valid_catalog_answers():
    validate_vtex_response("catalog", "get", f"{SKU_ID_PATH}/0001", status=200, body="1")
    validate_vtex_response("catalog", "post", BATCH_PATH, status=200, body={"123": "435"}, request_body=["123"])
    validate_vtex_response("catalog", "get", SKU_PATH, status=200, body=SKU_BY_REF_ID, query={"RefId": "0001"})


@responses.activate
def test_sku_by_ref_id_reads_id_activity_and_ref_id(catalog):
    responses.get(f"{BASE}{SKU_PATH}", json=SKU_BY_REF_ID)

    sku = catalog.get_sku_by_ref_id("0001")

    assert sku == VtexSku(id=1, product_id=1, is_active=True, name="Royal Canin Feline Urinary 500g", ref_id="0001")
    request, _ = sent()
    assert request.url == f"{BASE}{SKU_PATH}?RefId=0001"
    validate_vtex_request("catalog", "get", SKU_PATH, query={"RefId": "0001"})


@responses.activate
def test_sku_by_ref_id_of_an_unknown_ref_id_is_none(catalog):
    responses.get(f"{BASE}{SKU_PATH}", status=404, json={"error": {"code": "CTL404", "message": "not found"}})

    assert catalog.get_sku_by_ref_id("nope") is None


@responses.activate
def test_sku_by_ean_reads_the_sku_context(catalog):
    responses.get(f"{BASE}{EAN_PATH}/8781", json=SKU_CONTEXT)

    sku = catalog.get_sku_by_ean("8781")

    assert (sku.id, sku.product_id, sku.is_active) == (2001773, 2001426, False)
    assert (sku.ref_id, sku.eans, sku.name) == ("878181", ("8781",), "Tabela de Basquete")
    validate_vtex_request("catalog", "get", f"{EAN_PATH}/8781")


@responses.activate
def test_sku_by_an_unknown_ean_is_none(catalog):
    responses.get(f"{BASE}{EAN_PATH}/0000", status=404, json="SKU not found")

    assert catalog.get_sku_by_ean("0000") is None


@responses.activate
def test_a_sku_context_without_an_id_is_a_payload_error(catalog):
    responses.get(f"{BASE}{EAN_PATH}/8781", json={"ProductId": 1, "IsActive": "maybe"})

    with pytest.raises(PayloadError):
        catalog.get_sku_by_ean("8781")


@responses.activate
def test_a_lookup_answered_with_html_is_a_payload_error(catalog):
    responses.get(f"{BASE}{EAN_PATH}/8781", body="<html>gateway</html>", content_type="text/html")

    with pytest.raises(PayloadError):
        catalog.get_sku_by_ean("8781")


@responses.activate
def test_a_429_is_retryable_with_vtexs_wait_and_not_applied(catalog):
    responses.post(f"{BASE}{BATCH_PATH}", status=429, headers={"Retry-After": "7"}, json={})

    with pytest.raises(RetryableError) as exc_info:
        catalog.get_sku_ids_by_ref_ids(["799"])

    # No limiter here: the first answer is the error. VTEX's wait is at least its minute (reference/vtex.md §9).
    assert exc_info.value.retry_after == 60 and exc_info.value.may_have_applied is False


@responses.activate
@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_is_retryable(catalog, status):
    responses.get(f"{BASE}{SKU_ID_PATH}/X", status=status, json={"error": {"code": "1", "message": "boom"}})

    with pytest.raises(RetryableError) as exc_info:
        catalog.get_sku_id_by_ref_id("X")
    assert exc_info.value.status == status


@responses.activate
@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_an_auth_error(catalog, status):
    responses.get(f"{BASE}{EAN_PATH}/1", status=status, json={"error": {"code": "2", "message": "Forbidden"}})

    with pytest.raises(AuthError):
        catalog.get_sku_by_ean("1")


@responses.activate
def test_calls_are_recorded_without_the_app_token(catalog, recorded):
    responses.post(f"{BASE}{BATCH_PATH}", json={"799": "435"})
    # An answer that echoes the credentials (a proxy's error page, a debugging gateway).
    echo = {"error": {"code": "2", "message": "Forbidden"}, "headers": {"X-VTEX-API-AppToken": "APP-TOKEN"}}
    responses.get(f"{BASE}{EAN_PATH}/1", status=403, json=echo)

    catalog.get_sku_ids_by_ref_ids(["799"])
    with pytest.raises(AuthError) as exc_info:
        catalog.get_sku_by_ean("1")

    first, second = recorded
    assert (first.remote, first.method, first.path, first.status) == ("vtex", "POST", BATCH_PATH, 200)
    assert "799" in first.request_excerpt
    assert second.status == 403 and "AppToken" in second.response_excerpt
    assert "APP-TOKEN" not in repr(recorded) and "APP-TOKEN" not in exc_info.value.body_excerpt
    assert responses.calls[0].request.headers["X-VTEX-API-AppToken"] == "APP-TOKEN"
