"""POST /_sim/vario/orders/{id}/state: any document state key, with the event the change fires."""

import pytest

from sandbox.deliveries import deliveries_dispatch_due
from tests.support.sandbox_vario import Vario

DISSOLVE = "document.customer_order.dissolve"
END_EDITING = "document.customer_order.end_editing"


@pytest.fixture
def vario(sim, settings):
    settings.SANDBOX_WEBHOOK_RETRY_DELAYS = [1]
    return Vario(sim)


def set_state(vario, order_id, body, expect=200):
    return vario.control(f"orders/{order_id}/state", body, expect=expect).json()


def events_received(vario, receiver) -> list[tuple[str, dict]]:
    deliveries_dispatch_due()
    return [(path, body) for path, (body, _) in zip(receiver.paths, receiver.received, strict=True)]


@pytest.fixture
def listening(vario, receiver):
    vario.register(DISSOLVE, receiver.url + "/dissolve")
    vario.register(END_EDITING, receiver.url + "/end_editing")
    return receiver


def test_cancelled_after_a_partial_delivery_fires_dissolve(vario, listening):
    order = vario.order(lines=(("SKU-RED-M", 2),))
    line = order["lines"][0]["id"]
    vario.control(f"orders/{order['id']}/deliver", {"lines": [{"orderLineId": line, "quantity": 1}]}, expect=201)

    answer = set_state(vario, order["id"], {"key": "CANCELLED"})

    assert answer["documentState"] == {"key": "CANCELLED", "label": "Storniert", "definition": "SELECTABLE_TYPES"}
    document = vario.get(f"/erp/documents/{order['id']}").json()
    assert document["documentState"]["key"] == "CANCELLED"
    assert document["lines"][0]["quantityCommitted"] == 1  # the delivered part stays
    assert events_received(vario, listening) == [("/dissolve", {"id": int(order["id"])})]


def test_a_tenant_specific_key_fires_end_editing_and_is_shown_as_is(vario, listening):
    order = vario.order()

    answer = set_state(vario, order["id"], {"key": "STORNO_KUNDE"})

    assert answer["documentState"] == {"key": "STORNO_KUNDE", "label": "STORNO_KUNDE", "definition": "SELECTABLE_TYPES"}
    assert events_received(vario, listening) == [("/end_editing", {"id": int(order["id"])})]


def test_a_state_change_raises_the_version(vario):
    order = vario.order()
    answer = set_state(vario, order["id"], {"key": "IN_PICKING"})
    assert int(answer["version"]) == int(order["version"]) + 1


def test_the_state_can_be_queried_with_vql(vario):
    order = vario.order()
    set_state(vario, order["id"], {"key": "CANCELLED"})
    rows = vario.rows(
        "SELECT id, documentState.key FROM document.querySalesDocuments WHERE documentState.key = 'CANCELLED'"
    )
    assert rows == [{"id": order["id"], "documentState.key": "CANCELLED"}]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({}, 400, "key must be a non-empty string"),
        ({"key": ""}, 400, "key must be a non-empty string"),
        ({"key": 5}, 400, "key must be a non-empty string"),
        ({"key": "X" * 31}, 400, "at most 30 characters"),
        ({"key": " CANCELLED"}, 400, "surrounding blanks"),
        ({"key": "CANCELLED", "label": "Storno"}, 400, "Unknown fields: label"),
    ],
)
def test_invalid_bodies_change_nothing_and_fire_nothing(vario, listening, body, status, fragment):
    order = vario.order()
    answer = set_state(vario, order["id"], body, expect=status)
    assert fragment in answer["error"]
    assert vario.state(order["id"])["order"]["documentState"]["key"] == "SAVED"
    assert events_received(vario, listening) == []


def test_unknown_order_is_404(vario):
    assert "does not exist" in set_state(vario, "99999", {"key": "CANCELLED"}, expect=404)["error"]


def test_a_delivery_note_is_not_an_order(vario):
    order = vario.order()
    note = vario.control(f"orders/{order['id']}/deliver", expect=201).json()["delivery"]
    set_state(vario, note["id"], {"key": "CANCELLED"}, expect=404)


def test_only_post_is_allowed(vario):
    order = vario.order()
    assert vario.client.get(f"/_sim/vario/orders/{order['id']}/state").status_code == 405
