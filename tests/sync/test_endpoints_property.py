"""Every endpoint, any input: 2xx with a stored row, 4xx with a JSON error and no row, or 503; never a 500.

Generated bodies (arbitrary bytes, JSON of any nesting with any text including lone surrogates, huge
and non-finite numbers, wrong types, UTF-16 and byte order marks, endpoint-shaped bodies with hostile
values), headers and tokens are posted through Django's test client against the real database
(design §2.10, issue #13 §3). The client re-raises a view's exception, so a 500 fails with its
traceback. The one 2xx without a row is VTEX's hook ping, which stores nothing by design.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import jwt
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mappings.models import ChannelKind
from mappings.services import sales_channel_connector_secret_rotate
from sync.inbox import VARIO_EVENTS
from sync.models import InboxEvent
from tests.factories import SalesChannelFactory

pytestmark = pytest.mark.django_db

SECRET = "vario-client-secret-for-the-tests-0123456789"
PREVIOUS = "the-previous-vario-client-secret-0123456789"
APP = "b1f3c0de-portal-app-identifier"
HOOK_SECRET = "s3cret-hook"
APP_KEY = "vtexappkey-demostore-PORTAL"

# A few seconds of CI time for all four tests together; deadline off because a loaded machine varies.
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(autouse=True)
def vario_app(settings):
    settings.VARIO_CLIENT_SECRET = SECRET
    settings.VARIO_CLIENT_SECRET_PREVIOUS = PREVIOUS
    settings.VARIO_APP_IDENTIFIER = APP
    settings.WEBHOOK_MAX_BODY_BYTES = 64 * 1024


@pytest.fixture
def channels(db):
    shop = SalesChannelFactory(
        code="shop", vtex_account_name="demostore", vtex_app_key=APP_KEY, vtex_hook_secret=HOOK_SECRET
    )
    marketplace = SalesChannelFactory(
        code="mkp",
        vtex_account_name="demostore",
        vtex_app_key="vtexappkey-demostore-MKP",
        kind=ChannelKind.EXTERNAL_MARKETPLACE,
        connector_name="vario-portal",
        connector_endpoint="https://portal.example.com/webhooks/vtex/mkp",
        vtex_trade_policies=["2"],
    )
    previous = marketplace.connector_secret
    # the previous one is valid too
    marketplace = sales_channel_connector_secret_rotate(channel=marketplace, grace_seconds=3600)
    return shop, marketplace, previous


# --- generated values ------------------------------------------------------------------------------------

# Any code point, with lone surrogates, NUL and the byte order mark drawn often (json.dumps writes the
# surrogates as \udXXX escapes).
any_text = st.text(
    st.characters(exclude_categories=()) | st.characters(categories=["Cs"]) | st.sampled_from(["\x00", "\ufeff"]),
    max_size=30,
)
# What WSGI hands Django as a header value: latin-1 text.
header_values = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)
content_types = st.sampled_from(
    ["application/json", "application/json; charset=utf-16", "text/plain", "multipart/form-data; boundary=x"]
)
huge_ints = st.integers(min_value=-(2**80), max_value=2**80) | st.sampled_from([2**63 - 1, 2**63, 10**300])
numbers = huge_ints | st.floats(allow_nan=True, allow_infinity=True)
scalars = st.none() | st.booleans() | numbers | any_text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=20,
)
ids = (
    huge_ints
    | any_text
    | st.from_regex(r"\A[0-9]{1,20}\Z")
    | st.sampled_from(["2044", "abc", "\ud800", " 1", "1e3", "0"])
    | json_values
)


def nested(depth: int, closed: bool) -> bytes:
    return b"[" * depth + (b"]" * depth if closed else b"")


def encoded(value, encoding: str) -> bytes:
    # json.dumps writes NaN/Infinity and escapes surrogates: both hostile on purpose.
    return json.dumps(value).encode(encoding)


def bodies(shaped: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    """Raw bytes, any JSON, deep nesting, and ``shaped`` (bodies close to the endpoint's contract)."""
    return st.one_of(
        st.binary(max_size=200),
        st.builds(encoded, json_values, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le"])),
        # Around JSON_MAX_DEPTH, and around and far beyond where Python's parser recurses too deep.
        st.builds(nested, st.integers(1, 40) | st.sampled_from([900, 1_000, 1_100, 5_000, 40_000]), st.booleans()),
        shaped.map(lambda value: json.dumps(value).encode()),
        shaped.map(lambda value: json.dumps(value).encode()),  # twice: most 2xx come from here
    )


def token(claims: dict, secret: str) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


# One clock reading for the whole run: a strategy that read the clock itself drew different bounds when
# hypothesis replayed an example a second later (FlakyStrategyDefinition). Tokens meant to be valid
# expire an hour after collection, well after the suite ends and inside VARIO_TOKEN_MAX_LIFETIME_SECONDS.
NOW = int(time.time())


@st.composite
def vario_authorizations(draw) -> str | None:
    now = NOW
    exp = draw(st.just(now + 3600) | st.integers(now - 100, now + 10**6) | numbers | any_text | st.booleans())
    claims = draw(st.fixed_dictionaries({"aud": st.just(APP) | any_text}, optional={"iat": numbers | any_text}))
    claims["exp"] = exp
    secret = draw(st.sampled_from([SECRET, PREVIOUS, "another-secret-of-at-least-32-bytes-long!!"]))
    return draw(
        st.one_of(
            st.just(f"Bearer {token({'aud': APP, 'exp': now + 3600}, SECRET)}"),
            st.just(f"Bearer {token({'aud': APP, 'exp': now + 3600}, PREVIOUS)}"),
            st.just(f"Bearer {token(claims, secret)}"),
            st.builds(
                lambda scheme, text: f"{scheme} {text}", st.sampled_from(["Bearer", "bearer", "Token"]), header_values
            ),
            header_values,
            st.none(),
        )
    )


def assert_the_rule(response, before: int, *, ping: bool = False) -> None:
    """2xx and a stored row, 4xx with a JSON error and no new row, or 503 with no new row."""
    status = response.status_code
    after = InboxEvent.objects.count()
    event(f"answered {status}")  # --hypothesis-show-statistics: how often each answer was reached
    if 200 <= status < 300:
        answer = response.json()
        if ping and answer == {"pong": True}:
            assert after == before
            return
        assert InboxEvent.objects.filter(pk=answer["eventId"]).exists()
        assert after == before + (0 if answer.get("duplicate") else 1)
    elif 400 <= status < 500:
        assert response["Content-Type"] == "application/json"
        assert isinstance(response.json()["error"], str) and response.json()["error"]
        assert after == before
    else:
        assert status == 503, f"{status}: {response.content[:300]!r}"
        assert after == before


# --- the endpoints -------------------------------------------------------------------------------------


vario_ids = st.integers(1, 2**63 - 1) | st.integers(1, 2**63 - 1).map(str)
vario_shaped = st.builds(
    lambda key, value, extra: {**extra, key: value},
    st.sampled_from(["id", "entityId", "documentId", "shipmentId", "parcelId", "other"]),
    vario_ids | ids,
    st.dictionaries(any_text, json_values, max_size=2),
)
event_names = st.sampled_from(sorted(VARIO_EVENTS)) | st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="/"), min_size=1, max_size=40
)


@PROPERTY
@given(
    event=event_names,
    body=bodies(vario_shaped),
    authorization=vario_authorizations(),
    generic=st.booleans(),
    content_type=content_types,
)
def test_vario_webhooks_answer_any_input_by_the_rule(client, event, body, authorization, generic, content_type):
    url = "/webhooks/order-status-change" if generic else f"/webhooks/vario/{quote(event, safe='')}"
    headers = {"Authorization": authorization} if authorization is not None else {}
    before = InboxEvent.objects.count()

    response = client.generic("POST", url, data=body, content_type=content_type, headers=headers)

    assert_the_rule(response, before)
    if response.status_code == 200 and (generic or event in VARIO_EVENTS):
        stored = InboxEvent.objects.get(pk=response.json()["eventId"]).entity_id
        assert stored.isascii() and stored.isdigit() and 0 < int(stored) < 2**63  # a VARIO id, nothing else


def hook_notifications() -> st.SearchStrategy[dict]:
    origin = (
        st.fixed_dictionaries(
            {"Account": st.just("demostore") | any_text, "Key": st.just(APP_KEY) | ids},
        )
        | json_values
    )
    return st.fixed_dictionaries(
        {"OrderId": st.just("1510580500001-01") | ids, "State": st.just("ready-for-handling") | scalars},
        optional={"Origin": origin, "CurrentChange": scalars, "Domain": any_text, "hookConfig": st.just("ping")},
    )


@PROPERTY
@given(
    body=bodies(hook_notifications()),
    secret=st.sampled_from([HOOK_SECRET, None, "", "wrong"]) | header_values,
    code=st.sampled_from(["shop", "mkp", "nope"]),
    content_type=content_types,
)
def test_the_vtex_hook_answers_any_input_by_the_rule(client, channels, body, secret, code, content_type):
    headers = {} if secret is None else {"X-Portal-Hook-Secret": secret}
    before = InboxEvent.objects.count()

    response = client.generic("POST", f"/webhooks/vtex/{code}/orders", body, content_type=content_type, headers=headers)

    assert_the_rule(response, before, ping=True)


def channel_order_results() -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"marketplaceOrderId": st.just("MKT-1001") | ids, "code": st.sampled_from(["SOI002", "EOI011"]) | ids},
        optional={"errors": json_values, "fields": json_values, "success": scalars, "message": any_text},
    )


@PROPERTY
@given(
    body=bodies(channel_order_results()),
    which=st.sampled_from(["current", "previous", "wrong", "other channel"]),
    account=st.just("demostore") | any_text,
    content_type=content_types,
)
def test_the_channel_order_notification_answers_any_input_by_the_rule(
    client, channels, body, which, account, content_type
):
    shop, marketplace, previous = channels
    code, secret = {
        "current": ("mkp", marketplace.connector_secret),
        "previous": ("mkp", previous),
        "wrong": ("mkp", "x" * 43),
        "other channel": ("shop", shop.connector_secret),
    }[which]
    query = quote(account.encode("utf-8", "surrogatepass"))  # a lone surrogate becomes bytes no UTF-8 decodes
    url = f"/webhooks/vtex/{code}/{secret}/order-integration/notification/processing-result?an={query}"
    before = InboxEvent.objects.count()

    response = client.generic("POST", url, body, content_type=content_type)

    assert_the_rule(response, before)
