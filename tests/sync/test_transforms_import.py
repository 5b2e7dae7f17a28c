"""erp_order_request_from_vtex_order: VTEX order → VARIO POST /erp/documents body (reference/vario-erp.md §4.6)."""

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.clients.dtos import VtexAddress, VtexClientProfile, VtexItem, VtexOrder
from sync.transforms import ErpImportConfig, OrderImportError, article_keys_for, erp_order_request_from_vtex_order

CONFIG = ErpImportConfig(order_type_id="12", account_id="501", sales_channel_id="7")


def item(index, *, quantity=1, selling=1999, ref="SKU-RED-M", ean="", sku="18", unique=None) -> VtexItem:
    return VtexItem(
        index=index,
        unique_id=unique or f"U{index}",
        sku_id=sku,
        name=f"Item {index}",
        quantity=quantity,
        price=selling,
        selling_price=selling,
        ref_id=ref,
        ean=ean,
    )


def order(items, *, shipping=490, **fields) -> VtexOrder:
    base = VtexOrder(
        order_id="1510580500001-01",
        status="ready-for-handling",
        value=sum(i.selling_price * i.quantity for i in items) + shipping,
        items=tuple(items),
        totals={"Shipping": shipping},
        seller_order_id="00-1510580500001-01",
        creation_date="2026-03-01T10:00:00.000000+00:00",
        client=VtexClientProfile(email="e@example.com", first_name="Erika", last_name="Muster", phone="+49301"),
        shipping_address=VtexAddress(
            receiver_name="Erika Muster",
            street="Hauptstr.",
            number="1",
            postal_code="10115",
            city="Berlin",
            country="DEU",
        ),
        delivery_companies=("DHL",),
    )
    return replace(base, **fields)


def test_a_complete_request():
    body = erp_order_request_from_vtex_order(
        order([item(0, quantity=2)], marketplace_order_id="MKP-1"), article_ids={0: "77"}, config=CONFIG
    )

    assert body["transitionId"] == "create"
    assert body["targetTypeId"] == 12
    document = body["document"]
    assert document["accountId"] == "501"
    assert document["salesChannelId"] == "7"
    assert document["externalId"] == "1510580500001-01"
    assert document["externalNumber"] == "00-1510580500001-01"
    assert document["documentDate"] == "2026-03-01"
    assert "orderedOn" not in document  # read-only in VARIO's request schema
    assert document["custom"] == {"vtexportal": {"externalOrderId": "1510580500001-01", "marketplaceOrderId": "MKP-1"}}
    assert document["lines"][0] == {
        "lineType": "ARTICLE_LINE",
        "articleId": 77,
        "quantity": 2,
        "productPrice": 19.99,
        "name": "Item 0",
        "externalId": "U0",
        "custom": {"vtexportal": {"externalItemId": "U0"}},
    }
    assert document["lines"][1] == {
        "lineType": "SHIPPING_COST_LINE",
        "quantity": 1,
        "productPrice": 4.9,
        "name": "Versandkosten (DHL)",
    }
    assert document["deliveryAddress"] == {
        "name1": "Erika Muster",
        "street": "Hauptstr.",
        "streetAddressNumber": "1",
        "postcode": "10115",
        "city": "Berlin",
        "countryCode": "DEU",
        "phoneContact": "+49301",
        "mailContact": "e@example.com",
    }


@pytest.mark.parametrize(
    ("config", "present", "absent"),
    [
        (CONFIG, {}, {"deliveryMethodId", "paymentMethodId"}),
        (
            replace(CONFIG, delivery_method_id="3", payment_method_id="2"),
            {"deliveryMethodId": "3", "paymentMethodId": "2"},
            set(),
        ),
        (replace(CONFIG, sales_channel_id=""), {}, {"salesChannelId"}),
    ],
)
def test_optional_ids_come_from_the_channel(config, present, absent):
    document = erp_order_request_from_vtex_order(order([item(0)]), article_ids={0: "77"}, config=config)["document"]

    assert {k: document[k] for k in present} == present
    assert not absent & set(document)


def test_free_shipping_has_no_shipping_line():
    lines = erp_order_request_from_vtex_order(order([item(0)], shipping=0), article_ids={0: "77"}, config=CONFIG)[
        "document"
    ]["lines"]

    assert [line["lineType"] for line in lines] == ["ARTICLE_LINE"]


def test_lines_removed_by_a_modification_are_left_out():
    lines = erp_order_request_from_vtex_order(
        order([item(0), item(1, quantity=0)]), article_ids={0: "77"}, config=CONFIG
    )["document"]["lines"]

    assert [line.get("externalId") for line in lines] == ["U0", None]


def test_an_item_without_article_is_refused():
    with pytest.raises(OrderImportError, match="SKU 18"):
        erp_order_request_from_vtex_order(order([item(0)]), article_ids={}, config=CONFIG)


def test_a_country_that_is_not_alpha3_is_refused():
    address = VtexAddress(receiver_name="X", country="DE")

    with pytest.raises(OrderImportError, match="alpha-3"):
        erp_order_request_from_vtex_order(
            order([item(0)], shipping_address=address), article_ids={0: "7"}, config=CONFIG
        )


def test_empty_address_fields_are_left_out():
    address = VtexAddress(receiver_name="Erika", city="Berlin", country="deu")

    document = erp_order_request_from_vtex_order(
        order([item(0)], shipping_address=address, client=VtexClientProfile()), article_ids={0: "7"}, config=CONFIG
    )["document"]

    assert document["deliveryAddress"] == {"name1": "Erika", "city": "Berlin", "countryCode": "DEU"}


@pytest.mark.parametrize(
    ("ref", "ean", "sku", "keys"),
    [
        ("SKU-RED-M", "4006381000772", "18", ("SKU-RED-M", "4006381000772", "18")),
        ("", "", "18", ("18",)),
        ("18", "", "18", ("18",)),
        (" A ", "", "", ("A",)),
    ],
)
def test_article_keys_most_specific_first(ref, ean, sku, keys):
    assert article_keys_for(item(0, ref=ref, ean=ean, sku=sku)) == keys


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=5), st.integers(min_value=0, max_value=100_000)),
        min_size=1,
        max_size=8,
    ),
    st.integers(min_value=0, max_value=5000),
)
def test_amounts_are_the_vtex_amounts_in_euros(lines, shipping):
    items = [item(i, quantity=q, selling=p) for i, (q, p) in enumerate(lines)]
    if not any(q for q, _ in lines):
        with pytest.raises(OrderImportError):
            erp_order_request_from_vtex_order(order(items, shipping=shipping), article_ids={}, config=CONFIG)
        return
    ids = {i.index: str(100 + i.index) for i in items}

    body = erp_order_request_from_vtex_order(order(items, shipping=shipping), article_ids=ids, config=CONFIG)

    lines_out = body["document"]["lines"]
    articles = [line for line in lines_out if line["lineType"] == "ARTICLE_LINE"]
    assert [line["externalId"] for line in articles] == [i.unique_id for i in items if i.quantity > 0]
    total_cents = sum(round(line["productPrice"] * 100) * line["quantity"] for line in lines_out)
    assert total_cents == sum(i.selling_price * i.quantity for i in items) + shipping
    assert all(line["quantity"] > 0 for line in lines_out)
