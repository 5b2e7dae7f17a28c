"""Order modifications: remove, preview, history; the deprecated changes endpoint."""

import pytest

from sandbox.vtex import statuses as st
from tests.support.openapi import validate_vtex_response
from tests.support.sandbox_vtex import (
    TOTAL,
    call,
    checked,
    create_order,
    error_code,
    get_order,
    handling_order,
    invoice,
    invoice_body,
)

REMOVE_ARM = {"reason": "Out of stock in ERP", "remove": {"items": [{"id": "27", "quantity": 1, "price": 1000}]}}


def _changes(order, suffix=""):
    return f"/api/order-system/orders/{order['orderId']}/changes{suffix}"


def _patch(sim, order, body, account="demostore"):
    return call(sim, "PATCH", _changes(order), body, query=f"accountName={account}")


def _validate_change_request(body: dict, *, method: str, path: str, status: int, query: dict, request_body=None):
    """PATCH 202 and preview 200 type ``remove`` as an array of strings, which contradicts the same spec's
    request (an object with items) and its history schema; the sandbox answers the object. Everything
    else is checked against the operation's own schema, and the whole body against the history schema."""
    validate_vtex_response(
        "orders", method, path, status=status, body={**body, "remove": None}, query=query, request_body=request_body
    )
    history = {"requests": [{"requestId": "", "workflowId": "", **body}], "actions": []}
    validate_vtex_response(
        "orders", "GET", path.removesuffix("/preview"), status=200, body=history, query={"an": "demostore"}
    )


def test_remove_answers_202_and_shrinks_items_totals_and_value(sim):
    order = handling_order(sim)
    response = _patch(sim, order, REMOVE_ARM)
    assert response.status_code == 202, response.content
    body = response.json()
    _validate_change_request(
        body,
        method="PATCH",
        path=_changes(order),
        status=202,
        query={"accountName": "demostore"},
        request_body=REMOVE_ARM,
    )
    assert body["totalChangeValue"] == -1000
    assert body["remove"]["items"][0]["uniqueId"] == order["items"][1]["uniqueId"]
    current = get_order(sim, order["orderId"])
    assert current["value"] == TOTAL - 1000
    assert [i["quantity"] for i in current["items"]] == [2, 0]
    assert next(t for t in current["totals"] if t["id"] == "Items")["value"] == 2 * 4950
    removed = current["changesAttachment"]["changesData"][0]["itemsRemoved"]
    assert [(r["id"], r["quantity"], r["price"]) for r in removed] == [("27", 1, 1000)]


def test_changed_order_still_validates_as_get_order(sim):
    order = handling_order(sim)
    _patch(sim, order, REMOVE_ARM)
    checked(sim, "orders", "GET", f"/api/oms/pvt/orders/{order['orderId']}", status=200)


def test_remove_targets_the_line_given_by_unique_id(sim):
    items = [
        {"skuId": "18", "name": "Bay Max L", "quantity": 1, "price": 4950},
        {"skuId": "18", "name": "Bay Max L (promo)", "quantity": 1, "price": 4950, "sellingPrice": 3950},
    ]
    order = handling_order(sim, items=items, shippingValue=0)
    second = order["items"][1]["uniqueId"]
    body = {"reason": "promo line cancelled", "remove": {"items": [{"id": "18", "quantity": 1, "uniqueId": second}]}}
    assert _patch(sim, order, body).status_code == 202
    current = get_order(sim, order["orderId"])
    assert [i["quantity"] for i in current["items"]] == [1, 0]
    assert current["value"] == 4950


def test_remove_requires_a_reason(sim):
    order = handling_order(sim)
    response = _patch(sim, order, {"remove": REMOVE_ARM["remove"]})
    assert response.status_code == 400
    assert error_code(response) == "SBX-CHANGE-REASON"


def test_removing_more_than_ordered_is_refused(sim):
    order = handling_order(sim)
    body = {"reason": "x", "remove": {"items": [{"id": "27", "quantity": 2}]}}
    response = _patch(sim, order, body)
    assert response.status_code == 400
    assert error_code(response) == "SBX-CHANGE-QUANTITY"
    assert get_order(sim, order["orderId"])["value"] == TOTAL


def test_removing_a_sku_not_on_the_order_is_refused(sim):
    order = handling_order(sim)
    assert _patch(sim, order, {"reason": "x", "remove": {"items": [{"id": "999", "quantity": 1}]}}).status_code == 400


def test_removing_every_item_is_refused_in_favour_of_cancel(sim):
    order = handling_order(sim)
    body = {"reason": "x", "remove": {"items": [{"id": "18", "quantity": 2}, {"id": "27", "quantity": 1}]}}
    response = _patch(sim, order, body)
    assert response.status_code == 400
    assert error_code(response) == "SBX-CHANGE-ALL"


@pytest.mark.parametrize("status", [st.READY_FOR_HANDLING, st.PAYMENT_PENDING])
def test_modifications_before_handling_are_refused(sim, status):
    order = create_order(sim, status=status)
    response = _patch(sim, order, REMOVE_ARM)
    assert response.status_code == 400
    assert error_code(response) == "SBX-CHANGE-STATUS"


def test_modifications_of_an_invoiced_order_are_refused(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body())
    assert _patch(sim, order, REMOVE_ARM).status_code == 400


def test_modifications_of_a_canceled_order_are_refused(sim):
    order = handling_order(sim)
    call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/cancel", {"reason": "x"})
    assert _patch(sim, order, REMOVE_ARM).status_code == 400


@pytest.mark.parametrize("status", [st.WAITING_FOR_FULFILLMENT, st.READY_FOR_INVOICING])
def test_modifications_are_allowed_in_the_other_statuses_the_spec_names(sim, status):
    order = handling_order(sim)
    sim.post(f"/_sim/vtex/orders/{order['orderId']}/status", {"status": status}, content_type="application/json")
    assert _patch(sim, order, REMOVE_ARM).status_code == 202


def test_removing_the_rest_after_a_partial_invoice_makes_the_order_invoiced(sim):
    order = handling_order(sim)
    shipped = [{"id": "18", "price": 4950, "quantity": 2}]
    invoice(sim, order["orderId"], invoice_body("A1", value=TOTAL - 1000, items=shipped))
    assert get_order(sim, order["orderId"])["status"] == st.INVOICE
    assert _patch(sim, order, REMOVE_ARM).status_code == 202
    assert get_order(sim, order["orderId"])["status"] == st.INVOICED


def test_already_invoiced_units_cannot_be_removed(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body("A1", value=1000, items=[{"id": "27", "price": 1000, "quantity": 1}]))
    response = _patch(sim, order, REMOVE_ARM)
    assert response.status_code == 400
    assert error_code(response) == "SBX-CHANGE-QUANTITY"


def test_add_and_replace_are_not_simulated(sim):
    order = handling_order(sim)
    body = {"reason": "x", "add": {"items": [{"id": "8", "quantity": 1}]}}
    assert _patch(sim, order, body).status_code == 501


def test_patch_requires_the_account_name_query_parameter(sim):
    order = handling_order(sim)
    response = call(sim, "PATCH", _changes(order), REMOVE_ARM)
    assert response.status_code == 400
    assert error_code(response) == "SBX-ACCOUNT-PARAM"


def test_patch_for_another_account_name_is_403(sim):
    order = handling_order(sim)
    assert _patch(sim, order, REMOVE_ARM, account="otherstore").status_code == 403


def test_preview_shows_the_result_without_changing_anything(sim):
    order = handling_order(sim)
    response = call(sim, "POST", _changes(order, "/preview"), REMOVE_ARM, query="an=demostore")
    assert response.status_code == 200
    body = response.json()
    assert body["totalChangeValue"] == -1000
    assert next(t for t in body["totals"] if t["id"] == "Items")["value"] == 2 * 4950
    assert get_order(sim, order["orderId"])["value"] == TOTAL
    assert get_order(sim, order["orderId"])["changesAttachment"] is None


def test_preview_body_validates_apart_from_the_remove_typing(sim):
    order = handling_order(sim)
    body = call(sim, "POST", _changes(order, "/preview"), REMOVE_ARM, query="an=demostore").json()
    for key in ("requestId", "workflowId"):
        assert key not in body
    validate_vtex_response(
        "orders",
        "POST",
        _changes(order, "/preview"),
        status=200,
        body={**body, "remove": None},
        query={"an": "demostore"},
    )


def test_preview_applies_the_same_rules(sim):
    order = create_order(sim)
    assert call(sim, "POST", _changes(order, "/preview"), REMOVE_ARM, query="an=demostore").status_code == 400


def test_history_lists_every_modification(sim):
    order = handling_order(sim)
    first = _patch(sim, order, REMOVE_ARM).json()
    body = checked(sim, "orders", "GET", _changes(order), status=200, query={"an": "demostore"})
    assert [r["requestId"] for r in body["requests"]] == [first["requestId"]]
    assert body["requests"][0]["totals"][0] == {"id": "Items", "name": "Total dos Itens", "value": 2 * 4950}


def test_one_modification_can_be_read_back(sim):
    order = handling_order(sim)
    request_id = _patch(sim, order, REMOVE_ARM).json()["requestId"]
    response = call(sim, "GET", _changes(order, f"/{request_id}"), query="an=demostore")
    assert response.status_code == 200
    assert response.json()["requestId"] == request_id


def test_the_deprecated_changes_endpoint_answers_410(sim):
    order = handling_order(sim)
    body = {
        "requestId": "1",
        "reason": "x",
        "discountValue": 0,
        "incrementValue": 0,
        "itemsRemoved": [],
        "itemsAdded": [],
    }
    response = call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/changes", body)
    assert response.status_code == 410
    assert "deprecated" in response.json()["error"]["message"]
