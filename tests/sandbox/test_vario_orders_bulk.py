"""POST /_sim/vario/orders/bulk: many ERP orders at once, each as POST /_sim/vario/orders makes it, no webhooks."""

import pytest

from sandbox.deliveries import deliveries_dispatch_due
from sandbox.vario.models import Document, DocumentLine
from tests.support.sandbox_vario import Vario


@pytest.fixture
def vario(sim):
    return Vario(sim)


def body(n: int, **extra) -> dict:
    return {
        "externalIdentifier": f"v-{n}",
        "externalOrderId": f"v-{n}",
        "lines": [{"articleNumber": "SKU-RED-M", "quantity": 2}, {"articleNumber": "HOODIE-GREY-M", "quantity": 1}],
        **extra,
    }


def test_bulk_orders_are_the_documents_the_single_route_makes(vario):
    single = vario.control("orders", body(0), expect=201).json()

    answer = vario.control("orders/bulk", {"orders": [body(1), body(2, draft=True)]}, expect=201).json()

    assert answer["created"] == 2
    first, second = answer["orders"]
    assert [first["externalIdentifier"], second["externalIdentifier"]] == ["v-1", "v-2"]
    assert int(first["id"]) == int(single["id"]) + 1 and int(second["id"]) == int(first["id"]) + 1
    prefix = single["number"].rstrip("0123456789")
    assert [first["number"], second["number"]] == [
        f"{prefix}{int(single['number'][len(prefix) :]) + n}" for n in (1, 2)
    ]
    got = vario.get(f"/erp/documents/{first['id']}").json()
    expected = {k: v for k, v in single.items() if k not in ("id", "number", "externalIdentifier", "lines", "info")}
    custom = {"vtexportal": {"externalOrderId": "v-1"}}
    assert {k: v for k, v in got.items() if k in expected} == {**expected, "custom": custom}
    assert [(line["number"], line["quantity"]) for line in got["lines"]] == [("SKU-RED-M", 2), ("HOODIE-GREY-M", 1)]
    assert vario.get(f"/erp/documents/{second['id']}").json()["documentState"]["key"] == "DRAFT"
    # The next single order continues after the bulk's ids and numbers.
    after = vario.control("orders", body(3), expect=201).json()
    assert int(after["id"]) == int(second["id"]) + 1


def test_bulk_orders_fire_no_webhook(vario, receiver):
    vario.register("document.customer_order.create", receiver.url + "/create")

    vario.control("orders/bulk", {"orders": [body(1), body(2)]}, expect=201)

    deliveries_dispatch_due()
    assert receiver.received == []
    vario.control("orders", body(3), expect=201)  # the single route does fire it
    deliveries_dispatch_due()
    assert len(receiver.received) == 1


def test_one_refused_body_creates_nothing_and_says_which(vario):
    documents, lines = Document.objects.count(), DocumentLine.objects.count()
    bad = {**body(2), "lines": [{"articleNumber": "NO-SUCH", "quantity": 1}]}

    answer = vario.control("orders/bulk", {"orders": [body(1), bad]}, expect=422).json()

    assert answer["error"].startswith("orders[1]: Article number 'NO-SUCH' does not exist")
    assert (Document.objects.count(), DocumentLine.objects.count()) == (documents, lines)


@pytest.mark.parametrize(
    "payload",
    [{}, {"orders": []}, {"orders": "x"}, {"orders": [1]}, {"orders": [{}]}, {"orders": [body(1)], "count": 3}, []],
)
def test_hostile_bodies_are_400s(vario, payload):
    vario.control("orders/bulk", payload, expect=400)
