"""Invoice notification (Output and Input), tracking PATCH/PUT and the invoice-number known issues."""

import pytest

from sandbox.vtex import statuses as st
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
    record_status_events,
)


@pytest.fixture
def status_events(monkeypatch):
    return record_status_events(monkeypatch)


FIRST_PART = [{"id": "18", "price": 4950, "quantity": 1}]
FIRST_PART_VALUE = 4950


def _path(order, suffix=""):
    return f"/api/oms/pvt/orders/{order['orderId']}/invoice{suffix}"


def _tracking(**overrides):
    return {
        "trackingNumber": "00340434161234567890",
        "trackingUrl": "https://tracking.example-carrier.com/?id=00340434161234567890",
        "courier": "DHL",
        "dispatchedDate": "2026-03-02T16:40:00+01:00",
        **overrides,
    }


def _events(**overrides):
    return {
        "isDelivered": False,
        "deliveredDate": None,
        "events": [{"city": "Ostrava", "state": "MSK", "description": "Picked up by carrier", "date": "2026-03-02"}],
        **overrides,
    }


# --- Output invoices --------------------------------------------------------------------------------


def test_full_invoice_answers_a_receipt_and_makes_the_order_invoiced(sim, status_events):
    order = handling_order(sim)
    status_events.clear()
    body = checked(sim, "orders", "POST", _path(order), invoice_body(), status=200)
    assert body["orderId"] == order["orderId"]
    assert len(body["receipt"]) == 32 and int(body["receipt"], 16) >= 0
    assert [(e["last_state"], e["state"]) for e in status_events] == [
        (st.HANDLING, st.INVOICE),
        (st.INVOICE, st.INVOICED),
    ]
    package = get_order(sim, order["orderId"])["packageAttachment"]["packages"][0]
    assert (package["type"], package["invoiceNumber"], package["invoiceValue"]) == ("Output", "VF2026000123", TOTAL)
    assert [(i["itemIndex"], i["quantity"], i["price"]) for i in package["items"]] == [(0, 2, 4950), (1, 1, 1000)]


def test_invoice_value_may_be_an_integer(sim):
    order = handling_order(sim)
    assert invoice(sim, order["orderId"], invoice_body(value=TOTAL) | {"invoiceValue": TOTAL}).status_code == 200
    assert get_order(sim, order["orderId"])["status"] == st.INVOICED


def test_partial_invoice_leaves_the_order_in_invoice(sim):
    order = handling_order(sim)
    assert invoice(sim, order["orderId"], invoice_body(value=FIRST_PART_VALUE, items=FIRST_PART)).status_code == 200
    current = get_order(sim, order["orderId"])
    assert current["status"] == st.INVOICE
    assert current["value"] == TOTAL


def test_partial_invoices_adding_up_to_the_total_make_the_order_invoiced(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body("A1", value=FIRST_PART_VALUE, items=FIRST_PART))
    rest = [{"id": "18", "price": 4950, "quantity": 1}, {"id": "27", "price": 1000, "quantity": 1}]
    assert (
        invoice(sim, order["orderId"], invoice_body("A2", value=TOTAL - FIRST_PART_VALUE, items=rest)).status_code
        == 200
    )
    assert get_order(sim, order["orderId"])["status"] == st.INVOICED


def test_invoice_before_start_handling_is_refused(sim):
    order = create_order(sim)
    response = invoice(sim, order["orderId"], invoice_body())
    assert response.status_code == 400
    assert error_code(response) == "SBX-INVOICE-STATUS"
    assert get_order(sim, order["orderId"])["packageAttachment"]["packages"] == []


def test_invoice_of_a_canceled_order_is_refused(sim):
    order = handling_order(sim)
    call(sim, "POST", f"/api/oms/pvt/orders/{order['orderId']}/cancel", {"reason": "x"})
    assert invoice(sim, order["orderId"], invoice_body()).status_code == 400


def test_the_same_invoice_number_twice_is_rejected(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body("A1", value=FIRST_PART_VALUE, items=FIRST_PART))
    response = invoice(sim, order["orderId"], invoice_body("A1", value=FIRST_PART_VALUE, items=FIRST_PART))
    assert response.status_code == 409
    assert error_code(response) == "SBX-INVOICE-DUPLICATE"
    assert len(get_order(sim, order["orderId"])["packageAttachment"]["packages"]) == 1


def test_invoiced_quantities_may_not_exceed_ordered_ones(sim):
    order = handling_order(sim)
    too_many = [{"id": "27", "price": 1000, "quantity": 2}]
    response = invoice(sim, order["orderId"], invoice_body(value=2000, items=too_many))
    assert response.status_code == 400
    assert error_code(response) == "SBX-INVOICE-QUANTITY"


def test_quantities_are_cumulated_over_all_sale_invoices(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body("A1", value=4950, items=FIRST_PART))
    invoice(sim, order["orderId"], invoice_body("A2", value=4950, items=FIRST_PART))
    response = invoice(sim, order["orderId"], invoice_body("A3", value=1000, items=FIRST_PART))
    assert response.status_code == 400
    assert error_code(response) == "SBX-INVOICE-QUANTITY"


def test_invoice_items_must_be_skus_of_the_order(sim):
    order = handling_order(sim)
    response = invoice(sim, order["orderId"], invoice_body(items=[{"id": "999", "price": 100, "quantity": 1}]))
    assert response.status_code == 400
    assert error_code(response) == "SBX-INVOICE-SKU"


def test_invoice_value_above_what_is_left_to_invoice_is_refused(sim):
    order = handling_order(sim)
    response = invoice(sim, order["orderId"], invoice_body(value=TOTAL + 1))
    assert response.status_code == 400
    assert error_code(response) == "SBX-INVOICE-VALUE"


@pytest.mark.parametrize("value", ["116.00", "0", "-5", "abc", 0, 11.6, True])
def test_invoice_value_must_be_positive_cents(sim, value):
    order = handling_order(sim)
    response = invoice(sim, order["orderId"], invoice_body() | {"invoiceValue": value})
    assert response.status_code == 400
    assert error_code(response) == "SBX-INVOICE-VALUE"


@pytest.mark.parametrize("field", ["type", "issuanceDate", "invoiceNumber", "invoiceValue", "items"])
def test_invoice_required_fields(sim, field):
    order = handling_order(sim)
    body = invoice_body()
    del body[field]
    response = invoice(sim, order["orderId"], body)
    assert response.status_code == 400
    assert field in response.json()["error"]["message"]


def test_issuance_date_without_time_is_refused(sim):
    order = handling_order(sim)
    response = invoice(sim, order["orderId"], invoice_body(issuanceDate="2026-03-02"))
    assert response.status_code == 400
    assert error_code(response) == "SBX-INVOICE-DATE"


def test_issuance_date_with_seven_fraction_digits_is_accepted(sim):
    order = handling_order(sim)
    assert (
        invoice(sim, order["orderId"], invoice_body(issuanceDate="2024-02-07T15:22:56.7612218-02:00")).status_code
        == 200
    )


def test_invoice_type_must_be_output_or_input(sim):
    order = handling_order(sim)
    assert invoice(sim, order["orderId"], invoice_body(kind="Sale")).status_code == 400


def test_invoice_sent_without_json_content_type_is_refused(sim):
    order = handling_order(sim)
    response = sim.post(
        f"/api/oms/pvt/orders/{order['orderId']}/invoice",
        data="type=Output",
        content_type="application/x-www-form-urlencoded",
        HTTP_X_VTEX_API_APPKEY="vtexappkey-demostore-PORTAL",
        HTTP_X_VTEX_API_APPTOKEN="demo-app-token",
    )
    assert response.status_code == 400
    assert error_code(response) == "SBX-CONTENT-TYPE"


def test_same_sku_on_two_lines_is_spread_over_both(sim):
    items = [
        {"skuId": "18", "name": "Bay Max L", "quantity": 1, "price": 4950},
        {"skuId": "18", "name": "Bay Max L (promo)", "quantity": 1, "price": 4950, "sellingPrice": 3950},
    ]
    order = handling_order(sim, items=items, shippingValue=0)
    invoice(sim, order["orderId"], invoice_body(value=8900, items=[{"id": "18", "price": 4450, "quantity": 2}]))
    package = get_order(sim, order["orderId"])["packageAttachment"]["packages"][0]
    assert [(i["itemIndex"], i["quantity"]) for i in package["items"]] == [(0, 1), (1, 1)]


# --- Input (return) invoices ------------------------------------------------------------------------


def test_return_invoice_after_invoicing_creates_a_refund_and_keeps_the_status(sim, status_events):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body())
    status_events.clear()
    body = invoice_body("R1", kind="Input", value=1000, items=[{"id": "27", "price": 1000, "quantity": 1}])
    checked(sim, "orders", "POST", _path(order), body, status=200)
    current = get_order(sim, order["orderId"])
    assert current["status"] == st.INVOICED
    assert status_events == []
    refund = current["packageAttachment"]["packages"][1]["restitutions"]["Refund"]
    assert refund["value"] == 1000
    assert [(i["id"], i["quantity"]) for i in refund["items"]] == [("27", 1)]


def test_return_invoice_before_the_order_is_invoiced_is_refused(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body("A1", value=FIRST_PART_VALUE, items=FIRST_PART))
    body = invoice_body("R1", kind="Input", value=4950, items=FIRST_PART)
    response = invoice(sim, order["orderId"], body)
    assert response.status_code == 400
    assert error_code(response) == "SBX-RETURN-STATUS"


def test_returned_quantities_may_not_exceed_invoiced_ones(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body())
    invoice(
        sim,
        order["orderId"],
        invoice_body("R1", kind="Input", value=1000, items=[{"id": "27", "price": 1000, "quantity": 1}]),
    )
    again = invoice_body("R2", kind="Input", value=1000, items=[{"id": "27", "price": 1000, "quantity": 1}])
    response = invoice(sim, order["orderId"], again)
    assert response.status_code == 400
    assert error_code(response) == "SBX-RETURN-QUANTITY"


# --- invoice numbers VTEX chokes on -----------------------------------------------------------------


def test_invoice_number_with_a_leading_hash_is_accepted_but_never_reaches_invoiced(sim):
    order = handling_order(sim)
    assert invoice(sim, order["orderId"], invoice_body("#123456")).status_code == 200
    assert get_order(sim, order["orderId"])["status"] == st.INVOICE


def test_invoice_number_with_a_trailing_special_character_never_reaches_invoiced(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body("123456-"))
    assert get_order(sim, order["orderId"])["status"] == st.INVOICE


def test_invoice_number_with_a_space_breaks_later_tracking_with_500(sim):
    order = handling_order(sim)
    assert invoice(sim, order["orderId"], invoice_body("VF 123")).status_code == 200
    response = call(sim, "PATCH", _path(order, "/VF%20123"), _tracking())
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "An error has occurred"


def test_invoice_number_with_a_space_breaks_tracking_events_with_500(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body("VF 123", trackingNumber="TN1"))
    assert call(sim, "PUT", _path(order, "/VF%20123/tracking"), _events()).status_code == 500


def test_invoice_number_with_a_slash_makes_tracking_routes_404_even_encoded(sim):
    order = handling_order(sim)
    assert invoice(sim, order["orderId"], invoice_body("2026/123", trackingNumber="TN1")).status_code == 200
    assert call(sim, "PATCH", _path(order, "/2026/123"), _tracking()).status_code == 404
    assert call(sim, "PATCH", _path(order, "/2026%2F123"), _tracking()).status_code == 404
    assert call(sim, "PUT", _path(order, "/2026%2F123/tracking"), _events()).status_code == 404


# --- tracking ---------------------------------------------------------------------------------------


def test_patch_adds_tracking_to_an_existing_invoice(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body())
    body = checked(sim, "orders", "PATCH", _path(order, "/VF2026000123"), _tracking(), status=200)
    assert len(body["receipt"]) == 32
    package = get_order(sim, order["orderId"])["packageAttachment"]["packages"][0]
    assert (package["trackingNumber"], package["courier"]) == ("00340434161234567890", "DHL")


def test_patch_on_an_unknown_invoice_is_404(sim):
    order = handling_order(sim)
    assert call(sim, "PATCH", _path(order, "/NOPE"), _tracking()).status_code == 404


@pytest.mark.parametrize("field", ["trackingNumber", "trackingUrl", "courier", "dispatchedDate"])
def test_patch_requires_every_tracking_field(sim, field):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body())
    body = _tracking()
    del body[field]
    assert call(sim, "PATCH", _path(order, "/VF2026000123"), body).status_code == 400


def test_put_tracking_events_land_in_courier_status(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body())
    call(sim, "PATCH", _path(order, "/VF2026000123"), _tracking())
    checked(sim, "orders", "PUT", _path(order, "/VF2026000123/tracking"), _events(), status=200)
    status = get_order(sim, order["orderId"])["packageAttachment"]["packages"][0]["courierStatus"]
    assert status["finished"] is False
    assert [(e["city"], e["createDate"]) for e in status["data"]] == [("Ostrava", "2026-03-02")]


def test_put_tracking_delivered_finishes_the_courier_status(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body(trackingNumber="TN1"))
    delivered = _events(isDelivered=True, deliveredDate="2026-03-04 11:20")
    assert call(sim, "PUT", _path(order, "/VF2026000123/tracking"), delivered).status_code == 200
    current = get_order(sim, order["orderId"])
    status = current["packageAttachment"]["packages"][0]["courierStatus"]
    assert (status["finished"], status["deliveredDate"]) == (True, "2026-03-04 11:20")
    assert current["status"] == st.INVOICED


def test_put_tracking_appends_a_resent_event_again(sim):
    # reference/vtex.md §8.3: "events appended" — a client must send only what is new.
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body(trackingNumber="TN1"))
    call(sim, "PUT", _path(order, "/VF2026000123/tracking"), _events())
    call(sim, "PUT", _path(order, "/VF2026000123/tracking"), _events())
    status = get_order(sim, order["orderId"])["packageAttachment"]["packages"][0]["courierStatus"]
    assert len(status["data"]) == 2 * len(_events()["events"])


def test_put_tracking_without_a_tracking_number_is_refused(sim):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body())
    response = call(sim, "PUT", _path(order, "/VF2026000123/tracking"), _events())
    assert response.status_code == 400
    assert error_code(response) == "SBX-TRACKING-MISSING"


def test_put_tracking_on_an_unknown_invoice_is_404(sim):
    order = handling_order(sim)
    assert call(sim, "PUT", _path(order, "/NOPE/tracking"), _events()).status_code == 404


@pytest.mark.parametrize(
    "overrides",
    [
        {"deliveredDate": "2026-03-04T11:20:00Z", "isDelivered": True},
        {"deliveredDate": None, "isDelivered": True},
        {"events": [{"city": "Brno", "state": "JHM", "description": "x", "date": "04/03/2026"}]},
        {"events": [{"city": "Brno", "state": "JHM", "date": "2026-03-04"}]},
        {"isDelivered": "yes"},
    ],
)
def test_put_tracking_validates_dates_and_events(sim, overrides):
    order = handling_order(sim)
    invoice(sim, order["orderId"], invoice_body(trackingNumber="TN1"))
    assert call(sim, "PUT", _path(order, "/VF2026000123/tracking"), _events(**overrides)).status_code == 400


def test_ki_1330069_full_invoice_shows_product_names_instead_of_descriptions(sim):
    order = handling_order(sim)
    items = [
        {"id": "18", "price": 4950, "quantity": 2, "description": "1010"},
        {"id": "27", "price": 1000, "quantity": 1},
    ]
    invoice(sim, order["orderId"], invoice_body(items=items))
    package = get_order(sim, order["orderId"])["packageAttachment"]["packages"][0]
    assert package["items"][0]["description"] == "Bay Max L"


def test_partial_invoice_keeps_its_own_item_descriptions(sim):
    order = handling_order(sim)
    items = [{"id": "18", "price": 4950, "quantity": 1, "description": "1010"}]
    invoice(sim, order["orderId"], invoice_body(value=4950, items=items))
    package = get_order(sim, order["orderId"])["packageAttachment"]["packages"][0]
    assert package["items"][0]["description"] == "1010"
