"""VARIO simulator, catalog reads: the VQL sources of reference/catalog-sync.md §3.3 (Q1 listings, Q2 stock
per storage, Q3 sales prices, RRPs) and the REST reads of storages and RRPs."""

import pytest

from tests.support.sandbox_vario import Vario

Q1 = (
    "SELECT id, articleNumber, active, productType, sellableWithoutStock, identifiers.name, identifiers.value, "
    "listings.id, listings.listed, listings.salesChannel.id, listings.custom.vtexportal.vtexSkuId, info.updatedAt "
    "FROM article.shopListing WHERE listings.salesChannel.id = '{channel}' AND listings.listed = true "
    "ORDER BY id LIMIT 500 OFFSET 0"
)
Q2 = (
    "SELECT articleId, articleNumber, storage.id, storage.number, quantityInStock, reservedQuantity, "
    "quantityInPicking, stockAvailable, info.updatedAt FROM article.queryArticleStorages WHERE articleId IN ({ids})"
)
Q3 = (
    "SELECT id, articleId, priceGroup.id, salesChannel.id, account.id, currencyCode, netPrice, grossPrice, "
    "priceBase, fromQuantity, validFrom, validUntil, specialOfferPrice FROM article.queryArticlePrices "
    "WHERE articleId IN ({ids}) AND qualifier = 'SALES'"
)
RRP = (
    "SELECT id, articleRef.id, countryCode, currencyCode, value FROM article.queryRecommendedRetailPrices "
    "WHERE articleRef.id IN ({ids})"
)


@pytest.fixture
def vario(sim):
    return Vario(sim)


def without_time(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "info.updatedAt"} for row in rows]


# --- Q1: listings of a channel --------------------------------------------------------------------


def test_q1_lists_the_channels_listed_articles_in_the_contracts_shape(vario):
    response = vario.query(Q1.format(channel=7), limit=500)

    assert response.status_code == 200, response.content
    rows = response.json()["data"]
    # 34 demo articles, SKU-OLD-1 (109) is inactive and its listing is not listed.
    assert [int(r["id"]) for r in rows] == list(range(76, 109))
    red_m = next(r for r in rows if r["id"] == "77")
    assert red_m["info.updatedAt"].endswith("Z")
    assert without_time([red_m]) == [
        {
            "id": "77",
            "articleNumber": "SKU-RED-M",
            "active": True,
            "productType": "WITH_STOCK",
            "sellableWithoutStock": False,
            "identifiers.name": "EAN",
            "identifiers.value": "4006381000772",
            "listings.id": "901",
            "listings.listed": True,
            "listings.salesChannel.id": "7",
            "listings.custom.vtexportal.vtexSkuId": None,
        }
    ]
    assert response["x-query-more-elements"] == "false"


def test_q1_pages_through_the_statements_limit_and_offset(vario):
    statement = Q1.format(channel=7).replace("LIMIT 500 OFFSET 0", "LIMIT 10 OFFSET 10")

    assert [r["id"] for r in vario.rows(statement)] == [str(n) for n in range(86, 96)]


def test_q1_gives_one_row_per_listing_and_the_filter_picks_the_channels(vario):
    vario.control("sales-channels", {"id": "8", "label": "VTEX AT"}, expect=201)
    listing = vario.control(
        "articles/77/listings",
        {"salesChannelId": "8", "sellableWithoutStock": True, "custom": {"vtexportal": {"vtexSkuId": "4711"}}},
        expect=201,
    ).json()

    both = vario.rows("SELECT id, listings.id, listings.salesChannel.id FROM article.shopListing WHERE id = 77")
    only_8 = vario.rows(Q1.format(channel=8))

    assert both == [
        {"id": "77", "listings.id": "901", "listings.salesChannel.id": "7"},
        {"id": "77", "listings.id": listing["id"], "listings.salesChannel.id": "8"},
    ]
    assert [(r["id"], r["listings.id"], r["sellableWithoutStock"]) for r in only_8] == [("77", listing["id"], True)]
    assert only_8[0]["listings.custom.vtexportal.vtexSkuId"] == "4711"


def test_q1_listing_changes_show_and_the_article_default_applies_when_the_listing_has_none(vario):
    vario.control("articles/78", {"sellableWithoutStock": True}, expect=200)
    vario.control("listings/901", {"listed": False}, expect=200)
    statement = (
        "SELECT id, sellableWithoutStock, listings.sellableWithoutStock, listings.listed FROM article.shopListing "
        "WHERE id IN (77, 78)"
    )

    assert vario.rows(statement) == [
        {"id": "77", "sellableWithoutStock": False, "listings.sellableWithoutStock": None, "listings.listed": False},
        {"id": "78", "sellableWithoutStock": True, "listings.sellableWithoutStock": None, "listings.listed": True},
    ]
    assert "77" not in [r["id"] for r in vario.rows(Q1.format(channel=7))]


def test_q1_an_article_without_a_listing_gives_one_row_with_null_listing_fields(vario):
    vario.control("articles", {"articleNumber": "NEW-1"}, expect=201)

    rows = vario.rows(
        "SELECT articleNumber, listings.id, listings.listed FROM article.shopListing WHERE articleNumber = 'NEW-1'"
    )

    assert rows == [{"articleNumber": "NEW-1", "listings.id": None, "listings.listed": None}]
    assert vario.rows(Q1.format(channel=7)).__len__() == 33


def test_star_on_shop_listing_selects_the_standard_fields_without_custom_ones(vario):
    [row] = vario.rows("SELECT * FROM article.shopListing WHERE id = 77")

    assert "listings.custom.vtexportal.vtexSkuId" not in row
    assert {"id", "articleNumber", "ean", "listings.id", "listings.salesChannel.id", "info.updatedAt"} <= set(row)


# --- Q2: stock per storage ------------------------------------------------------------------------


def test_q2_reads_the_stock_of_a_batch_of_articles_in_one_query(vario):
    rows = vario.rows(Q2.format(ids="'77', '78'"))

    assert without_time(rows) == [
        {
            "articleId": "77",
            "articleNumber": "SKU-RED-M",
            "storage.id": "1",
            "storage.number": "HL",
            "quantityInStock": 12,
            "reservedQuantity": 3,
            "quantityInPicking": 1,
            "stockAvailable": 9,
        },
        {
            "articleId": "77",
            "articleNumber": "SKU-RED-M",
            "storage.id": "3",
            "storage.number": "AL",
            "quantityInStock": 6,
            "reservedQuantity": 0,
            "quantityInPicking": 0,
            "stockAvailable": 6,
        },
        {
            "articleId": "77",
            "articleNumber": "SKU-RED-M",
            "storage.id": "9",
            "storage.number": "RET",
            "quantityInStock": 4,
            "reservedQuantity": 0,
            "quantityInPicking": 0,
            "stockAvailable": 4,
        },
        {
            "articleId": "78",
            "articleNumber": "SKU-RED-L",
            "storage.id": "1",
            "storage.number": "HL",
            "quantityInStock": 11,
            "reservedQuantity": 0,
            "quantityInPicking": 0,
            "stockAvailable": 11,
        },
    ]
    assert all(r["info.updatedAt"].endswith("Z") for r in rows)


def test_q2_stock_available_goes_negative_and_keeps_decimals(vario):
    vario.control("articles/77/stock", {"storageId": "1", "quantityInStock": 0, "reservedQuantity": 3}, expect=200)
    vario.control("articles/78/stock", {"storageId": "1", "quantityInStock": 2.5}, expect=200)

    rows = vario.rows(
        "SELECT articleId, stockAvailable FROM article.queryArticleStorages WHERE storage.id = 1 AND stockAvailable < 3"
    )

    assert {"articleId": "77", "stockAvailable": -3} in rows
    assert {"articleId": "78", "stockAvailable": 2.5} in rows


def test_q2_an_article_with_nothing_booked_has_no_rows(vario):
    vario.control("articles", {"articleNumber": "NEW-1"}, expect=201)

    assert vario.rows("SELECT articleId FROM article.queryArticleStorages WHERE articleNumber = 'NEW-1'") == []


def test_number_fields_compare_as_numbers(vario):
    by_number = vario.rows(
        "SELECT storage.id FROM article.queryArticleStorages WHERE articleId = 77 AND quantityInStock >= 6"
    )
    by_text = vario.rows(
        "SELECT storage.id FROM article.queryArticleStorages WHERE articleId = 77 AND quantityInStock = '12.0'"
    )
    no_number = vario.rows("SELECT storage.id FROM article.queryArticleStorages WHERE quantityInStock = 'many'")

    assert by_number == [{"storage.id": "1"}, {"storage.id": "3"}]
    assert by_text == [{"storage.id": "1"}]
    assert no_number == []


def test_q2_reads_five_hundred_articles_in_one_query(vario):
    answer = vario.control(
        "catalog/bulk",
        {"count": 500, "articleNumberPrefix": "B-", "stock": [{"storageId": "1", "quantityInStock": 4}]},
        expect=201,
    ).json()
    ids = ", ".join(f"'{n}'" for n in range(int(answer["firstId"]), int(answer["lastId"]) + 1))

    rows = vario.rows(Q2.format(ids=ids), limit=1000)

    assert len(rows) == 500
    assert {(r["storage.id"], r["stockAvailable"]) for r in rows} == {("1", 4)}


def test_in_lists_take_ids_as_numbers_or_digit_strings_and_ignore_other_literals(vario):
    statement = "SELECT articleId FROM article.queryArticleStorages WHERE articleId IN (77, '78', true, 'x', 79.5)"

    assert sorted({r["articleId"] for r in vario.rows(statement)}) == ["77", "78"]
    response = vario.query("SELECT id FROM article.queryArticlePrices WHERE specialOfferPrice IN (1)")
    assert response.status_code == 400


# --- Q3: sales prices, RRPs -----------------------------------------------------------------------


def test_q3_reads_the_sales_prices_of_a_batch_with_tiers(vario):
    vario.control("prices", {"articleId": 77, "qualifier": "PURCHASE", "netPrice": 7.5}, expect=201)

    rows = vario.rows(Q3.format(ids="'77', '78'"))

    assert rows[0] == {
        "id": "5501",
        "articleId": "77",
        "priceGroup.id": "1",
        "salesChannel.id": None,
        "account.id": None,
        "currencyCode": "EUR",
        "netPrice": 16.8,
        "grossPrice": 19.99,
        "priceBase": "GROSS_PRICE",
        "fromQuantity": 1,
        "validFrom": None,
        "validUntil": None,
        "specialOfferPrice": False,
    }
    assert [(r["articleId"], r["priceGroup.id"], r["netPrice"], r["fromQuantity"]) for r in rows[1:]] == [
        ("78", "1", 16.8, 1),
        ("77", "4", 14.2, 1),
        ("77", "4", 13.5, 10),
    ]


def test_q3_shows_channel_validity_and_special_offer_fields(vario):
    body = {
        "articleNumber": "SKU-RED-M",
        "priceGroupId": "1",
        "salesChannelId": "7",
        "grossPrice": 14.99,
        "validFrom": "2026-01-01",
        "validUntil": "2026-12-31",
        "specialOfferPrice": True,
    }
    created = vario.control("prices", body, expect=201).json()

    [row] = vario.rows(f"SELECT * FROM article.queryArticlePrices WHERE id = {created['id']}")  # noqa: S608 - VQL

    assert row["salesChannel.id"] == "7"
    assert (row["validFrom"], row["validUntil"], row["specialOfferPrice"]) == ("2026-01-01", "2026-12-31", True)
    assert (row["grossPrice"], row["netPrice"], row["priceBase"]) == (14.99, 12.6, "GROSS_PRICE")
    assert row["qualifier"] == "SALES"


def test_rrps_of_a_batch(vario):
    rows = vario.rows(RRP.format(ids="'77', '92'"))

    assert rows == [{"id": "7001", "articleRef.id": "77", "countryCode": "DEU", "currencyCode": "EUR", "value": 24.99}]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT nonsense FROM article.queryArticleStorages",
        "SELECT id FROM article.queryArticleStorages",
        "SELECT id FROM article.queryArticlePrices WHERE price = 1",
        "SELECT stock.available FROM article.shopListing",
    ],
)
def test_fields_outside_a_catalog_source_are_a_400(vario, statement):
    response = vario.query(statement)

    assert response.status_code == 400
    assert response.json()["message"].startswith("unsupported in simulator: field")


# --- REST -----------------------------------------------------------------------------------------


def test_a_storage_by_id(vario):
    response = vario.get("/erp/storages/9")

    assert response.status_code == 200
    assert response.json() == {
        "id": "9",
        "number": "RET",
        "displayName": "Retourenlager",
        "active": True,
        "salesStorage": False,
        "useInAvailabilityDetermination": False,
    }
    assert vario.get("/erp/storages/2").status_code == 404
    assert vario.get("/erp/storages/x").status_code == 404


def test_an_rrp_by_id(vario):
    response = vario.get("/erp/recommended-retail-price/7001")

    assert response.status_code == 200
    assert response.json() == {
        "id": "7001",
        "currencyCode": "EUR",
        "countryCode": "DEU",
        "articleRef": {"id": "77", "label": "SKU-RED-M", "description": "T-Shirt rot M"},
        "value": 24.99,
    }
    assert vario.get("/erp/recommended-retail-price/1").json()["status"] == 404


def test_catalog_reads_need_the_bearer_token(vario):
    assert vario.get("/erp/storages/1", token=None).status_code == 401
    response = vario.post("/cmn/computed-queries/execute", {"statement": Q2.format(ids="77")}, token=None)
    assert response.status_code == 401
