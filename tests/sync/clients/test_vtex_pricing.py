"""VtexPricingClient: get price, the full price PUT with fixed prices, price tables (reference/catalog-sync.md
§1.5, §1.6, §3.4), checked against VTEX's official Pricing API file; and its builder in sync.remotes."""

import json
from decimal import Decimal

import pytest
import responses

from sync.clients.catalog_dtos import VtexFixedPrice
from sync.clients.errors import AuthError, PayloadError, RetryableError
from sync.clients.http import writes_held
from sync.clients.vtex import VtexCredentials
from sync.clients.vtex_pricing import PUBLISHED_RATE, VtexPricingClient, money
from sync.remotes import NotConfigured, vtex_pricing_client_for
from tests.support.openapi import validate_vtex_request, validate_vtex_response

BASE = "https://api.vtex.com/demostore"
# The spec gives Get price tables (and the other configuration reads) a server of its own that already ends
# in /pricing, before a path that starts with /pricing again: a quirk of the file. The URL VTEX serves is
# {account}/pricing/tables (catalog-sync.md §1.5.4), so the check uses the operation's server with its path.
TABLES_HOST = f"{BASE}/pricing"
# The spec's example answer (pricing-api.json, GetPrice), shortened.
PRICE = {
    "itemId": "1234512354",
    "listPrice": 300,
    "costPrice": 10,
    "markup": 2400,
    "basePrice": 250,
    "fixedPrices": [
        {"tradePolicyId": "1", "value": 666.66, "listPrice": None, "minQuantity": 1},
        {
            "tradePolicyId": "9",
            "value": 600,
            "listPrice": None,
            "minQuantity": 1,
            "dateRange": {"from": "2017-12-07T14:30:00Z", "to": "2017-12-30T14:30:00Z"},
        },
    ],
}


class RecordingLimiter:
    """Grants every call at once and records each block (no Redis, no sleeping)."""

    max_wait = 10

    def __init__(self) -> None:
        self.routes: list[str] = []
        self.blocks: list[tuple[str, float]] = []

    def acquire(self, route):
        self.routes.append(route)
        return 0

    def block(self, route, seconds):
        self.blocks.append((route, seconds))


@pytest.fixture
def recorded():
    return []


@pytest.fixture
def limiter():
    return RecordingLimiter()


@pytest.fixture
def pricing(recorded, limiter):
    return VtexPricingClient(
        credentials=VtexCredentials(account_name="demostore", base_url=BASE, app_key="key", app_token="APP-TOKEN"),
        timeout=(1, 1),
        limiter=limiter,
        recorder=recorded.append,
    )


def sent(index: int = -1):
    call = responses.calls[index]
    return call.request, json.loads(call.request.body) if call.request.body else None


def b2b(value: str, min_quantity: int = 1, **more) -> VtexFixedPrice:
    return VtexFixedPrice(trade_policy_id="b2b", value=Decimal(value), min_quantity=min_quantity, **more)


def test_the_spec_example_is_a_valid_pricing_answer():
    validate_vtex_response("pricing", "get", "/pricing/prices/1234512354", status=200, body=PRICE)
    validate_vtex_response("pricing", "get", "/pricing/tables", status=200, body=["1", "b2b"], host=TABLES_HOST)


@responses.activate
def test_get_price_reads_decimal_money_and_fixed_prices(pricing, limiter):
    responses.get(f"{BASE}/pricing/prices/1234512354", json=PRICE)

    price = pricing.get_price(1234512354)

    assert (price.base_price, price.list_price, price.cost_price) == (Decimal(250), Decimal(300), Decimal(10))
    first, dated = price.fixed_prices
    assert (first.trade_policy_id, first.value, first.list_price) == ("1", Decimal("666.66"), None)
    assert (dated.date_from, dated.date_to) == ("2017-12-07T14:30:00Z", "2017-12-30T14:30:00Z")
    assert limiter.routes == ["price_read"]
    validate_vtex_request("pricing", "get", "/pricing/prices/1234512354")


@responses.activate
def test_a_sku_without_a_price_has_none(pricing):
    responses.get(f"{BASE}/pricing/prices/5", status=404, json={"error": {"message": "Price not found"}})

    assert pricing.get_price(5) is None


@responses.activate
@pytest.mark.parametrize(
    "body",
    [
        {"basePrice": 1, "fixedPrices": []},
        {"itemId": "5", "basePrice": "cheap"},
        {"itemId": "5", "basePrice": 1, "fixedPrices": [{"value": 1}]},
        {"itemId": "5", "basePrice": 1, "fixedPrices": {"tradePolicyId": "1"}},
        ["5"],
    ],
)
def test_a_price_answer_that_cannot_be_read_is_a_payload_error(pricing, body):
    responses.get(f"{BASE}/pricing/prices/5", json=body)

    with pytest.raises(PayloadError):
        pricing.get_price(5)


@responses.activate
def test_the_put_sends_base_list_and_every_fixed_price(pricing, limiter):
    responses.put(f"{BASE}/pricing/prices/435")

    pricing.update_price(
        435,
        base_price=Decimal("19.99"),
        list_price=Decimal("24.99"),
        fixed_prices=[
            b2b("14.20"),
            b2b("13.5", min_quantity=10, list_price=Decimal("14.2")),
            VtexFixedPrice(
                trade_policy_id="1",
                value=Decimal("17"),
                date_from="2026-12-01T00:00:00+01:00",
                date_to="2026-12-24T23:59:59+01:00",
            ),
        ],
    )

    request, body = sent()
    assert body == {
        "basePrice": 19.99,
        "listPrice": 24.99,
        "fixedPrices": [
            {"tradePolicyId": "b2b", "value": 14.2, "minQuantity": 1},
            {"tradePolicyId": "b2b", "value": 13.5, "listPrice": 14.2, "minQuantity": 10},
            {
                "tradePolicyId": "1",
                "value": 17,
                "minQuantity": 1,
                "dateRange": {"from": "2026-12-01T00:00:00+01:00", "to": "2026-12-24T23:59:59+01:00"},
            },
        ],
    }
    assert b'"basePrice": 19.99' in request.body  # the decimal's own digits, no binary noise
    assert "costPrice" not in body and "markup" not in body  # never with basePrice (§1.5.2, §3.4)
    assert limiter.routes == ["price_write"]
    validate_vtex_request("pricing", "put", "/pricing/prices/435", body=body)


@responses.activate
def test_no_list_price_and_no_fixed_prices_still_send_a_valid_whole_price(pricing):
    responses.put(f"{BASE}/pricing/prices/435")

    pricing.update_price(435, base_price=Decimal("19.99"), list_price=None, fixed_prices=[])

    _, body = sent()
    # The PUT replaces every fixed price: the empty list deletes those VTEX had (§3.4). The schema has no
    # null listPrice, so there is none in the body.
    assert body == {"basePrice": 19.99, "fixedPrices": []}
    validate_vtex_request("pricing", "put", "/pricing/prices/435", body=body)


@pytest.mark.parametrize(
    ("value", "number"),
    [(Decimal("19.99"), 19.99), (Decimal("20"), 20), (Decimal("20.00"), 20), (Decimal("0.01"), 0.01)],
)
def test_money_is_the_exact_json_number(value, number):
    assert money(value, "x") == number and type(money(value, "x")) is type(number)


@pytest.mark.parametrize(
    "changes",
    [
        {"base_price": Decimal(0)},
        {"base_price": Decimal("-1")},  # VTEX accepts it and makes the product unavailable (KI 774548)
        {"base_price": Decimal("NaN")},
        {"base_price": Decimal("Infinity")},
        {"base_price": 19.99},  # a float: its digits are not the price's
        {"list_price": Decimal(0)},
        {"base_price": Decimal("0.12345678901234567890")},
        {"fixed_prices": [b2b("0")]},
        {"fixed_prices": [b2b("1", min_quantity=0)]},
        {"fixed_prices": [b2b("1", min_quantity=True)]},
        {"fixed_prices": [VtexFixedPrice(trade_policy_id=" ", value=Decimal(1))]},
        {"fixed_prices": [b2b("1", date_from="2026-12-01T00:00:00+01:00")]},
        {"fixed_prices": [b2b("1", date_from="2026-12-02T00:00:00Z", date_to="2026-12-01T00:00:00Z")]},
        {"fixed_prices": [b2b("1", date_from="2026-12-01T00:00:00Z", date_to="2026-12-01T00:00:00Z")]},
        {"fixed_prices": [b2b("1", date_from="2026-12-01T00:00:00", date_to="2026-12-02T00:00:00")]},
        {"fixed_prices": [b2b("2"), b2b("1")]},  # two prices for one table and quantity: which one VTEX keeps?
        {"sku_id": "0435"},
    ],
)
def test_a_price_vtex_would_take_wrongly_is_refused_before_any_call(pricing, changes):
    arguments = {"sku_id": 435, "base_price": Decimal("19.99"), "list_price": None, "fixed_prices": []} | changes
    sku_id = arguments.pop("sku_id")
    with responses.RequestsMock() as mock, pytest.raises((ValueError, TypeError)):
        pricing.update_price(sku_id, **arguments)
    assert not mock.calls


@responses.activate
def test_a_429_waits_exactly_the_retry_after_and_tries_again(pricing, limiter):
    # Pricing's Retry-After is "the time until the route accepts a new request" (§1.6): no minute on top.
    responses.put(f"{BASE}/pricing/prices/435", status=429, headers={"Retry-After": "2"})
    responses.put(f"{BASE}/pricing/prices/435")

    pricing.update_price(435, base_price=Decimal("19.99"), list_price=None, fixed_prices=[])

    assert limiter.blocks == [("price_write", 2.0)]
    assert len(responses.calls) == 2


@responses.activate
def test_a_429_without_retry_after_waits_vtexs_minute_and_was_not_applied(pricing, limiter):
    responses.put(f"{BASE}/pricing/prices/435", status=429)

    with pytest.raises(RetryableError) as exc_info:
        pricing.update_price(435, base_price=Decimal("19.99"), list_price=None, fixed_prices=[])

    assert (exc_info.value.retry_after, exc_info.value.may_have_applied) == (60, False)
    assert limiter.blocks == [("price_write", 60)] and len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_on_the_put_is_retryable_and_may_have_been_applied(pricing, status):
    responses.put(f"{BASE}/pricing/prices/435", status=status)

    with pytest.raises(RetryableError) as exc_info:
        pricing.update_price(435, base_price=Decimal("19.99"), list_price=None, fixed_prices=[])

    assert exc_info.value.may_have_applied is True


@responses.activate
def test_price_tables_are_listed(pricing, limiter):
    responses.get(f"{BASE}/pricing/tables", json=["1", "2", "b2b", "gold"])

    assert pricing.list_price_tables() == ("1", "2", "b2b", "gold")
    assert limiter.routes == ["price_tables"]
    validate_vtex_request("pricing", "get", "/pricing/tables", host=TABLES_HOST)


@responses.activate
@pytest.mark.parametrize("body", [{"tables": ["1"]}, [None], [["1"]], [True]])
def test_price_tables_that_cannot_be_read_are_a_payload_error(pricing, body):
    responses.get(f"{BASE}/pricing/tables", json=body)

    with pytest.raises(PayloadError):
        pricing.list_price_tables()


def test_a_dry_run_holds_the_put_back(pricing):
    held = []
    with responses.RequestsMock() as mock, writes_held(lambda call: (held.append(call), (200, None))[1]):
        pricing.update_price(435, base_price=Decimal("19.99"), list_price=None, fixed_prices=[b2b("14.2")])
    assert not mock.calls
    [call] = held
    assert (call.method, call.path) == ("PUT", "/demostore/pricing/prices/435")
    assert call.body["fixedPrices"] == [{"tradePolicyId": "b2b", "value": 14.2, "minQuantity": 1}]


@responses.activate
def test_calls_are_recorded_without_the_app_token(pricing, recorded):
    responses.put(f"{BASE}/pricing/prices/435")
    responses.get(f"{BASE}/pricing/tables", status=403, json={"message": "denied", "appToken": "APP-TOKEN"})

    pricing.update_price(435, base_price=Decimal("19.99"), list_price=None, fixed_prices=[])
    with pytest.raises(AuthError) as exc_info:
        pricing.list_price_tables()

    put, refused = recorded
    assert (put.method, put.path, put.status) == ("PUT", "/pricing/prices/435", 200)
    assert '"basePrice": 19.99' in put.request_excerpt and refused.status == 403
    assert "APP-TOKEN" not in repr(recorded) and "APP-TOKEN" not in exc_info.value.body_excerpt
    assert responses.calls[0].request.headers["X-VTEX-API-AppToken"] == "APP-TOKEN"


# --- the builder ---------------------------------------------------------------------------------------------


@pytest.fixture
def vtex_channel(channel):
    channel.vtex_account_name = "demostore"
    channel.vtex_base_url_override = ""
    channel.vtex_app_key = "key"
    channel.vtex_app_token = "APP-TOKEN"
    channel.vtex_rate_limits = {}
    return channel


def test_the_builder_calls_pricing_on_api_vtex_com_at_the_published_rate(vtex_channel, settings):
    settings.VTEX_DEFAULT_RATE = "50/1"

    client = vtex_pricing_client_for(vtex_channel)

    assert client.http.base_url == "https://api.vtex.com/demostore"
    limiter = client.http.limiter
    assert PUBLISHED_RATE.limit * 60 / PUBLISHED_RATE.window_seconds <= 2000  # the spec's 2000 a minute
    assert [limiter._rate(route) for route in ("price_read", "price_write", "price_tables")] == [PUBLISHED_RATE] * 3
    assert (limiter.remote, limiter.scope) == ("vtex", "demostore")


def test_the_builder_calls_pricing_through_the_channels_override(vtex_channel):
    vtex_channel.vtex_base_url_override = "http://127.0.0.1:8765/"

    assert vtex_pricing_client_for(vtex_channel).http.base_url == "http://127.0.0.1:8765"


def test_the_builder_needs_the_channels_vtex_credentials(vtex_channel):
    vtex_channel.vtex_app_key = ""
    with pytest.raises(NotConfigured):
        vtex_pricing_client_for(vtex_channel)
