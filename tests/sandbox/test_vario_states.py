"""GET/PUT /api/vario/erp/documents/{id}/states: the dissolve transition the order import runs."""

import pytest

from sandbox.deliveries import deliveries_dispatch_due
from tests.support.sandbox_vario import Vario


@pytest.fixture
def vario(sim):
    return Vario(sim)


def put_state(vario, document_id, body, **extra):
    return vario.client.put(
        f"/api/vario/erp/documents/{document_id}/states",
        body,
        content_type="application/json",
        **vario.headers(),
        **extra,
    )


def test_an_open_order_offers_dissolve(vario):
    order = vario.order()

    response = vario.get(f"/erp/documents/{order['id']}/states")

    assert response.status_code == 200
    assert [t["transitionId"] for t in response.json()] == ["dissolve"]
    assert response.json()[0]["targetState"] == "CANCELLED"


def test_dissolve_cancels_the_order_and_fires_the_dissolve_webhook(vario, receiver):
    vario.register("document.customer_order.dissolve", receiver.url)
    order = vario.order()

    response = put_state(vario, order["id"], {"transitionId": "dissolve"})
    deliveries_dispatch_due()

    assert response.status_code == 200
    assert response.json()["document"]["documentState"]["key"] == "CANCELLED"
    assert [body for body, _ in receiver.received] == [{"id": int(order["id"])}]


def test_a_dissolve_sent_with_the_suppress_header_is_not_echoed_to_the_app(vario, receiver):
    # reference/vario-erp.md §1.9: the app's own change does not come back to its own webhooks.
    vario.register("document.customer_order.dissolve", receiver.url)
    own, other = vario.order(), vario.order()

    put_state(vario, own["id"], {"transitionId": "dissolve"}, HTTP_X_VARIO_SUPPRESS_OWN_WEBHOOKS="true")
    put_state(vario, other["id"], {"transitionId": "dissolve"})
    deliveries_dispatch_due()

    assert vario.get(f"/erp/documents/{own['id']}").json()["documentState"]["key"] == "CANCELLED"
    assert [body for body, _ in receiver.received] == [{"id": int(other["id"])}]


def test_dissolve_is_refused_once_something_is_delivered(vario):
    order = vario.order()
    vario.control(f"orders/{order['id']}/deliver", {}, expect=201)

    response = put_state(vario, order["id"], {"transitionId": "dissolve"})

    assert response.status_code == 422
    assert "deliveries" in response.json()["message"]
    assert vario.get(f"/erp/documents/{order['id']}/states").json() == []


def test_dissolving_twice_is_refused(vario):
    order = vario.order()
    put_state(vario, order["id"], {"transitionId": "dissolve"})

    assert put_state(vario, order["id"], {"transitionId": "dissolve"}).status_code == 422


@pytest.mark.parametrize(
    ("body", "status"),
    [({}, 400), ({"transitionId": "teleport"}, 400), ({"transitionId": "dissolve", "x": 1}, 400)],
)
def test_bad_transition_requests_are_refused(vario, body, status):
    order = vario.order()

    assert put_state(vario, order["id"], body).status_code == status


def test_unknown_document_is_404(vario):
    assert vario.get("/erp/documents/999999/states").status_code == 404


def test_an_article_can_be_added_through_the_control_api(vario):
    response = vario.control("articles", {"articleNumber": "SKU-NEW-1", "name": "Neu", "price": 9.5}, expect=201)

    assert response.json()["articleNumber"] == "SKU-NEW-1"
    assert vario.rows("SELECT id FROM article.queryArticles WHERE articleNumber = 'SKU-NEW-1'") == [
        {"id": response.json()["id"]}
    ]
    vario.control("articles", {"articleNumber": "SKU-NEW-1"}, expect=409)
