"""VarioClient's reads for stock and prices: the working contract's queries Q1, Q2, Q3 and the RRP query
(reference/catalog-sync.md §3.3), sent as VQL (reference/vario-erp.md §4.5)."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import responses

from sync.clients.errors import PayloadError, RetryableError
from sync.clients.vario import MAX_BATCH_ARTICLES, VarioClient, VarioCredentials

BASE = "https://acme.vario.cloud"
TOKEN_URL = "https://sso.vario.cloud/realms/acme/protocol/openid-connect/token"
QUERY = f"{BASE}/api/vario/cmn/computed-queries/execute"
# Rows as the working contract shows them (§3.3).
LISTING = {
    "id": "77",
    "articleNumber": "SKU-RED-M",
    "active": True,
    "productType": "WITH_STOCK",
    "sellableWithoutStock": False,
    "ean": "4006381333931",
    "listings.id": "901",
    "listings.listed": True,
    "listings.salesChannel.id": "7",
    "info.updatedAt": "2026-03-03T09:12:00Z",
}
STOCK = {
    "articleId": "77",
    "articleNumber": "SKU-RED-M",
    "storage.id": "1",
    "storage.number": "HL",
    "quantityInStock": 12,
    "reservedQuantity": 3,
    "quantityInPicking": 1,
    "stockAvailable": 9,
    "info.updatedAt": "2026-03-03T09:12:00Z",
}
PRICE = {
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


@pytest.fixture
def recorded():
    return []


@pytest.fixture
def vario(settings, redis_conn, recorded):
    credentials = VarioCredentials(
        base_url=BASE,
        token_url=TOKEN_URL,
        client_id="portal-catalog-tests",
        client_secret="CLIENT-SECRET",
        app_identifier="app-uuid",
        refresh_token="REFRESH-TOKEN",
    )
    client = VarioClient(
        credentials=credentials, timeout=(1, 1), redis_url=settings.REDIS_URL, recorder=recorded.append
    )
    client.drop_token()
    return client


def answer(rows, *, more=False, next_offset=None, status=200):
    headers = {"x-query-more-elements": "true" if more else "false"}
    if next_offset is not None:
        headers["x-query-next-offset"] = str(next_offset)
    responses.post(QUERY, json={"definition": [], "data": rows}, headers=headers, status=status)


def queries():
    """The VQL bodies sent, in order."""
    return [json.loads(call.request.body) for call in responses.calls if call.request.url == QUERY]


@pytest.fixture
def token():
    responses.post(TOKEN_URL, json={"access_token": "ACCESS-1", "expires_in": 300, "token_type": "Bearer"})


# --- Q2: stock ---------------------------------------------------------------------------------------------


@responses.activate
def test_stock_of_a_batch_is_one_query_with_each_article_once(vario, token):
    answer([STOCK, {**STOCK, "storage.id": "3", "storage.number": "B", "stockAvailable": -2.5}])

    stock = vario.get_stock(["77", "78", "77"])

    [query] = queries()
    assert query["statement"] == (
        "SELECT articleId, articleNumber, storage.id, storage.number, quantityInStock, reservedQuantity, "
        "quantityInPicking, stockAvailable, info.updatedAt FROM article.queryArticleStorages "
        "WHERE articleId IN ('77', '78') ORDER BY articleId"
    )
    main, other = stock.rows
    assert (main.article_id, main.storage_id, main.stock_available, main.quantity_in_stock) == (
        "77",
        "1",
        Decimal(9),
        Decimal(12),
    )
    assert other.stock_available == Decimal("-2.5")  # negative and fractional stock is VARIO's to report (§3.3)
    assert main.updated_at == datetime(2026, 3, 3, 9, 12, tzinfo=UTC)


@responses.activate
def test_the_stock_is_stamped_with_the_moment_before_the_query_was_sent(vario, token):
    sent_at = []

    def reply(request):
        sent_at.append(datetime.now(UTC))
        return 200, {"x-query-more-elements": "false"}, json.dumps({"data": [STOCK]})

    responses.add_callback(responses.POST, QUERY, callback=reply)
    before = datetime.now(UTC)

    stock = vario.get_stock(["77"])

    # VTEX releases acknowledged reservations up to this moment (§1.4.4): never later than VARIO's read.
    assert before <= stock.read_at <= sent_at[0]


@responses.activate
def test_stock_rows_beyond_one_page_are_read_on(vario, token):
    answer([STOCK], more=True, next_offset=500)
    answer([{**STOCK, "articleId": "78"}])

    stock = vario.get_stock(["77", "78"])

    assert [row.article_id for row in stock.rows] == ["77", "78"]
    assert [(q["limit"], q["offset"]) for q in queries()] == [(500, 0), (500, 500)]


def test_stock_of_no_articles_makes_no_call(vario):
    with responses.RequestsMock() as mock:
        assert vario.get_stock([]).rows == ()
    assert not mock.calls


@pytest.mark.parametrize(
    "article_ids",
    [["77", "7'7"], ["abc"], ["-1"], "77", [str(i) for i in range(MAX_BATCH_ARTICLES + 1)]],
    ids=["quote", "text", "negative", "one-string", "too-many"],
)
def test_article_ids_that_are_no_vario_ids_are_refused_before_any_call(vario, article_ids):
    with responses.RequestsMock() as mock, pytest.raises((ValueError, TypeError)):
        vario.get_stock(article_ids)
    assert not mock.calls


@responses.activate
@pytest.mark.parametrize(
    "row",
    [
        {k: v for k, v in STOCK.items() if k != "stockAvailable"},
        {**STOCK, "stockAvailable": "plenty"},
        {**STOCK, "stockAvailable": True},
        {k: v for k, v in STOCK.items() if k != "storage.id"},
        {**STOCK, "info.updatedAt": "yesterday"},
    ],
    ids=["no-available", "text", "bool", "no-storage", "bad-time"],
)
def test_a_stock_row_that_cannot_be_read_is_a_payload_error(vario, token, row):
    answer([row])

    with pytest.raises(PayloadError):
        vario.get_stock(["77"])


# --- Q3: sales prices, RRP ----------------------------------------------------------------------------------


@responses.activate
def test_sales_prices_of_a_batch_are_one_query_for_sales_prices_only(vario, token):
    answer([PRICE, {**PRICE, "id": "5502", "priceGroup.id": "4", "fromQuantity": 10, "validUntil": "2026-12-31"}])

    prices = vario.get_sales_prices(["77"])

    [query] = queries()
    assert "FROM article.queryArticlePrices WHERE articleId IN ('77') AND qualifier = 'SALES'" in query["statement"]
    base, tier = prices
    assert (base.id, base.price_group_id, base.gross_price, base.net_price) == (
        "5501",
        "1",
        Decimal("19.99"),
        Decimal("16.8"),
    )
    assert (base.sales_channel_id, base.account_id, base.valid_from, base.special_offer) == (None, None, None, False)
    assert (tier.from_quantity, tier.valid_until) == (Decimal(10), "2026-12-31")


@responses.activate
@pytest.mark.parametrize(
    "row",
    [
        {**PRICE, "grossPrice": "NaN"},
        {**PRICE, "validFrom": "soon"},
        {k: v for k, v in PRICE.items() if k != "articleId"},
    ],
    ids=["nan", "bad-date", "no-article"],
)
def test_a_price_row_that_cannot_be_read_is_a_payload_error(vario, token, row):
    answer([row])

    with pytest.raises(PayloadError):
        vario.get_sales_prices(["77"])


@responses.activate
def test_recommended_retail_prices_are_read_by_article(vario, token):
    answer([{"id": "31", "articleRef.id": "77", "countryCode": "DEU", "currencyCode": "EUR", "value": 24.99}])

    [rrp] = vario.get_recommended_retail_prices(["77"])

    assert (rrp.article_id, rrp.country_code, rrp.value) == ("77", "DEU", Decimal("24.99"))
    assert "FROM article.queryRecommendedRetailPrices WHERE articleRef.id IN ('77')" in queries()[0]["statement"]


# --- Q1: listings ---------------------------------------------------------------------------------------------


@responses.activate
def test_a_page_of_listings_is_read_after_an_article_id(vario, token):
    answer([LISTING, {**LISTING, "id": "78", "ean": None}])

    page = vario.get_channel_listings(sales_channel_id="7", after_id=70, limit=2)

    [query] = queries()
    assert query["statement"].startswith("SELECT id, articleNumber, active, productType, sellableWithoutStock, ")
    assert query["statement"].endswith(
        "FROM article.shopListing WHERE listings.salesChannel.id = '7' AND listings.listed = true "
        "AND id > 70 ORDER BY id"
    )
    assert "listings.custom.vtexportal.vtexSkuId" in query["statement"]
    assert query["limit"] == 2
    first, second = page.listings
    assert (first.article_id, first.article_number, first.ean, first.listing_id, first.listed) == (
        "77",
        "SKU-RED-M",
        "4006381333931",
        "901",
        True,
    )
    assert second.ean == ""
    assert page.next_after_id == 78  # a full page: there may be more


@responses.activate
def test_a_short_page_of_listings_is_the_last(vario, token):
    answer([LISTING])

    assert vario.get_channel_listings(sales_channel_id="7", limit=2).next_after_id is None


@responses.activate
def test_every_listing_of_a_channel_is_read_page_by_page(vario, token):
    answer([LISTING, {**LISTING, "id": "78"}])
    answer([{**LISTING, "id": "79"}])

    ids = [listing.article_id for listing in vario.iter_channel_listings(sales_channel_id="7", page_size=2)]

    assert ids == ["77", "78", "79"]
    assert [q["statement"].split("AND id > ")[1] for q in queries()] == ["0 ORDER BY id", "78 ORDER BY id"]


@responses.activate
def test_listings_whose_ids_do_not_move_on_end_the_paging(vario, token):
    # A remote that answers the same page again must not make the reader loop for ever.
    answer([{**LISTING, "id": "5"}, {**LISTING, "id": "6"}], more=True)

    assert [x.article_id for x in vario.iter_channel_listings(sales_channel_id="7", page_size=2)] == ["5", "6"]
    assert len(queries()) == 2  # the second answer repeats rows at or before the cursor: none are new


@responses.activate
def test_rows_per_identifier_are_one_listing_with_its_ean(vario, token):
    # Should VARIO answer one row per identifier instead of the simulator's flattened ean (§3.3).
    rows = [
        {**{k: v for k, v in LISTING.items() if k != "ean"}, "identifiers.name": "SKU", "identifiers.value": "x"},
        {**{k: v for k, v in LISTING.items() if k != "ean"}, "identifiers.name": "EAN", "identifiers.value": "400"},
    ]
    answer(rows)

    [listing] = vario.get_channel_listings(sales_channel_id="7").listings

    assert listing.ean == "400"


@responses.activate
def test_listings_of_given_articles_are_read_listed_or_not(vario, token):
    answer([{**LISTING, "listings.listed": False, "sellableWithoutStock": True}])

    [listing] = vario.get_listings(sales_channel_id="7", article_ids=["77"])

    statement = queries()[0]["statement"]
    assert "listings.salesChannel.id = '7' AND id IN ('77') ORDER BY id" in statement
    assert "listings.listed = true" not in statement
    assert (listing.listed, listing.sellable_without_stock) == (False, True)


@pytest.mark.parametrize("sales_channel_id", ["7' OR '1'='1", ""])
def test_a_channel_id_vql_cannot_quote_or_none_is_refused(vario, sales_channel_id):
    with responses.RequestsMock() as mock:
        with pytest.raises(ValueError):
            vario.get_channel_listings(sales_channel_id=sales_channel_id)
        with pytest.raises(ValueError):
            vario.get_listings(sales_channel_id=sales_channel_id, article_ids=["77"])
    assert not mock.calls


@pytest.mark.parametrize("arguments", [{"after_id": -1}, {"after_id": "70"}, {"limit": 0}, {"limit": 501}])
def test_paging_arguments_out_of_range_are_refused(vario, arguments):
    with pytest.raises(ValueError):
        vario.get_channel_listings(sales_channel_id="7", **arguments)


@responses.activate
def test_a_listing_row_without_an_article_id_is_a_payload_error(vario, token):
    answer([{k: v for k, v in LISTING.items() if k != "id"}])

    with pytest.raises(PayloadError):
        vario.get_channel_listings(sales_channel_id="7")


# --- articles ----------------------------------------------------------------------------------------------


@responses.activate
def test_an_article_is_found_by_id_and_by_number(vario, token):
    answer([{"id": "77", "articleNumber": "SKU-RED-M", "ean": "4006381333931", "active": True}])
    answer([])

    article = vario.get_article("77")
    missing = vario.find_article_by_number("NOPE")

    assert (article.id, article.article_number, article.ean, article.active) == (
        "77",
        "SKU-RED-M",
        "4006381333931",
        True,
    )
    assert missing is None
    by_id, by_number = (q["statement"] for q in queries())
    assert by_id == "SELECT id, articleNumber, ean, active FROM article.queryArticles WHERE id = '77' LIMIT 1"
    assert by_number.endswith("WHERE articleNumber = 'NOPE' LIMIT 1")


# --- errors and records -----------------------------------------------------------------------------------------


@responses.activate
@pytest.mark.parametrize("status", [429, 500, 503])
def test_an_overloaded_vario_is_retryable(vario, token, status):
    for _ in range(5):
        answer([], status=status)

    with pytest.raises(RetryableError):
        vario.get_stock(["77"])


@responses.activate
def test_queries_are_recorded_without_the_bearer_token_or_client_secret(vario, token, recorded):
    answer([STOCK])

    vario.get_stock(["77"])

    _grant, query = recorded
    assert query.path == "/cmn/computed-queries/execute" and "queryArticleStorages" in query.request_excerpt
    assert "CLIENT-SECRET" not in repr(recorded) and "REFRESH-TOKEN" not in repr(recorded)
    assert "ACCESS-1" not in repr(recorded)
    assert responses.calls[1].request.headers["Authorization"] == "Bearer ACCESS-1"
