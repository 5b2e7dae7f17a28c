"""Sandbox: an id or number written in other characters than ASCII digits, or beyond 64 bits, is a 404
or a 400, never a 500. ``str.isdigit`` passes "²" (and other scripts' digits), which ``int()`` then
refuses; SQLite refuses integers beyond 64 bits (issue #13 §7)."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support.sandbox_vario import Vario
from tests.support.sandbox_vtex import error_code, handling_order, invoice, invoice_body

NO_IDS = ["\u00b2", "1\u00b2", "\u0663", str(2**63), "9" * 30]


@pytest.fixture
def vario(sim):
    return Vario(sim)


@pytest.mark.parametrize("value", NO_IDS)
@pytest.mark.parametrize(
    "path",
    [
        "/erp/documents/{}",
        "/erp/documents/{}/states",
        "/erp/document-types/{}",
        "/erp/articles/{}",
        "/vds/shipment/{}",
    ],
)
def test_a_vario_path_id_that_is_no_id_is_a_404(vario, path, value):
    response = vario.get(path.format(quote(value)))

    assert response.status_code == 404, response.content
    assert "not found" in response.json()["message"].lower()


@pytest.mark.parametrize("value", NO_IDS)
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "orders/{}", None),
        ("post", "orders/{}/cancel", {}),
        ("post", "deliveries/{}/parcels", {"carrier": "DHL", "trackingNumber": "00340434161234567890"}),
        ("post", "parcels/{}/events", {"date": "2026-03-02", "description": "scan"}),
    ],
)
def test_a_vario_control_id_that_is_no_id_is_a_404(sim, method, path, body, value):
    url = f"/_sim/vario/{path.format(quote(value))}"
    response = sim.get(url) if method == "get" else sim.post(url, body, content_type="application/json")

    assert response.status_code == 404, response.content


@pytest.mark.parametrize("value", [*NO_IDS, 2**63])
def test_a_vario_body_id_that_is_no_id_is_a_400_naming_it(vario, value):
    body = {
        "transitionId": "create",
        "targetTypeId": 12,
        "document": {
            "accountId": value,
            "lines": [{"lineType": "ARTICLE_LINE", "articleId": 77, "quantity": 1, "productPrice": 1.0}],
        },
    }

    response = vario.post("/erp/documents", body)

    assert response.status_code == 400, response.content
    assert "document.accountId" in response.json()["message"]


@pytest.mark.parametrize("number", ["\u00b2", "1\u00b2", "\u0663"])
def test_a_vql_number_in_other_digits_is_a_400(vario, number):
    statement = "SELECT articleNumber FROM article.queryArticles WHERE id = " + number  # noqa: S608 - VQL, a test
    response = vario.query(statement)

    assert response.status_code == 400, response.content


@pytest.mark.parametrize("value", ["\u00b2", "1\u00b2", "\u0663", "9" * 5000])
def test_an_invoice_value_in_other_digits_is_a_400(sim, value):
    order = handling_order(sim)

    response = invoice(sim, order["orderId"], invoice_body() | {"invoiceValue": value})

    assert response.status_code == 400, response.content
    assert error_code(response) == "SBX-INVOICE-VALUE"
