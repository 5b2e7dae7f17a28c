"""The VARIO webhook edge: authenticate, validate, store, answer, enqueue after commit (issue 4 §1)."""

from __future__ import annotations

import hmac
import io
import json
import logging
import socket
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

import django_rq
import jwt
import pytest
from cryptography.fernet import MultiFernet
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone

from mappings.models import ChannelKind, SalesChannel
from mappings.services import sales_channel_connector_secret_rotate
from sandbox.harness import free_port
from sync import queue as sync_queue
from sync.inbox import inbox_sweep
from sync.models import InboxEvent, OrderSync
from sync.runner import order_sync_request
from tests.factories import SalesChannelFactory

pytestmark = pytest.mark.django_db

SECRET = "vario-client-secret-for-the-tests-0123456789"  # 32+ bytes, as HS256 wants
APP = "b1f3c0de-portal-app-identifier"
DELIVERY_NOTE = "document.customer_delivery_document.order_to_delivery"
PARCEL = "shipment.parcel.completed"
GENERIC = "/webhooks/order-status-change"


@pytest.fixture(autouse=True)
def vario_app(settings):
    settings.VARIO_CLIENT_SECRET = SECRET
    settings.VARIO_APP_IDENTIFIER = APP


@pytest.fixture
def queue(redis_conn):
    """The real default queue on the test Redis, empty at the start."""
    return django_rq.get_queue(sync_queue.QUEUE)


def app_token(*, secret=SECRET, audience=APP, expires_in: int | None = 60, algorithm="HS256", issued_in=0) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"aud": audience, "iat": now + issued_in}
    if expires_in is not None:
        claims["exp"] = now + expires_in
    return jwt.encode(claims, secret, algorithm=algorithm)


def vario_url(event: str) -> str:
    return reverse("webhook-vario", args=[event])


def post(client, url, body, *, authorization: str | None = None):
    """POST as VARIO does: a JSON body and, unless told otherwise, a valid app token."""
    if authorization is None:
        authorization = f"Bearer {app_token()}"
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    headers = {"Authorization": authorization} if authorization else {}
    response = client.post(url, data=data, content_type="application/json", headers=headers)
    sync_queue.inbox_handoff_wait()  # and what the web process's hand-off thread does after the answer
    return response


def queued_jobs(queue) -> list[tuple[str, list]]:
    return [(job.func_name, list(job.args)) for job in queue.jobs]


def handed_over(redis_conn) -> list[int]:
    """Event ids in the ready set, oldest first (what the next drain job takes), once the web
    process's hand-off thread has sent what it was given."""
    sync_queue.inbox_handoff_wait()
    return [int(member) for member in redis_conn.zrange(sync_queue.INBOX_READY_KEY, 0, -1)]


DRAIN = ("sync.jobs.inbox_drain_job", [])


# --- authentication -------------------------------------------------------------------------------------

# Built when the test runs, so a token meant to be valid apart from one flaw has not expired meanwhile.
REFUSED_AUTHORIZATIONS = {
    "no Authorization header": lambda: "",
    "not a Bearer scheme": lambda: f"Token {app_token()}",
    "signed with another secret": lambda: f"Bearer {app_token(secret='another-secret-of-at-least-32-bytes!!')}",
    "for another app": lambda: f"Bearer {app_token(audience='someone-elses-app')}",
    "expired": lambda: f"Bearer {app_token(expires_in=-120)}",
    "expired a moment ago (no leeway for exp)": lambda: f"Bearer {app_token(expires_in=-2)}",
    "issued further ahead than the clock leeway": lambda: f"Bearer {app_token(issued_in=600, expires_in=900)}",
    "without exp": lambda: f"Bearer {app_token(expires_in=None)}",
    "unsigned (alg none)": lambda: f"Bearer {app_token(secret=None, algorithm='none')}",
    "not a JWT": lambda: "Bearer not-a-jwt",
}


@pytest.mark.parametrize("authorization", REFUSED_AUTHORIZATIONS.values(), ids=REFUSED_AUTHORIZATIONS.keys())
def test_a_call_without_a_valid_app_token_is_refused_with_a_json_401(client, authorization):
    response = post(client, vario_url(DELIVERY_NOTE), {"id": 2044}, authorization=authorization())

    assert response.status_code == 401
    assert response.json()["error"].startswith("Unauthorized")


@pytest.mark.parametrize("authorization", REFUSED_AUTHORIZATIONS.values(), ids=REFUSED_AUTHORIZATIONS.keys())
def test_a_refused_call_stores_nothing(client, authorization):
    post(client, vario_url(DELIVERY_NOTE), {"id": 2044}, authorization=authorization())

    assert InboxEvent.objects.count() == 0


def test_an_expired_token_is_named_as_the_reason(client):
    response = post(client, GENERIC, {"entityId": 1}, authorization=f"Bearer {app_token(expires_in=-120)}")

    assert "expired" in response.json()["error"]


@pytest.mark.parametrize(
    "authorization",
    [lambda: f"bearer {app_token()}", lambda: f"Bearer {app_token(issued_in=20)}"],
    ids=["lower-case scheme", "issued by a clock 20 s ahead"],
)
def test_tokens_a_strict_reading_would_refuse_are_accepted(client, authorization):
    response = post(client, GENERIC, {"entityId": 1042}, authorization=authorization())

    assert response.status_code == 200


def test_the_generic_endpoint_refuses_a_call_without_a_token(client):
    response = post(client, GENERIC, {"entityId": 1042}, authorization="")

    assert response.status_code == 401
    assert InboxEvent.objects.count() == 0


def test_a_portal_without_vario_credentials_refuses_every_call(client, settings):
    settings.VARIO_CLIENT_SECRET = ""
    response = post(client, GENERIC, {"entityId": 1042}, authorization=f"Bearer {app_token()}")

    assert response.status_code == 401
    assert InboxEvent.objects.count() == 0


@pytest.mark.parametrize("url", [vario_url(DELIVERY_NOTE), GENERIC], ids=["vario event", "order-status-change"])
def test_a_call_with_a_valid_app_token_is_accepted(client, url):
    response = post(client, url, {"id": 2044})

    assert response.status_code == 200
    assert response.json()["accepted"] is True


# --- the body -------------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_refused_with_a_400_that_says_so(client):
    response = post(client, vario_url(DELIVERY_NOTE), "{id: 2044")

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_a_body_that_is_not_utf8_is_refused_with_a_400(client):
    response = post(client, vario_url(DELIVERY_NOTE), b'{"id": "\xff\xfe"}')

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_an_empty_body_is_refused_with_a_400(client):
    response = post(client, vario_url(DELIVERY_NOTE), "")

    assert response.status_code == 400


def test_a_json_array_is_refused_with_a_400_asking_for_an_object(client):
    response = post(client, vario_url(DELIVERY_NOTE), [{"id": 2044}])

    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


@pytest.mark.parametrize("body", [{}, {"parcelId": 4401}, {"id": None}, {"id": ""}, {"id": True}, {"id": {"n": 1}}])
def test_a_document_event_without_an_id_is_refused_naming_the_expected_keys(client, body):
    response = post(client, vario_url(DELIVERY_NOTE), body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert "'id'" in error
    assert "'entityId'" in error


def test_a_parcel_event_without_a_shipment_id_is_refused_naming_shipment_id(client):
    response = post(client, vario_url(PARCEL), {"parcelId": 4401})

    assert response.status_code == 400
    assert "'shipmentId'" in response.json()["error"]


def test_a_body_over_the_size_limit_is_refused_with_a_413(client, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 64
    body = {"id": 2044, "padding": "x" * 100}

    response = post(client, vario_url(DELIVERY_NOTE), body)

    assert response.status_code == 413
    assert "64 bytes" in response.json()["error"]


def test_a_body_at_the_size_limit_is_accepted(client, settings):
    body = json.dumps({"id": 2044})
    settings.WEBHOOK_MAX_BODY_BYTES = len(body)

    assert post(client, vario_url(DELIVERY_NOTE), body).status_code == 200


BAD_BODIES = {
    "not JSON": (vario_url(DELIVERY_NOTE), "{id: 2044"),
    "a JSON array": (vario_url(DELIVERY_NOTE), "[2044]"),
    "no id": (vario_url(DELIVERY_NOTE), "{}"),
    "parcel without shipmentId": (vario_url(PARCEL), '{"parcelId": 4401}'),
    "over the size limit": (GENERIC, json.dumps({"entityId": 1, "padding": "x" * 200})),
    "NaN": (GENERIC, '{"entityId": 1, "weight": NaN}'),
    "a NUL character": (GENERIC, '{"entityId": 1, "note": "a\\u0000b"}'),
    "an id over 100 characters": (GENERIC, json.dumps({"entityId": "9" * 101})),
    "an event name over 200 characters": (vario_url("x" * 201), '{"id": 1}'),
}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"entityId": 1, "weight": Infinity}', "Infinity is not a JSON number"),
        ('{"entityId": 1, "note": "a\\u0000b"}', "NUL character"),
        ('{"entityId": 1, "weight": 1e999}', "1e999 is out of range"),
        ('{"entityId": 1, "note": "\\ud800"}', "lone UTF-16 surrogate"),
        ('{"entityId": 1, "\\udfff": 2}', "lone UTF-16 surrogate"),
        ('{"entityId": 1, "n": {"n": "a\\u0000b"}}', "NUL character"),
        (json.dumps({"entityId": "9" * 101}), "'entityId' is not a VARIO id"),
    ],
)
def test_input_the_database_cannot_store_is_a_400_that_says_why_not_a_503(client, body, message):
    response = post(client, GENERIC, body)

    assert response.status_code == 400
    assert message in response.json()["error"]


@pytest.mark.parametrize(("url", "body"), BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_refused_body_stores_nothing(client, settings, url, body):
    settings.WEBHOOK_MAX_BODY_BYTES = 128

    response = post(client, url, body)

    assert response.status_code in (400, 413)
    assert InboxEvent.objects.count() == 0


# --- which id -------------------------------------------------------------------------------------------

IDS = {
    "id": (GENERIC, {"id": 1042}, "1042"),
    "entityId": (GENERIC, {"entityId": 1042}, "1042"),
    "id before entityId": (GENERIC, {"id": 1, "entityId": 2}, "1"),
    "entityId before documentId": (GENERIC, {"entityId": 2, "documentId": 3}, "2"),
    "documentId for a document event": (vario_url(DELIVERY_NOTE), {"documentId": 2044}, "2044"),
    "an id sent as a string": (vario_url(DELIVERY_NOTE), {"id": "2044"}, "2044"),
    "shipmentId for a parcel": (vario_url(PARCEL), {"shipmentId": 3301, "parcelId": 4401}, "3301"),
}


@pytest.mark.parametrize(("url", "body", "expected"), IDS.values(), ids=IDS.keys())
def test_the_entity_id_is_read_from_the_keys_vario_uses(client, url, body, expected):
    assert post(client, url, body).status_code == 200

    assert InboxEvent.objects.get().entity_id == expected


def test_a_parcel_event_reads_its_shipment_id_even_when_the_body_names_a_document(client):
    post(client, vario_url(PARCEL), {"documentId": 2044, "shipmentId": 3301, "parcelId": 4401})

    assert InboxEvent.objects.get().entity_id == "3301"


def test_a_parcel_event_prefers_its_shipment_id_to_a_generic_id(client):
    post(client, vario_url(PARCEL), {"id": 4401, "shipmentId": 3301, "parcelId": 4401})

    assert InboxEvent.objects.get().entity_id == "3301"


def test_a_document_event_does_not_take_a_shipment_id_for_its_document(client):
    response = post(client, vario_url(DELIVERY_NOTE), {"shipmentId": 3301, "parcelId": 4401})

    assert response.status_code == 400


# --- hostile input (issue #13 §3) ----------------------------------------------------------------------

DEEP = b"[" * 40_000  # about 40 KB: Python's parser gives up with a RecursionError near 1,000 levels
HOSTILE_BODIES = {
    "nested 40,000 deep": (DEEP, "nests deeper than 32 levels"),
    "nested 33 deep inside an object": (b'{"id": 1, "x": ' + b"[" * 32 + b"]" * 32 + b"}", "nests deeper than 32"),
    "a lone surrogate in the id": (b'{"id": "\\ud800"}', "lone UTF-16 surrogate"),
    "a lone surrogate in a key": (b'{"id": 1, "\\uDC00x": 1}', "lone UTF-16 surrogate"),
    "UTF-16 with its byte order mark": ('{"id": 1}'.encode("utf-16"), "not UTF-8"),
    "UTF-16 without one": ('{"id": 1}'.encode("utf-16-le"), "not valid JSON"),
    "UTF-8 with a byte order mark": (b'\xef\xbb\xbf{"id": 1}', "byte order mark"),
}


@pytest.mark.parametrize("url", [vario_url(DELIVERY_NOTE), GENERIC], ids=["vario event", "order-status-change"])
@pytest.mark.parametrize(("body", "message"), HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_a_hostile_body_is_a_400_naming_the_problem_and_stores_nothing(client, url, body, message):
    response = post(client, url, body)

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not InboxEvent.objects.exists()


def test_an_event_name_with_a_nul_character_is_a_400_on_every_database(client):
    response = post(client, "/webhooks/vario/a%00b", {"id": 1})

    assert response.status_code == 400
    assert "event name contains a NUL character" in response.json()["error"]
    assert not InboxEvent.objects.exists()


def test_a_properly_paired_surrogate_escape_is_accepted(client):
    response = post(client, GENERIC, b'{"entityId": 1, "note": "\\ud83d\\ude00"}')

    assert response.status_code == 200
    assert InboxEvent.objects.get().payload["note"] == "\U0001f600"


def test_the_token_is_checked_before_the_body_is_parsed(client):
    response = post(client, GENERIC, DEEP, authorization="Bearer not-a-jwt")

    assert response.status_code == 401


NOT_VARIO_IDS = {
    "letters": "abc",
    "digits and letters": "12a",
    "a sign": "-5",
    "a plus sign": "+5",
    "spaces": " 5",
    "a decimal string": "1.5",
    "a JSON fraction": 1.5,
    "a negative number": -3,
    "zero": 0,
    "one over int64": 2**63,
    "one over int64 as digits": str(2**63),
    "other digits than ASCII": "\u0663",
    "a boolean": True,
    "an object": {"n": 1},
    "a list": [1],
}


@pytest.mark.parametrize("value", NOT_VARIO_IDS.values(), ids=NOT_VARIO_IDS.keys())
@pytest.mark.parametrize("key", ["id", "entityId"])
def test_an_id_that_is_not_a_vario_id_is_a_400_naming_its_key(client, key, value):
    response = post(client, GENERIC, {key: value})

    assert response.status_code == 400
    assert f"'{key}' is not a VARIO id" in response.json()["error"]
    assert not InboxEvent.objects.exists()


def test_a_parcel_event_with_a_shipment_id_that_is_not_a_vario_id_is_a_400(client):
    response = post(client, vario_url(PARCEL), {"shipmentId": "abc", "parcelId": 4401})

    assert response.status_code == 400
    assert "'shipmentId' is not a VARIO id" in response.json()["error"]


def test_an_unknown_event_with_an_id_that_is_not_a_vario_id_is_a_400(client):
    assert post(client, vario_url("article.update"), {"id": "abc"}).status_code == 400


@pytest.mark.parametrize(
    ("value", "stored"),
    [(2**63 - 1, str(2**63 - 1)), (str(2**63 - 1), str(2**63 - 1)), ("0042", "42"), (1, "1")],
    ids=["int64 max", "int64 max as digits", "leading zeros", "one"],
)
def test_every_vario_id_is_accepted_and_stored_as_its_digits(client, value, stored):
    assert post(client, GENERIC, {"entityId": value}).status_code == 200

    assert InboxEvent.objects.get().entity_id == stored


def signed(claims: dict, *, secret: str = SECRET) -> str:
    return "Bearer " + jwt.encode({"aud": APP, **claims}, secret, algorithm="HS256")


@pytest.mark.parametrize(
    "exp",
    [lambda now: str(now + 60), lambda now: [now + 60], lambda now: {"at": now + 60}],
    ids=["a string of digits", "a list", "an object"],
)
def test_a_token_whose_exp_is_not_a_number_is_refused(client, exp):
    response = post(client, GENERIC, {"entityId": 1}, authorization=signed({"exp": exp(int(time.time()))}))

    assert response.status_code == 401
    assert InboxEvent.objects.count() == 0


def test_a_token_whose_exp_is_true_is_refused(client):
    assert post(client, GENERIC, {"entityId": 1}, authorization=signed({"exp": True})).status_code == 401


@pytest.mark.parametrize("lifetime", [10**300, 10**400], ids=["10^300 s", "10^400 s (beyond a float)"])
def test_a_token_valid_for_absurdly_long_is_refused(client, lifetime):
    token = signed({"exp": int(time.time()) + lifetime})

    response = post(client, GENERIC, {"entityId": 1}, authorization=token)

    assert response.status_code == 401
    assert "VARIO_TOKEN_MAX_LIFETIME_SECONDS" in response.json()["error"]


def test_the_token_lifetime_cap_is_a_setting(client, settings):
    settings.VARIO_TOKEN_MAX_LIFETIME_SECONDS = 300

    within, beyond = f"Bearer {app_token(expires_in=240)}", f"Bearer {app_token(expires_in=400)}"

    assert post(client, GENERIC, {"entityId": 1}, authorization=within).status_code == 200
    assert post(client, GENERIC, {"entityId": 2}, authorization=beyond).status_code == 401


PREVIOUS_SECRET = "the-previous-vario-client-secret-0123456789"


def test_a_token_signed_with_the_previous_secret_is_accepted_during_the_overlap(client, settings):
    settings.VARIO_CLIENT_SECRET_PREVIOUS = PREVIOUS_SECRET

    response = post(client, GENERIC, {"entityId": 1}, authorization=f"Bearer {app_token(secret=PREVIOUS_SECRET)}")

    assert response.status_code == 200
    assert post(client, GENERIC, {"entityId": 2}).status_code == 200  # and the current one still is


def test_a_token_signed_with_the_previous_secret_is_refused_once_the_overlap_ends(client, settings):
    settings.VARIO_CLIENT_SECRET_PREVIOUS = ""

    response = post(client, GENERIC, {"entityId": 1}, authorization=f"Bearer {app_token(secret=PREVIOUS_SECRET)}")

    assert response.status_code == 401
    assert "InvalidSignatureError" in response.json()["error"]


def test_an_expired_token_signed_with_the_previous_secret_is_named_expired(client, settings):
    settings.VARIO_CLIENT_SECRET_PREVIOUS = PREVIOUS_SECRET
    token = f"Bearer {app_token(secret=PREVIOUS_SECRET, expires_in=-120)}"

    assert "expired" in post(client, GENERIC, {"entityId": 1}, authorization=token).json()["error"]


# --- the Channel Order API notification ---------------------------------------------------------------


@pytest.fixture
def marketplace(db):
    return SalesChannelFactory(
        code="mkp",
        vtex_account_name="demostore",
        kind=ChannelKind.EXTERNAL_MARKETPLACE,
        connector_name="vario-portal",
        connector_endpoint="https://portal.example.com/webhooks/vtex/mkp",
    )


RESULT = {"marketplaceOrderId": "MKT-1001", "code": "SOI002", "flow": "ApproveOrder", "success": True}


def notify(client, channel, body=RESULT, *, secret: str | None = None, account: str = "demostore"):
    """POST where VTEX posts: the path of the connectorEndpoint the portal sent, plus VTEX's own suffix."""
    if secret is None:
        base = urlsplit(channel.connector_notification_endpoint).path
    else:
        base = f"/webhooks/vtex/{channel.code}/{secret}"
    data = body if isinstance(body, bytes) else json.dumps(body)
    url = f"{base}/order-integration/notification/processing-result?an={account}"
    return client.post(url, data=data, content_type="application/json")


def test_the_connector_endpoint_sent_to_vtex_carries_the_channels_secret(marketplace):
    endpoint = marketplace.connector_notification_endpoint

    assert endpoint == f"https://portal.example.com/webhooks/vtex/mkp/{marketplace.connector_secret}"
    assert len(marketplace.connector_secret) >= 43  # 256 random bits, URL-safe
    assert not urlsplit(endpoint).query  # reference/vtex.md §7: no query string


def test_a_trailing_slash_of_the_connector_endpoint_is_not_doubled(marketplace):
    marketplace.connector_endpoint += "/"

    assert marketplace.connector_notification_endpoint.endswith(f"/mkp/{marketplace.connector_secret}")


def test_each_channel_gets_its_own_secret(marketplace):
    other = SalesChannelFactory(code="mkp2")

    assert other.connector_secret and other.connector_secret != marketplace.connector_secret


def test_a_notification_under_the_channels_secret_is_stored(client, marketplace):
    response = notify(client, marketplace)

    assert response.status_code == 200
    event = InboxEvent.objects.get()
    assert (event.source, event.event, event.entity_id, event.channel) == (
        InboxEvent.Source.MARKETPLACE,
        "channel-order.SOI002",
        "MKT-1001",
        marketplace,
    )


def wrong_secrets(channel) -> dict[str, str]:
    return {
        "another": "x" * len(channel.connector_secret),
        "one character short": channel.connector_secret[:-1],
        "one character more": channel.connector_secret + "x",
        "another channel's": SalesChannelFactory(code="mkp2").connector_secret,
    }


def test_a_wrong_secret_is_a_404_that_confirms_nothing_and_stores_nothing(client, marketplace):
    answers = {name: notify(client, marketplace, secret=s) for name, s in wrong_secrets(marketplace).items()}
    no_channel = client.post(
        f"/webhooks/vtex/nope/{marketplace.connector_secret}/order-integration/notification/processing-result",
        data=json.dumps(RESULT),
        content_type="application/json",
    )

    for response in [*answers.values(), no_channel]:
        assert response.status_code == 404
        assert response.json() == {"error": "Not found."}  # the same for an unknown channel
    assert not InboxEvent.objects.exists()


def test_an_unknown_channel_costs_what_a_wrong_secret_does(client, marketplace, monkeypatch):
    # No timing in a test: the work is counted instead. The channel has an app token too, which the
    # edge must not decrypt (an unknown channel has none to decrypt).
    assert marketplace.vtex_app_token
    counts = {"decrypt": 0, "compare": 0}
    decrypt, compare = MultiFernet.decrypt, hmac.compare_digest

    def counting_decrypt(self, token, ttl=None):
        counts["decrypt"] += 1
        return decrypt(self, token, ttl)

    def counting_compare(a, b):
        counts["compare"] += 1
        return compare(a, b)

    monkeypatch.setattr(MultiFernet, "decrypt", counting_decrypt)
    monkeypatch.setattr(hmac, "compare_digest", counting_compare)

    def work_of(channel_code: str) -> dict[str, int]:
        counts.update(decrypt=0, compare=0)
        response = client.post(
            f"/webhooks/vtex/{channel_code}/{'x' * 43}/order-integration/notification/processing-result",
            data=json.dumps(RESULT),
            content_type="application/json",
        )
        assert response.json() == {"error": "Not found."}
        return dict(counts)

    wrong_secret, unknown_channel = work_of("mkp"), work_of("nope")

    assert wrong_secret == unknown_channel == {"decrypt": 1, "compare": 2}


def test_the_old_path_without_a_secret_is_not_routed(client, marketplace):
    response = client.post(
        "/webhooks/vtex/mkp/order-integration/notification/processing-result?an=demostore",
        data=json.dumps(RESULT),
        content_type="application/json",
    )

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found."}
    assert not InboxEvent.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/webhooks",
        "/webhooks/",
        "/webhooks/nothing-here",
        "/webhooks/vario/order.update/extra",
        "/webhooks/vtex/mkp/orders/",  # no APPEND_SLASH redirect either
        "/webhooks/vtex/not%20a%20slug/orders",
        "/webhooks/vtex/mkp/SECRET/order-integration/notification/other",
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_every_unrouted_path_under_webhooks_is_a_json_404(client, db, path, method):
    body = {} if method == "get" else {"data": "{}", "content_type": "application/json"}
    response = getattr(client, method)(path, **body)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Not found."}


@pytest.mark.parametrize(
    "path",
    [
        GENERIC,
        "/webhooks/vario/order.update",
        "/webhooks/vtex/mkp/orders",
        "/webhooks/vtex/mkp/SECRET/order-integration/notification/processing-result",
    ],
)
@pytest.mark.parametrize("method", ["get", "put", "delete", "head"])
def test_a_webhook_called_with_another_method_than_post_is_a_json_405(client, marketplace, path, method):
    response = getattr(client, method)(path)

    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "POST"
    if method != "head":
        assert response.json() == {"error": f"Method {method.upper()} not allowed; use POST."}
    assert not InboxEvent.objects.exists()


def test_a_channel_that_is_no_marketplace_connector_has_no_notification_endpoint(client, db):
    shop = SalesChannelFactory(code="shop", vtex_account_name="demostore")

    assert notify(client, shop, secret=shop.connector_secret).status_code == 404


def test_the_secret_is_checked_before_the_body_is_parsed(client, marketplace):
    assert notify(client, marketplace, DEEP, secret="wrong").status_code == 404


@pytest.mark.parametrize(("body", "message"), HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_a_hostile_notification_is_a_400_naming_the_problem(client, marketplace, body, message):
    response = notify(client, marketplace, body)

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not InboxEvent.objects.exists()


def test_a_notification_for_another_account_is_a_400(client, marketplace):
    assert notify(client, marketplace, account="other").status_code == 400


def test_after_a_rotation_the_new_secret_and_for_a_grace_period_the_previous_one_are_accepted(client, marketplace):
    previous = marketplace.connector_secret

    rotated = sales_channel_connector_secret_rotate(channel=marketplace, grace_seconds=3600)

    assert rotated.connector_secret != previous
    assert rotated.connector_notification_endpoint.endswith("/" + rotated.connector_secret)
    assert notify(client, rotated).status_code == 200
    assert notify(client, rotated, secret=previous).status_code == 200


def test_the_previous_secret_is_refused_once_the_grace_period_is_over(client, marketplace):
    previous = marketplace.connector_secret
    rotated = sales_channel_connector_secret_rotate(channel=marketplace, grace_seconds=3600)
    SalesChannel.objects.filter(pk=rotated.pk).update(
        connector_secret_previous_valid_until=rotated.connector_secret_previous_valid_until - timedelta(seconds=3601)
    )

    assert notify(client, marketplace, secret=previous).status_code == 404
    assert notify(client, rotated).status_code == 200


def test_a_second_rotation_drops_the_first_secret(client, marketplace):
    first = marketplace.connector_secret
    sales_channel_connector_secret_rotate(channel=marketplace, grace_seconds=3600)
    rotated = sales_channel_connector_secret_rotate(channel=marketplace, grace_seconds=3600)

    assert notify(client, rotated, secret=first).status_code == 404
    assert notify(client, rotated, secret=rotated.connector_secret_previous).status_code == 200


def test_the_rotate_command_rotates_and_prints_no_secret(marketplace):
    previous = marketplace.connector_secret
    out = io.StringIO()

    call_command("rotate_connector_secret", "mkp", stdout=out)

    marketplace.refresh_from_db()
    assert marketplace.connector_secret != previous
    assert marketplace.connector_secret_previous == previous
    assert previous not in out.getvalue() and marketplace.connector_secret not in out.getvalue()
    assert "accepted until" in out.getvalue()


def test_the_rotate_command_keeps_the_previous_secret_for_the_default_grace(client, marketplace, settings):
    settings.VTEX_CONNECTOR_SECRET_GRACE_SECONDS = 3600
    previous = marketplace.connector_secret
    before = timezone.now()

    call_command("rotate_connector_secret", "mkp", stdout=io.StringIO())

    marketplace.refresh_from_db()
    valid_until = marketplace.connector_secret_previous_valid_until
    assert before + timedelta(seconds=3600) <= valid_until <= timezone.now() + timedelta(seconds=3600)
    assert notify(client, marketplace, secret=previous).status_code == 200


def test_the_rotate_command_stores_its_own_grace_on_the_row(client, marketplace, settings):
    previous = marketplace.connector_secret
    before = timezone.now()

    call_command("rotate_connector_secret", "mkp", "--grace-seconds", "60", stdout=io.StringIO())
    settings.VTEX_CONNECTOR_SECRET_GRACE_SECONDS = 0  # a later change of the default moves nothing

    marketplace.refresh_from_db()
    valid_until = marketplace.connector_secret_previous_valid_until
    assert before + timedelta(seconds=60) <= valid_until <= timezone.now() + timedelta(seconds=60)
    assert notify(client, marketplace, secret=previous).status_code == 200
    SalesChannel.objects.filter(pk=marketplace.pk).update(
        connector_secret_previous_valid_until=timezone.now() - timedelta(seconds=1)
    )
    assert notify(client, marketplace, secret=previous).status_code == 404


def test_the_rotate_command_can_revoke_the_previous_secret_at_once(client, marketplace, settings):
    settings.VTEX_CONNECTOR_SECRET_GRACE_SECONDS = 3600
    previous = marketplace.connector_secret
    out = io.StringIO()

    call_command("rotate_connector_secret", "mkp", "--revoke-previous", stdout=out)

    marketplace.refresh_from_db()
    assert (marketplace.connector_secret_previous, marketplace.connector_secret_previous_valid_until) == ("", None)
    assert notify(client, marketplace, secret=previous).status_code == 404
    assert notify(client, marketplace).status_code == 200
    assert "the previous one no longer works" in out.getvalue()
    assert previous not in out.getvalue() and marketplace.connector_secret not in out.getvalue()


@pytest.mark.parametrize("options", [["--grace-seconds", "-1"], ["--grace-seconds", "60", "--revoke-previous"]])
def test_the_rotate_command_refuses_a_negative_or_contradicting_grace(marketplace, options):
    secret = marketplace.connector_secret

    with pytest.raises(CommandError):
        call_command("rotate_connector_secret", "mkp", *options, stdout=io.StringIO())

    marketplace.refresh_from_db()
    assert marketplace.connector_secret == secret


def test_the_rotate_command_names_an_unknown_channel(db):
    with pytest.raises(CommandError, match="no sales channel with code 'nope'"):
        call_command("rotate_connector_secret", "nope")


def test_a_database_outage_while_reading_the_channel_is_a_503(client, marketplace):
    def database_down(execute, sql, params, many, context):
        raise OperationalError("database is locked")

    with connection.execute_wrapper(database_down):
        response = notify(client, marketplace)

    assert response.status_code == 503
    assert "Database unavailable" in response.json()["error"]


def test_the_connector_secret_is_encrypted_at_rest(marketplace):
    with connection.cursor() as cursor:
        cursor.execute("SELECT connector_secret FROM mappings_saleschannel WHERE id = %s", [marketplace.pk])
        stored = cursor.fetchone()[0]

    assert stored and marketplace.connector_secret not in stored


# --- what is stored -------------------------------------------------------------------------------------


def test_an_accepted_event_is_stored_as_pending_with_its_name_and_payload(client):
    post(client, vario_url(DELIVERY_NOTE), {"id": 2044})

    event = InboxEvent.objects.get()
    assert (event.source, event.event, event.status, event.payload) == (
        InboxEvent.Source.VARIO_WEBHOOK,
        DELIVERY_NOTE,
        InboxEvent.Status.PENDING,
        {"id": 2044},
    )


def test_the_answer_names_the_stored_event(client):
    response = post(client, vario_url(DELIVERY_NOTE), {"id": 2044})

    assert response.json() == {"accepted": True, "eventId": InboxEvent.objects.get().pk, "status": "pending"}


def test_the_generic_endpoint_stores_an_order_status_change_event(client):
    post(client, GENERIC, {"entityId": 1042})

    assert InboxEvent.objects.get().event == "order-status-change"


def test_an_unknown_event_is_answered_200_and_stored_as_ignored(client):
    response = post(client, vario_url("sales_channel.create"), {"id": 7})

    assert response.status_code == 200
    event = InboxEvent.objects.get()
    assert (event.event, event.status) == ("sales_channel.create", InboxEvent.Status.IGNORED)
    assert "sales_channel.create" in event.last_error


def test_an_unknown_event_without_an_id_is_still_stored_as_ignored(client):
    response = post(client, vario_url("tenant.online"), {"tenant": "acme"})

    assert response.status_code == 200
    assert InboxEvent.objects.get().status == InboxEvent.Status.IGNORED


def test_an_unknown_event_is_not_queued_for_processing(client, queue, redis_conn, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post(client, vario_url("sales_channel.create"), {"id": 7})

    assert (queue.count, handed_over(redis_conn)) == (0, [])


def test_the_event_is_stored_before_the_answer_and_queued_only_after_commit(
    client, settings, queue, redis_conn, django_capture_on_commit_callbacks
):
    # django-rq defers enqueues made inside a transaction by itself; "auto" shows what the portal does.
    settings.RQ = {"COMMIT_MODE": "auto"}
    with django_capture_on_commit_callbacks() as after_commit:
        response = post(client, vario_url(DELIVERY_NOTE), {"id": 2044})

    assert response.status_code == 200
    assert InboxEvent.objects.filter(pk=response.json()["eventId"]).exists()
    assert (queue.count, handed_over(redis_conn)) == (0, [])  # not before the commit
    with django_capture_on_commit_callbacks(execute=True):
        for callback in after_commit:
            callback()
    assert handed_over(redis_conn) == [response.json()["eventId"]]
    assert queued_jobs(queue) == [DRAIN]


def test_the_same_webhook_posted_ten_times_stores_ten_events_for_one_drain_job(
    client, queue, redis_conn, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answers = [post(client, vario_url(DELIVERY_NOTE), {"id": 2044}) for _ in range(10)]

    assert [a.status_code for a in answers] == [200] * 10
    stored = InboxEvent.objects.filter(entity_id="2044", status=InboxEvent.Status.PENDING).order_by("pk")
    assert handed_over(redis_conn) == [event.pk for event in stored]
    assert queued_jobs(queue) == [DRAIN]


def test_ten_requests_for_one_order_collapse_into_one_sync_and_one_job(queue, django_capture_on_commit_callbacks):
    channel = SalesChannelFactory(code="shop", vario_sales_channel_id="7")

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(10):
            order_sync_request(kind=OrderSync.Kind.STATUS, channel=channel, key="1042", erp_order_id="1042")

    sync = OrderSync.objects.get()
    assert (sync.generation, sync.status) == (10, OrderSync.Status.PENDING)
    assert queued_jobs(queue) == [("sync.jobs.order_status_sync_job", [sync.pk])]


# --- faults ---------------------------------------------------------------------------------------------


def test_a_database_outage_is_answered_503_with_a_json_error(client):
    def database_down(execute, sql, params, many, context):
        raise OperationalError("database is locked")

    with connection.execute_wrapper(database_down):
        response = post(client, vario_url(DELIVERY_NOTE), {"id": 2044})

    assert response.status_code == 503
    assert "retry" in response.json()["error"]


@pytest.mark.parametrize("url", [vario_url(DELIVERY_NOTE), GENERIC], ids=["vario event", "order-status-change"])
def test_get_is_not_allowed(client, url):
    response = client.get(url, headers={"Authorization": f"Bearer {app_token()}"})

    assert response.status_code == 405
    assert InboxEvent.objects.count() == 0


@pytest.fixture
def redis_down(settings, queue):
    """Point the portal and its queues at a loopback port nothing listens on; ``back()`` restores them.

    ``queue`` is built first, on the working Redis, so tests can look at the real queue throughout.
    """
    good_url = settings.REDIS_URL
    dead_url = f"redis://127.0.0.1:{free_port()}/0"

    def point_at(url: str) -> None:
        settings.REDIS_URL = url
        settings.RQ_QUEUES = {name: {**config, "URL": url} for name, config in settings.RQ_QUEUES.items()}

    point_at(dead_url)

    class Outage:
        @staticmethod
        def back() -> None:
            point_at(good_url)

    return Outage


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_the_webhook_still_answers_200_and_keeps_the_event_pending(client, redis_down, caplog):
    caplog.set_level(logging.WARNING, logger="sync.queue")

    response = post(client, vario_url(DELIVERY_NOTE), {"id": 2044})

    assert response.status_code == 200
    assert InboxEvent.objects.get().status == InboxEvent.Status.PENDING
    sync_queue.inbox_handoff_wait()
    assert "could not hand inbox events" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_hand_over_while_redis_is_down_answers_false(redis_down):
    assert sync_queue.inbox_events_signal(event_ids=[4711]) is False


@pytest.mark.django_db(transaction=True)
def test_the_sweep_hands_over_an_event_left_pending_while_redis_was_down(
    client, settings, redis_down, queue, redis_conn
):
    settings.SYNC_SWEEP_AFTER_SECONDS = 0
    event_id = post(client, vario_url(DELIVERY_NOTE), {"id": 2044}).json()["eventId"]
    redis_down.back()

    counts = inbox_sweep()

    assert counts["events"] == 1
    assert handed_over(redis_conn) == [event_id]
    assert DRAIN in queued_jobs(queue)


@pytest.mark.django_db(transaction=True)
def test_the_sweep_leaves_alone_an_event_already_handed_over(client, settings, queue, redis_conn):
    settings.SYNC_SWEEP_AFTER_SECONDS = 0
    event_id = post(client, vario_url(DELIVERY_NOTE), {"id": 2044}).json()["eventId"]

    counts = inbox_sweep()

    assert counts["events"] == 0
    assert handed_over(redis_conn) == [event_id]


@pytest.mark.django_db(transaction=True)
def test_the_sweep_leaves_alone_an_event_a_drain_is_working_on(client, settings, queue, redis_conn):
    settings.SYNC_SWEEP_AFTER_SECONDS = 0
    post(client, vario_url(DELIVERY_NOTE), {"id": 2044})
    sync_queue.inbox_events_take(count=10)  # a live drain took it a moment ago

    counts = inbox_sweep()

    assert counts["events"] == 0
    assert handed_over(redis_conn) == []


@pytest.mark.django_db(transaction=True)
def test_the_sweep_hands_over_again_an_event_whose_drain_died(client, settings, queue, redis_conn):
    settings.SYNC_SWEEP_AFTER_SECONDS = 0
    settings.SYNC_LOCK_SECONDS = 0.2
    event_id = post(client, vario_url(DELIVERY_NOTE), {"id": 2044}).json()["eventId"]
    sync_queue.inbox_events_take(count=10)  # taken by a drain that was killed before it processed the event
    time.sleep(0.3)  # the drain's lease runs out

    counts = inbox_sweep()

    assert counts["events"] == 1
    assert handed_over(redis_conn) == [event_id]


@pytest.mark.django_db(transaction=True)
def test_the_sweep_hands_over_an_event_again_once_redis_lost_it(client, settings, queue, redis_conn):
    settings.SYNC_SWEEP_AFTER_SECONDS = 0
    event_id = post(client, vario_url(DELIVERY_NOTE), {"id": 2044}).json()["eventId"]
    redis_conn.flushdb()  # Redis restarted without persistence: the ready set and the drain job are gone

    inbox_sweep()

    assert handed_over(redis_conn) == [event_id]
    assert DRAIN in queued_jobs(queue)


@pytest.mark.django_db(transaction=True)
def test_the_sweep_queues_a_drain_when_the_flag_outlived_its_job(client, settings, queue, redis_conn):
    settings.SYNC_SWEEP_AFTER_SECONDS = 3600
    post(client, vario_url(DELIVERY_NOTE), {"id": 2044})
    queue.empty()  # the drain job is lost, its flag is not: no new hand-over would queue one

    inbox_sweep()

    assert queued_jobs(queue) == [DRAIN]


@pytest.mark.django_db(transaction=True)
def test_the_sweep_waits_before_handing_over_a_recent_event(client, settings, redis_down, queue, redis_conn):
    settings.SYNC_SWEEP_AFTER_SECONDS = 3600
    post(client, vario_url(DELIVERY_NOTE), {"id": 2044})
    redis_down.back()

    counts = inbox_sweep()

    assert counts["events"] == 0
    assert (queue.count, handed_over(redis_conn)) == (0, [])


@pytest.fixture
def silent_redis(settings, queue):
    """A loopback port that accepts connections and never answers: Redis behind a dead network link.

    Settings are what portal/settings.py builds from ``REDIS_SOCKET_TIMEOUT=0.5``.
    """
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    url = f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    settings.REDIS_SOCKET_TIMEOUT = 0.5
    settings.REDIS_URL = url
    settings.RQ_QUEUES = {
        name: {**config, "URL": url, "SOCKET_TIMEOUT": 0.5} for name, config in settings.RQ_QUEUES.items()
    }
    yield
    server.close()
    for held_connection in held:  # unblocks a client still waiting for an answer
        held_connection.close()


@pytest.mark.django_db(transaction=True)
def test_an_enqueue_gives_up_within_the_socket_timeout_when_redis_does_not_answer(silent_redis):
    outcome: list[bool] = []
    enqueue = threading.Thread(
        target=lambda: outcome.append(sync_queue.inbox_events_signal(event_ids=[4711])), daemon=True
    )

    enqueue.start()
    enqueue.join(timeout=3)

    assert outcome == [False]
