"""VARIO simulator, catalog control API: stock, prices, RRPs, listings, articles, bulk seed, state reads,
and what it refuses (docs/sandbox-vario.md "Catalog")."""

import time

import pytest

from sandbox.models import Delivery
from sandbox.vario.models import Article, ArticleListing, ArticleStorage, ProductPrice, RecommendedRetailPrice
from tests.support.sandbox_vario import Vario

STOCK_Q = (
    "SELECT storage.id, quantityInStock, reservedQuantity, quantityInPicking, stockAvailable "
    "FROM article.queryArticleStorages WHERE articleId = {}"
)


@pytest.fixture
def vario(sim):
    return Vario(sim)


def state(vario, article_id) -> dict:
    response = vario.client.get(f"/_sim/vario/articles/{article_id}")
    assert response.status_code == 200, response.content
    return response.json()


def stock_of(vario, article_id) -> dict[str, dict]:
    return {row["storage.id"]: row for row in vario.rows(STOCK_Q.format(article_id))}


def valid_ean13(code: str) -> bool:
    return len(code) == 13 and sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(code)) % 10 == 0


def delete(vario, path: str):
    return vario.client.delete(f"/_sim/vario/{path}")


# --- stock ----------------------------------------------------------------------------------------


def test_setting_stock_changes_only_the_given_quantities(vario):
    answer = vario.control("articles/77/stock", {"storageId": "1", "quantityInStock": 20}, expect=200).json()

    assert (answer["quantityInStock"], answer["reservedQuantity"], answer["quantityInPicking"]) == (20, 3, 1)
    assert answer["stockAvailable"] == 17
    assert stock_of(vario, 77)["1"]["stockAvailable"] == 17


def test_stock_in_a_storage_without_a_row_starts_from_zero(vario):
    vario.control("articles/77/stock", {"storageId": "5", "reservedQuantity": 2}, expect=200)

    assert stock_of(vario, 77)["5"] == {
        "storage.id": "5",
        "quantityInStock": 0,
        "reservedQuantity": 2,
        "quantityInPicking": 0,
        "stockAvailable": -2,
    }


def test_stock_by_article_number_in_the_bulk_route_books_in_order(vario):
    changes = [
        {"articleNumber": "SKU-RED-M", "storageId": "1", "quantityInStock": 5},
        {"articleId": "78", "storageId": "3", "quantityInStock": 1},
        {"articleId": 77, "storageId": "1", "quantityInStock": 4, "reservedQuantity": 0},
    ]

    answer = vario.control("stock", {"changes": changes}, expect=200).json()

    assert (answer["applied"], answer["webhooks"]) == (3, 0)  # nobody registered
    assert stock_of(vario, 77)["1"]["stockAvailable"] == 4
    assert stock_of(vario, 78)["3"]["quantityInStock"] == 1


def test_stock_changes_spread_over_seconds_are_booked_one_after_the_other(vario):
    changes = [{"articleId": 77, "storageId": "1", "quantityInStock": q} for q in (4, 3, 2, 1, 0)]
    started = time.monotonic()

    answer = vario.control("stock", {"changes": changes, "withinSeconds": 0.5}, expect=200).json()

    assert time.monotonic() - started >= 0.4  # change 5 of 5 is due at 4/5 of the time
    assert answer["applied"] == 5 and answer["seconds"] >= 0.4
    assert stock_of(vario, 77)["1"]["quantityInStock"] == 0


def test_a_refused_stock_body_books_nothing(vario):
    before = list(ArticleStorage.objects.values_list("quantity_in_stock", flat=True))
    changes = [
        {"articleId": 77, "storageId": "1", "quantityInStock": 1},
        {"articleId": 77, "storageId": "2", "quantityInStock": 1},
    ]

    answer = vario.control("stock", {"changes": changes}, expect=422).json()

    assert answer["error"] == "Storage 2 does not exist (changes[1].storageId)"
    assert list(ArticleStorage.objects.values_list("quantity_in_stock", flat=True)) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"quantityInStock": 1}, 400),  # no storage
        ({"storageId": "1"}, 400),  # nothing to change
        ({"storageId": "1", "reservedQuantity": -1}, 400),
        ({"storageId": "1", "quantityInStock": 1.0001}, 400),
        ({"storageId": "1", "quantityInStock": "1e400"}, 400),
        ({"storageId": "1", "quantityInStock": True}, 400),
        ({"storageId": "1", "quantityInStock": "NaN"}, 400),
        ({"storageId": "1", "quantityInStock": 10**12}, 400),
        ({"storageId": "x", "quantityInStock": 1}, 400),
        ({"storageId": "2", "quantityInStock": 1}, 422),
        ({"storageId": "1", "quantityInStock": 1, "bin": "A1"}, 400),
        ([], 400),
    ],
)
def test_hostile_stock_bodies(vario, body, status):
    vario.control("articles/77/stock", body, expect=status)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"changes": []},
        {"changes": "x"},
        {"changes": [1]},
        {"changes": [{"storageId": "1", "quantityInStock": 1}]},  # no article
        {"changes": [{"articleId": 77, "storageId": "1", "quantityInStock": 1}], "withinSeconds": -1},
        {"changes": [{"articleId": 77, "storageId": "1", "quantityInStock": 1}], "withinSeconds": 121},
        {"changes": [{"articleId": 77, "storageId": "1", "quantityInStock": 1}], "withinSeconds": "soon"},
        {"changes": [{"articleId": 77, "storageId": "1", "quantityInStock": 1}], "webhooks": "no"},
    ],
)
def test_hostile_bulk_stock_bodies_are_400s(vario, body):
    vario.control("stock", body, expect=400)


def test_unknown_articles_are_404_on_the_path_and_422_in_a_body(vario):
    vario.control("articles/5/stock", {"storageId": "1", "quantityInStock": 1}, expect=404)
    vario.control("articles/\u00b2/stock", {"storageId": "1", "quantityInStock": 1}, expect=404)
    changes = [{"articleNumber": "NO-SUCH", "storageId": "1", "quantityInStock": 1}]
    assert vario.control("stock", {"changes": changes}, expect=422).json()["error"].startswith("Article NO-SUCH")


# --- prices ---------------------------------------------------------------------------------------


def test_a_price_given_gross_derives_net_and_takes_the_groups_price_base(vario):
    created = vario.control("prices", {"articleId": 78, "priceGroupId": "4", "grossPrice": 11.9}, expect=201).json()

    assert (created["grossPrice"], created["netPrice"], created["priceBase"]) == (11.9, 10, "NET_PRICE")
    assert (created["qualifier"], created["currencyCode"], created["fromQuantity"], created["version"]) == (
        "SALES",
        "EUR",
        1,
        1,
    )
    assert created["id"] == str(ProductPrice.objects.order_by("-id").first().id)


def test_a_price_change_keeps_what_is_not_given_and_counts_the_version(vario):
    changed = vario.control("prices/5501", {"netPrice": 10}, expect=200).json()
    again = vario.control("prices/5501", {"fromQuantity": 5}, expect=200).json()

    assert (changed["netPrice"], changed["grossPrice"], changed["version"]) == (10, 11.9, 2)
    assert (again["netPrice"], again["fromQuantity"], again["version"]) == (10, 5, 3)


def test_zero_and_negative_prices_are_accepted_as_an_erp_user_may_type_them(vario):
    vario.control("prices/5501", {"grossPrice": 0, "netPrice": 0}, expect=200)
    created = vario.control("prices", {"articleId": 78, "priceGroupId": "1", "grossPrice": -1}, expect=201).json()

    assert created["grossPrice"] == -1
    assert vario.client.get("/_sim/vario/prices/5501").json()["grossPrice"] == 0


def test_a_price_removed(vario):
    assert delete(vario, "prices/5535").json() == {"deleted": True}

    assert not ProductPrice.objects.filter(pk=5535).exists()
    assert delete(vario, "prices/5535").status_code == 404


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"articleId": 77}, 400),  # no price
        ({"priceGroupId": "1", "grossPrice": 1}, 400),  # no article
        ({"articleId": 77, "grossPrice": "x"}, 400),
        ({"articleId": 77, "grossPrice": 1.00001}, 400),
        ({"articleId": 77, "grossPrice": 1, "priceGroupId": "2"}, 422),
        ({"articleId": 77, "grossPrice": 1, "salesChannelId": "99"}, 422),
        ({"articleId": 77, "grossPrice": 1, "accountId": "1"}, 422),
        ({"articleId": 77, "grossPrice": 1, "currencyCode": "eur"}, 400),
        ({"articleId": 77, "grossPrice": 1, "priceBase": "GROSS"}, 400),
        ({"articleId": 77, "grossPrice": 1, "qualifier": "RETAIL"}, 400),
        ({"articleId": 77, "grossPrice": 1, "fromQuantity": 0}, 400),
        ({"articleId": 77, "grossPrice": 1, "validFrom": "2026-02-01", "validUntil": "2026-01-01"}, 400),
        ({"articleId": 77, "grossPrice": 1, "validFrom": "1.2.2026"}, 400),
        ({"articleId": 77, "grossPrice": 1, "specialOfferPrice": "yes"}, 400),
        ({"articleId": 77, "grossPrice": 1, "priceUnit": 1}, 400),
        ({"articleId": 99999, "grossPrice": 1}, 422),
    ],
)
def test_hostile_price_bodies(vario, body, status):
    count = ProductPrice.objects.count()

    vario.control("prices", body, expect=status)

    assert ProductPrice.objects.count() == count


def test_a_price_change_cannot_move_the_price_to_another_article(vario):
    vario.control("prices/5501", {"articleId": 78}, expect=400)
    vario.control("prices/1", {"grossPrice": 1}, expect=404)


# --- RRPs -----------------------------------------------------------------------------------------


def test_rrps_are_created_changed_and_removed(vario):
    created = vario.control("recommended-retail-prices", {"articleNumber": "SHOE-BLACK-38", "value": 99.9}, expect=201)
    rrp = created.json()
    changed = vario.control(f"recommended-retail-prices/{rrp['id']}", {"value": 79.9}, expect=200).json()

    assert (rrp["countryCode"], rrp["currencyCode"], rrp["articleRef"]["label"]) == ("DEU", "EUR", "SHOE-BLACK-38")
    assert changed["value"] == 79.9
    assert delete(vario, f"recommended-retail-prices/{rrp['id']}?notify=maybe").status_code == 400
    assert delete(vario, f"recommended-retail-prices/{rrp['id']}").json() == {"deleted": True}
    assert not RecommendedRetailPrice.objects.filter(pk=rrp["id"]).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"articleId": 77},
        {"articleId": 77, "value": "x"},
        {"articleId": 77, "value": 1, "countryCode": "DE"},
        {"articleId": 77, "value": 1, "notify": "yes"},
        {"articleId": 77, "value": 1, "validFrom": "2026-01-01"},
    ],
)
def test_hostile_rrp_bodies_are_400s(vario, body):
    vario.control("recommended-retail-prices", body, expect=400)


# --- listings, articles, channels, storages -----------------------------------------------------


def test_a_listing_in_a_new_channel_and_its_changes(vario):
    vario.control("sales-channels", {"label": "VTEX AT"}, expect=201)
    listing = vario.control("articles/77/listings", {"salesChannelId": "8"}, expect=201).json()
    custom = {"vtexportal": {"vtexSkuId": "4711"}}
    changed = vario.control(f"listings/{listing['id']}", {"listed": False, "custom": custom}, expect=200).json()
    cleared = vario.control(
        f"listings/{listing['id']}", {"custom": {"vtexportal": {"vtexSkuId": None}}, "sellableWithoutStock": True}
    ).json()

    assert (listing["listed"], listing["salesChannelId"], listing["sellableWithoutStock"]) == (True, "8", None)
    assert (changed["listed"], changed["custom"]) == (False, custom)
    assert (cleared["custom"], cleared["sellableWithoutStock"], cleared["listed"]) == ({}, True, False)
    assert [x["salesChannelId"] for x in state(vario, 77)["listings"]] == ["7", "8"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"salesChannelId": "7"}, 409),
        ({"salesChannelId": "99"}, 422),
        ({"salesChannelId": "8", "listed": 1}, 400),
        ({"salesChannelId": "8", "custom": {"other": {"x": "1"}}}, 422),
        ({"salesChannelId": "8", "custom": {"vtexportal": {"externalOrderId": "1"}}}, 422),
        ({"salesChannelId": "8", "custom": {"vtexportal": {"vtexSkuId": 4711}}}, 400),
        ({"salesChannelId": "8", "custom": "x"}, 400),
    ],
)
def test_hostile_listing_bodies(vario, body, status):
    vario.control("sales-channels", {"id": "8", "label": "VTEX AT"}, expect=201)
    count = ArticleListing.objects.count()

    vario.control("articles/77/listings", body, expect=status)

    assert ArticleListing.objects.count() == count


def test_an_article_edit_changes_what_q1_shows(vario):
    body = {"articleNumber": "SKU-RED-M2", "ean": "4006381999999", "active": False, "productType": "JUMBO"}

    answer = vario.control("articles/77", body, expect=200).json()

    assert (answer["articleNumber"], answer["ean"], answer["active"], answer["productType"]) == (
        "SKU-RED-M2",
        "4006381999999",
        False,
        "JUMBO",
    )
    [row] = vario.rows("SELECT articleNumber, identifiers.value, active FROM article.shopListing WHERE id = 77")
    assert row == {"articleNumber": "SKU-RED-M2", "identifiers.value": "4006381999999", "active": False}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"articleNumber": "SKU-RED-L"}, 409),
        ({"articleNumber": ""}, 400),
        ({"ean": "12"}, 400),
        ({"ean": "abcdefghijkl"}, 400),
        ({"productType": "GADGET"}, 400),
        ({"active": "no"}, 400),
        ({"price": 1}, 400),
    ],
)
def test_hostile_article_edits(vario, body, status):
    vario.control("articles/77", body, expect=status)

    assert Article.objects.get(pk=77).article_number == "SKU-RED-M"


def test_storages_and_sales_channels(vario):
    storage = vario.control("storages", {"number": "NEU", "salesStorage": False}, expect=201).json()
    channel = vario.control("sales-channels", {"label": "VTEX AT"}, expect=201).json()

    assert storage == {
        "id": "10",
        "number": "NEU",
        "displayName": "NEU",
        "active": True,
        "salesStorage": False,
        "useInAvailabilityDetermination": True,
    }
    assert channel == {"id": "8", "label": "VTEX AT", "active": True}
    assert vario.control("storages", {"id": "10", "number": "X"}).status_code == 409
    assert vario.control("storages", {"number": 5}).status_code == 400
    assert vario.control("sales-channels", {"id": "7", "label": "x"}).status_code == 409
    assert vario.control("sales-channels", {}).status_code == 400
    assert [s["id"] for s in vario.client.get("/_sim/vario/storages").json()] == ["1", "10", "3", "5", "9"]


# --- state reads ----------------------------------------------------------------------------------


def test_the_state_of_an_article(vario):
    article = state(vario, 77)

    assert [s["storageId"] for s in article["stock"]] == ["1", "3", "9"]
    assert [(p["id"], p["priceGroupId"]) for p in article["prices"]] == [("5501", "1"), ("5534", "4"), ("5535", "4")]
    assert [r["value"] for r in article["recommendedRetailPrices"]] == [24.99]
    assert vario.client.get("/_sim/vario/articles/9").status_code == 404


def test_the_state_of_many_articles_by_ids_or_prefix(vario):
    by_ids = vario.client.get("/_sim/vario/catalog/articles", {"ids": "78,77,5"}).json()
    by_prefix = vario.client.get("/_sim/vario/catalog/articles", {"articleNumberPrefix": "SHOE-", "limit": 3}).json()

    assert [a["id"] for a in by_ids] == ["77", "78"]
    assert [a["articleNumber"] for a in by_prefix] == ["SHOE-BLACK-38", "SHOE-BLACK-39", "SHOE-BLACK-40"]
    assert vario.client.get("/_sim/vario/catalog/articles", {"ids": "x"}).status_code == 400
    assert vario.client.get("/_sim/vario/catalog/articles", {"limit": "0"}).status_code == 400


def test_the_catalog_overview(vario):
    overview = vario.client.get("/_sim/vario/catalog").json()

    assert [s["id"] for s in overview["storages"]] == ["1", "3", "5", "9"]
    assert [g["id"] for g in overview["priceGroups"]] == ["1", "4"]
    assert overview["counts"] == {
        "articles": 34,
        "listings": 34,
        "stockRows": 51,
        "prices": 36,
        "recommendedRetailPrices": 16,
    }


# --- bulk seed ------------------------------------------------------------------------------------


def test_bulk_seed_of_ten_thousand_generated_articles(vario):
    template = {
        "count": 10_000,
        "articleNumberPrefix": "BULK-",
        "listings": [{"salesChannelId": "7"}],
        "stock": [
            {"storageId": "1", "quantityInStock": 10, "reservedQuantity": 1},
            {"storageId": "5", "quantityInStock": 2},
        ],
        "prices": [{"priceGroupId": "1", "grossPrice": 9.99}],
        "recommendedRetailPrices": [{"value": 12.99}],
    }

    answer = vario.control("catalog/bulk", template, expect=201).json()

    assert (answer["created"], answer["firstId"], answer["lastId"]) == (10_000, "110", "10109")
    assert Delivery.objects.count() == 0
    assert ArticleStorage.objects.filter(article_id__gte=110).count() == 20_000
    last = vario.rows(
        "SELECT id, articleNumber, ean, listings.id FROM article.shopListing "
        "WHERE listings.salesChannel.id = 7 AND listings.listed = true ORDER BY id DESC LIMIT 1"
    )
    ean = last[0].pop("ean")
    assert last == [{"id": "10109", "articleNumber": "BULK-10000", "listings.id": "10933"}]
    assert ean.startswith("200000010109") and valid_ean13(ean)
    stock = vario.rows(STOCK_Q.format("10109"))
    assert [(r["storage.id"], r["stockAvailable"]) for r in stock] == [("1", 9), ("5", 2)]
    price_q = "SELECT id, grossPrice, netPrice FROM article.queryArticlePrices WHERE articleId IN (110, 10109)"
    assert vario.rows(price_q) == [
        {"id": "5536", "grossPrice": 9.99, "netPrice": 8.39},
        {"id": "15535", "grossPrice": 9.99, "netPrice": 8.39},
    ]
    # The next single article continues after the bulk's ids.
    assert vario.control("articles", {"articleNumber": "AFTER"}, expect=201).json()["id"] == "10110"


def test_bulk_seed_of_explicit_articles(vario):
    articles = [
        {"articleNumber": "X-1", "ean": "4006381999999", "stock": [{"storageId": "3", "quantityInStock": 7}]},
        {
            "articleNumber": "X-2",
            "sellableWithoutStock": True,
            "listings": [{"salesChannelId": "7", "listed": False}],
            "prices": [{"priceGroupId": "4", "netPrice": 5, "fromQuantity": 10}],
        },
    ]

    answer = vario.control("catalog/bulk", {"articles": articles}, expect=201).json()

    first = state(vario, answer["firstId"])
    second = state(vario, answer["lastId"])
    assert (first["articleNumber"], first["ean"], first["stock"][0]["quantityInStock"]) == ("X-1", "4006381999999", 7)
    assert first["listings"] == [] and first["prices"] == []
    assert (second["sellableWithoutStock"], second["listings"][0]["listed"]) == (True, False)
    assert (second["prices"][0]["priceBase"], second["prices"][0]["grossPrice"]) == ("NET_PRICE", 5.95)


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({}, 400, "count must be"),
        ({"count": 0, "articleNumberPrefix": "B-"}, 400, "count must be"),
        ({"count": 100_001, "articleNumberPrefix": "B-"}, 400, "count must be"),
        ({"count": True, "articleNumberPrefix": "B-"}, 400, "count must be"),
        ({"count": 2}, 400, "articleNumberPrefix is required"),
        ({"count": 2, "articleNumberPrefix": "B-", "articles": []}, 400, "either"),
        ({"articles": []}, 400, "articles must be"),
        ({"articles": [{"articleNumber": "A"}, {"articleNumber": "A"}]}, 400, "unique"),
        ({"articles": [{"articleNumber": "SKU-RED-M"}]}, 409, "SKU-RED-M exists already"),
        ({"articles": [{"name": "no number"}]}, 400, "articles[0].articleNumber is required"),
        (
            {"count": 2, "articleNumberPrefix": "B-", "stock": [{"storageId": "2", "quantityInStock": 1}]},
            422,
            "Storage 2",
        ),
        ({"count": 2, "articleNumberPrefix": "B-", "listings": [{"salesChannelId": "9"}]}, 422, "salesChannelId"),
        (
            {"count": 2, "articleNumberPrefix": "B-", "listings": [{"salesChannelId": "7"}, {"salesChannelId": "7"}]},
            400,
            "twice",
        ),
        ({"count": 2, "articleNumberPrefix": "B-", "prices": [{"priceGroupId": "1"}]}, 400, "grossPrice or a netPrice"),
        ({"count": 2, "articleNumberPrefix": "B-", "recommendedRetailPrices": [{}]}, 400, "value is required"),
        ({"count": 2, "articleNumberPrefix": "B-", "stock": "x"}, 400, "must be a list"),
        ({"count": 2, "articleNumberPrefix": "B-", "colour": "red"}, 400, "Unrecognized"),
    ],
)
def test_a_refused_bulk_seed_creates_nothing_and_says_why(vario, body, status, fragment):
    articles = Article.objects.count()

    answer = vario.control("catalog/bulk", body, expect=status).json()

    assert fragment in answer["error"]
    assert Article.objects.count() == articles
