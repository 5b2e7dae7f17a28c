"""Custom-field (EAV) groups of the VARIO simulator (reference/vario-erp.md §1.4, §1.10)."""

import pytest

from tests.support.sandbox_vario import Vario


@pytest.fixture
def vario(sim):
    return Vario(sim)


GROUP = {"key": "shopdata", "label": "Shop", "entities": ["document"], "attributes": [{"key": "ref", "type": "TEXT"}]}


def test_the_portals_group_is_installed_by_the_seed(vario):
    response = vario.get("/cmn/eav-groups/by-key/vtexportal")
    assert response.status_code == 200
    assert {a["key"] for a in response.json()["attributes"]} == {
        "externalOrderId",
        "marketplaceOrderId",
        "externalItemId",
    }


def test_an_unknown_group_is_404_in_varios_error_shape(vario):
    response = vario.get("/cmn/eav-groups/by-key/nothing")
    assert (response.status_code, response.json()["status"]) == (404, 404)


def test_a_created_group_is_found_by_key_and_names_the_app(vario):
    created = vario.post("/cmn/eav-groups", GROUP)
    assert created.status_code == 201

    found = vario.get("/cmn/eav-groups/by-key/shopdata").json()
    assert found["id"] == created.json()["id"] and found["appIdentifier"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({**GROUP, "key": "vtexportal"}, 409),
        ({"label": "no key"}, 400),
        ({**GROUP, "attributes": [{"key": "ref", "type": "STRING"}]}, 400),
    ],
    ids=["existing key", "no key", "unknown type"],
)
def test_a_group_vario_cannot_create_is_refused(vario, body, status):
    assert vario.post("/cmn/eav-groups", body).status_code == status


def test_the_control_api_removes_a_group_as_on_a_fresh_tenant(vario):
    assert vario.client.delete("/_sim/vario/eav-groups/vtexportal").json() == {"removed": True}
    assert vario.get("/cmn/eav-groups/by-key/vtexportal").status_code == 404
