import pytest

from tests.support.sandbox_vario import Vario


@pytest.fixture
def vario(sim):
    return Vario(sim)


def create_body(**document):
    body = {
        "transitionId": "create",
        "targetTypeId": 12,
        "parameters": [],
        "document": {
            "accountId": "501",
            "salesChannelId": "7",
            "externalId": "1510581234567-01",
            "externalNumber": "SLR-1510581234567-01",
            "documentDate": "2026-03-01",
            "billingType": "GROSS",
            "deliveryMethodId": 3,
            "paymentMethodId": 2,
            "deliveryAddress": {
                "name1": "Erika Muster",
                "street": "Hauptstr.",
                "streetAddressNumber": "1",
                "postcode": "10115",
                "city": "Berlin",
                "countryCode": "DEU",
            },
            "lines": [
                {
                    "lineType": "ARTICLE_LINE",
                    "articleId": 77,
                    "quantity": 2,
                    "productPrice": 19.99,
                    "name": "T-Shirt rot M",
                    "externalId": "item-0",
                    "custom": {"vtexportal": {"externalItemId": "item-0"}},
                }
            ],
            "custom": {"vtexportal": {"externalOrderId": "1510581234567-01", "marketplaceOrderId": "702-123"}},
        },
    }
    body["document"].update(document)
    return body


def deliver(vario, order, *lines, expect=201, **fields):
    body = dict(fields)
    if lines:
        body["lines"] = [{"orderLineId": order["lines"][i]["id"], "quantity": qty} for i, qty in lines]
    return vario.control(f"orders/{order['id']}/deliver", body, expect=expect).json()


# --- reading documents ----------------------------------------------------------------------------


def test_an_order_has_the_shape_of_the_working_model(vario):
    order = vario.order(externalIdentifier="ext-1", externalOrderId="ext-1", externalNumber="SLR-ext-1")

    document = vario.get(f"/erp/documents/{order['id']}").json()

    assert document["id"] == order["id"] and isinstance(document["id"], str)
    assert document["documentTypeId"] == 12
    assert document["documentTypeCategory"] == "CUSTOMER_ORDER"
    assert document["documentState"] == {"key": "SAVED", "label": "Gespeichert", "definition": "SELECTABLE_TYPES"}
    assert document["number"].startswith("AU-")
    assert (document["externalIdentifier"], document["externalNumber"]) == ("ext-1", "SLR-ext-1")
    assert document["referencedOrderNumber"] is None
    assert document["salesChannelRef"] == {"id": "7", "label": "VTEX DE", "description": None, "active": True}
    assert document["accountId"] == "501"
    assert document["deliveryMethodRef"]["id"] == "3"
    assert document["deliveryAddress"]["countryCode"] == "DEU"
    assert document["custom"] == {"vtexportal": {"externalOrderId": "ext-1"}}
    assert document["version"] == "1"
    assert set(document["info"]) >= {"createdAt", "updatedAt"}
    line = document["lines"][0]
    assert (line["lineType"], line["articleId"], line["number"]) == ("ARTICLE_LINE", 77, "SKU-RED-M")
    assert (line["quantity"], line["quantityCommitted"], line["complete"]) == (2, 0, False)


def test_ids_of_different_kinds_never_coincide(vario):
    order = vario.order()
    delivery = deliver(vario, order, carrier="DHL", trackingNumber="00340434161234567890")

    ids = {
        order["id"],
        order["lines"][0]["id"],
        delivery["delivery"]["id"],
        delivery["shipment"]["id"],
        delivery["parcelId"],
    }
    assert len(ids) == 5


def test_unknown_document_is_404_in_varios_error_shape(vario):
    response = vario.get("/erp/documents/999999")
    assert response.status_code == 404
    assert response.json() == {"status": 404, "message": "Document with id 999999 not found"}


def test_article_and_document_type_can_be_read(vario):
    article = vario.get("/erp/articles/77").json()
    assert (article["id"], article["articleNumber"], article["active"]) == ("77", "SKU-RED-M", True)
    assert len(article["ean"]) == 13
    assert vario.get("/erp/document-types/14").json()["category"] == "CUSTOMER_DELIVERY_DOCUMENT"


# --- deliveries and shipments ---------------------------------------------------------------------


def test_partial_delivery_commits_quantities_and_marks_the_order_partially_delivered(vario):
    order = vario.order(lines=(("SKU-RED-M", 2), ("SHOE-BLACK-42", 1)))

    deliver(vario, order, (0, 1))

    document = vario.get(f"/erp/documents/{order['id']}").json()
    assert document["documentState"]["key"] == "PARTIALLY_DELIVERED"
    assert [(x["quantityCommitted"], x["complete"]) for x in document["lines"]] == [(1, False), (0, False)]
    assert document["version"] == "2"


def test_full_delivery_completes_every_line_and_marks_the_order_delivered(vario):
    order = vario.order(lines=(("SKU-RED-M", 2), ("SHOE-BLACK-42", 1)))
    deliver(vario, order, (0, 1))

    deliver(vario, order)  # no lines: everything still open

    document = vario.get(f"/erp/documents/{order['id']}").json()
    assert document["documentState"]["key"] == "DELIVERED"
    assert [(x["quantityCommitted"], x["complete"]) for x in document["lines"]] == [(2, True), (1, True)]
    assert len(vario.state(order["id"])["deliveries"]) == 2


def test_delivery_note_points_back_to_its_order_lines(vario):
    order = vario.order(externalIdentifier="ext-2", externalOrderId="ext-2")

    note = deliver(vario, order, (0, 1))["delivery"]

    document = vario.get(f"/erp/documents/{note['id']}").json()
    assert document["documentTypeCategory"] == "CUSTOMER_DELIVERY_DOCUMENT"
    assert document["documentState"]["key"] == "SAVED"
    assert document["referencedOrderNumber"] == order["number"]
    assert document["shippingDate"] == document["documentDate"]
    assert document["externalIdentifier"] == "ext-2"
    assert document["custom"] == {"vtexportal": {"externalOrderId": "ext-2"}}
    line = document["lines"][0]
    assert line["quantity"] == 1
    assert line["customerOrderLineRef"] == {
        "documentId": int(order["id"]),
        "id": int(order["lines"][0]["id"]),
        "number": order["number"],
        "position": 1,
        "articleNumber": "SKU-RED-M",
        "quantity": 2,
        "category": "CUSTOMER_ORDER",
    }


def test_external_ids_can_be_left_off_delivery_notes(vario):
    vario.control("faults", {"copyExternalIds": False}, expect=200)
    order = vario.order(externalIdentifier="ext-3", externalOrderId="ext-3")

    note = deliver(vario, order)["delivery"]

    assert note["externalIdentifier"] is None
    assert note["custom"] == {}
    assert note["lines"][0]["customerOrderLineRef"]["documentId"] == int(order["id"])


def test_delivery_with_tracking_number_creates_a_shipment_with_a_parcel(vario):
    order = vario.order()
    answer = deliver(vario, order, carrier="UPS", trackingNumber="1Z999AA10123456784")

    shipment = vario.get(f"/vds/shipment/{answer['shipment']['id']}").json()

    assert shipment["documentId"] == int(answer["delivery"]["id"])
    assert shipment["carrier"] == {"id": "6", "key": "UPS", "label": "UPS"}
    assert shipment["deliveryMethodId"] == 3
    assert shipment["parcels"] == [
        {
            "id": answer["parcelId"],
            "trackingNumber": "1Z999AA10123456784",
            "trackingUrl": None,
            "state": "COMPLETED",
            "weight": None,
            "events": [],
            "deliveredAt": None,
        }
    ]


def test_tracking_number_without_carrier_uses_the_delivery_methods_carrier(vario):
    order = vario.order()
    answer = deliver(vario, order, trackingNumber="00340434161234567890")
    assert answer["shipment"]["carrier"]["key"] == "DHL"


def test_delivery_without_tracking_number_creates_no_shipment(vario):
    answer = deliver(vario, vario.order())
    assert answer["shipment"] is None


def test_unknown_shipment_is_404(vario):
    assert vario.get("/vds/shipment/1").status_code == 404


def test_unknown_carrier_key_is_refused(vario):
    order = vario.order()
    answer = deliver(vario, order, carrier="POSTMAN_PAT", trackingNumber="1", expect=400)
    assert "POSTMAN_PAT" in answer["error"]


def test_late_tracking_adds_a_parcel_to_the_delivery_note(vario):
    order = vario.order()
    note = deliver(vario, order)["delivery"]

    answer = vario.control(f"deliveries/{note['id']}/parcels", {"carrier": "DPD", "trackingNumber": "0123"}, expect=201)

    shipment = vario.get(f"/vds/shipment/{answer.json()['shipment']['id']}").json()
    assert shipment["documentId"] == int(note["id"])
    assert [p["trackingNumber"] for p in shipment["parcels"]] == ["0123"]


def test_a_second_parcel_of_the_same_carrier_joins_the_shipment(vario):
    note = deliver(vario, vario.order(), carrier="DHL", trackingNumber="A")
    answer = vario.control(f"deliveries/{note['delivery']['id']}/parcels", {"trackingNumber": "B"}, expect=201)
    assert answer.json()["shipment"]["id"] == note["shipment"]["id"]
    assert [p["trackingNumber"] for p in answer.json()["shipment"]["parcels"]] == ["A", "B"]


def test_late_tracking_for_an_unknown_delivery_note_is_404(vario):
    order = vario.order()
    vario.control(f"deliveries/{order['id']}/parcels", {"trackingNumber": "1"}, expect=404)


def test_over_delivery_is_refused(vario):
    order = vario.order()
    deliver(vario, order, (0, 1))

    answer = deliver(vario, order, (0, 2), expect=400)

    assert "only 1 open" in answer["error"]
    assert vario.state(order["id"])["order"]["lines"][0]["quantityCommitted"] == 1


def test_a_fully_delivered_order_delivers_nothing_more(vario):
    order = vario.order()
    deliver(vario, order)
    deliver(vario, order, expect=409)


def test_a_line_of_another_order_is_refused(vario):
    first, second = vario.order(), vario.order()
    body = {"lines": [{"orderLineId": second["lines"][0]["id"], "quantity": 1}]}
    vario.control(f"orders/{first['id']}/deliver", body, expect=400)


# --- cancel, close, cancel lines, return ----------------------------------------------------------


def test_cancel_dissolves_an_undelivered_order(vario):
    order = vario.order()
    vario.control(f"orders/{order['id']}/cancel", expect=200)
    assert vario.get(f"/erp/documents/{order['id']}").json()["documentState"]["key"] == "CANCELLED"


def test_cancel_is_refused_once_something_is_delivered(vario):
    order = vario.order()
    deliver(vario, order, (0, 1))
    vario.control(f"orders/{order['id']}/cancel", expect=409)
    assert vario.state(order["id"])["order"]["documentState"]["key"] == "PARTIALLY_DELIVERED"


def test_a_cancelled_order_cannot_be_delivered(vario):
    order = vario.order()
    vario.control(f"orders/{order['id']}/cancel", expect=200)
    deliver(vario, order, expect=409)


def test_close_remaining_completes_the_open_lines_after_a_partial_delivery(vario):
    order = vario.order(lines=(("SKU-RED-M", 2), ("SHOE-BLACK-42", 1)))
    deliver(vario, order, (0, 1))

    vario.control(f"orders/{order['id']}/close-remaining", expect=200)

    document = vario.get(f"/erp/documents/{order['id']}").json()
    assert document["documentState"]["key"] == "CLOSED"
    assert [(x["quantity"], x["quantityCommitted"], x["complete"]) for x in document["lines"]] == [
        (2, 1, True),
        (1, 0, True),
    ]


def test_close_remaining_needs_a_partial_delivery(vario):
    vario.control(f"orders/{vario.order()['id']}/close-remaining", expect=409)


def test_cancel_lines_lowers_the_quantity_and_records_what_was_cancelled(vario):
    order = vario.order(lines=(("SKU-RED-M", 3),))
    line_id = order["lines"][0]["id"]

    state = vario.control(
        f"orders/{order['id']}/cancel-lines", {"lines": [{"orderLineId": line_id, "quantity": 2}]}, expect=200
    ).json()

    assert state["order"]["lines"][0]["quantity"] == 1
    assert state["cancelledQuantities"] == {line_id: 2}
    assert state["order"]["documentState"]["key"] == "SAVED"


def test_cancel_lines_after_a_partial_delivery_can_complete_the_order(vario):
    order = vario.order(lines=(("SKU-RED-M", 2),))
    deliver(vario, order, (0, 1))
    body = {"lines": [{"orderLineId": order["lines"][0]["id"], "quantity": 1}]}

    state = vario.control(f"orders/{order['id']}/cancel-lines", body, expect=200).json()

    assert state["order"]["documentState"]["key"] == "DELIVERED"
    assert state["order"]["lines"][0]["complete"] is True


def test_cancel_lines_cannot_cancel_delivered_quantities(vario):
    order = vario.order(lines=(("SKU-RED-M", 2),))
    deliver(vario, order, (0, 1))
    body = {"lines": [{"orderLineId": order["lines"][0]["id"], "quantity": 2}]}
    vario.control(f"orders/{order['id']}/cancel-lines", body, expect=400)


def test_return_creates_a_goods_return_for_delivered_items(vario):
    order = vario.order(externalIdentifier="ext-4")
    deliver(vario, order, (0, 2))

    goods_return = vario.control(
        f"orders/{order['id']}/return", {"lines": [{"orderLineId": order["lines"][0]["id"], "quantity": 1}]}, expect=201
    ).json()

    document = vario.get(f"/erp/documents/{goods_return['id']}").json()
    assert document["documentTypeCategory"] == "CUSTOMER_GOODS_RETURN"
    assert document["documentTypeId"] == 16
    assert document["referencedOrderNumber"] == order["number"]
    assert document["lines"][0]["quantity"] == 1
    assert document["lines"][0]["customerOrderLineRef"]["id"] == int(order["lines"][0]["id"])


def test_return_cannot_exceed_what_was_delivered_and_not_yet_returned(vario):
    order = vario.order()
    deliver(vario, order, (0, 1))
    line = order["lines"][0]["id"]
    vario.control(f"orders/{order['id']}/return", {"lines": [{"orderLineId": line, "quantity": 1}]}, expect=201)
    vario.control(f"orders/{order['id']}/return", {"lines": [{"orderLineId": line, "quantity": 1}]}, expect=400)


def test_nothing_delivered_means_nothing_to_return(vario):
    vario.control(f"orders/{vario.order()['id']}/return", expect=409)


# --- creating orders through the API --------------------------------------------------------------


def test_create_order_answers_the_saved_document(vario):
    response = vario.post("/erp/documents", create_body())

    assert response.status_code == 200
    document = response.json()["document"]
    assert document["documentState"]["key"] == "SAVED"
    assert document["documentTypeCategory"] == "CUSTOMER_ORDER"
    assert document["externalIdentifier"] == "1510581234567-01"
    assert document["externalNumber"] == "SLR-1510581234567-01"
    assert document["documentDate"] == "2026-03-01"
    assert document["custom"]["vtexportal"] == {"externalOrderId": "1510581234567-01", "marketplaceOrderId": "702-123"}
    assert document["lines"][0]["custom"] == {"vtexportal": {"externalItemId": "item-0"}}
    assert document["lines"][0]["productPrice"] == 19.99
    assert document["totalGrossPrice"] == 39.98
    assert vario.get(f"/erp/documents/{document['id']}").json() == document


def test_create_draft_leaves_the_order_editable(vario):
    body = create_body()
    body["transitionId"] = "create_draft"
    document = vario.post("/erp/documents", body).json()["document"]
    assert document["documentState"] == {"key": "DRAFT", "label": "Entwurf", "definition": "EDITABLE"}


def test_create_order_with_an_unknown_article_is_422_naming_it(vario):
    body = create_body(lines=[{"articleId": 99999, "quantity": 1}])

    response = vario.post("/erp/documents", body)

    assert response.status_code == 422
    assert response.json()["status"] == 422
    assert "99999" in response.json()["message"]
    assert vario.rows("SELECT COUNT(*) FROM document.querySalesDocuments") == [{"COUNT(*)": 0}]


def test_create_order_with_an_inactive_article_is_422(vario):
    [old] = vario.rows("SELECT id FROM article.queryArticles WHERE articleNumber = 'SKU-OLD-1'")
    response = vario.post("/erp/documents", create_body(lines=[{"articleId": old["id"], "quantity": 1}]))
    assert response.status_code == 422
    assert "SKU-OLD-1" in response.json()["message"]


def test_the_same_external_id_can_be_created_twice(vario):
    first = vario.post("/erp/documents", create_body()).json()["document"]
    second = vario.post("/erp/documents", create_body()).json()["document"]
    assert first["id"] != second["id"]
    assert first["externalIdentifier"] == second["externalIdentifier"]


@pytest.mark.parametrize(
    ("document", "status", "fragment"),
    [
        ({"accountId": "999"}, 422, "Account 999"),
        ({"salesChannelId": "8"}, 422, "Sales channel 8"),
        ({"deliveryMethodId": 99}, 422, "Delivery method 99"),
        ({"custom": {"shopify": {"id": "1"}}}, 422, "shopify"),
        ({"custom": {"vtexportal": {"orderId": "1"}}}, 422, "custom.vtexportal.orderId"),
        ({"deliveryAddress": {"name1": "A", "countryCode": "DE"}}, 400, "alpha-3"),
        ({"documentDate": "01.03.2026"}, 400, "documentDate"),
        ({"lines": []}, 400, "lines"),
        ({"lines": [{"articleId": 77, "quantity": 0}]}, 400, "quantity"),
        ({"lines": [{"articleId": 77}]}, 400, "quantity"),
        ({"lines": [{"quantity": 1}]}, 400, "articleId"),
        ({"lines": [{"articleId": 77, "quantity": 1, "sku": "x"}]}, 400, "sku"),
        ({"customerEmail": "a@b.c"}, 400, "customerEmail"),
    ],
)
def test_create_order_rejects_what_the_erp_would_reject(vario, document, status, fragment):
    response = vario.post("/erp/documents", create_body(**document))
    assert response.status_code == status, response.content
    assert fragment in response.json()["message"]


def test_create_needs_a_transition_and_an_order_type(vario):
    body = create_body()
    del body["transitionId"]
    assert vario.post("/erp/documents", body).status_code == 400
    body = create_body()
    body["targetTypeId"] = 14
    response = vario.post("/erp/documents", body)
    assert response.status_code == 422
    assert "Lieferschein" in response.json()["message"]


def test_created_orders_can_be_delivered_like_any_other(vario):
    document = vario.post("/erp/documents", create_body()).json()["document"]
    deliver(vario, document, (0, 2))
    assert vario.get(f"/erp/documents/{document['id']}").json()["documentState"]["key"] == "DELIVERED"


def test_reset_forgets_documents_and_restores_the_seed(vario):
    order = vario.order()
    deliver(vario, order, carrier="DHL", trackingNumber="1")

    assert vario.client.post("/_sim/reset").status_code == 200

    fresh = Vario(vario.client)
    assert fresh.get(f"/erp/documents/{order['id']}").status_code == 404
    assert fresh.get("/erp/articles/77").status_code == 200
