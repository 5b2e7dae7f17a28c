"""POST /webhooks/vtex/<channel>/orders: ping, header secret, origin, dedup; stored in the inbox."""

import json

import pytest
from django.db import OperationalError, connection

from sync.models import InboxEvent
from tests.factories import SalesChannelFactory

HEADER = "HTTP_X_PORTAL_HOOK_SECRET"
APP_KEY = "vtexappkey-demostore-PORTAL"


@pytest.fixture
def hook_channel(db):
    return SalesChannelFactory(
        code="shop", vtex_account_name="demostore", vtex_app_key=APP_KEY, vtex_hook_secret="s3cret-hook"
    )


def notification(**overrides) -> dict:
    body = {
        "Domain": "Fulfillment",
        "OrderId": "1510580500001-01",
        "State": "ready-for-handling",
        "LastState": "window-to-cancel",
        "LastChange": "2026-11-23T05:02:10.1234560Z",
        "CurrentChange": "2026-11-23T05:02:40.1234560Z",
        "Origin": {"Account": "demostore", "Key": APP_KEY},
    }
    body.update(overrides)
    return body


def post(client, body, *, secret="s3cret-hook", code="shop"):
    headers = {HEADER: secret} if secret is not None else {}
    return client.post(f"/webhooks/vtex/{code}/orders", body, content_type="application/json", **headers)


def test_the_ping_is_answered_with_200_and_stores_nothing(client, hook_channel):
    response = post(client, {"hookConfig": "ping"}, secret=None)

    assert response.status_code == 200
    assert not InboxEvent.objects.exists()


def test_a_notification_is_stored_for_the_channel(client, hook_channel, redis_conn):
    response = post(client, notification())

    assert response.status_code == 200
    event = InboxEvent.objects.get()
    assert (event.source, event.event, event.entity_id, event.channel) == (
        InboxEvent.Source.VTEX_HOOK,
        "ready-for-handling",
        "1510580500001-01",
        hook_channel,
    )


@pytest.mark.parametrize("secret", [None, "", "s3cret-hoo", "s3cret-hook-and-more"])
def test_without_the_secret_header_it_is_401(client, hook_channel, secret):
    assert post(client, notification(), secret=secret).status_code == 401
    assert not InboxEvent.objects.exists()


def test_a_channel_without_a_secret_refuses_every_notification(client, db):
    SalesChannelFactory(code="open", vtex_account_name="demostore", vtex_hook_secret="")

    assert post(client, notification(), secret="", code="open").status_code == 401


def test_another_account_is_refused(client, hook_channel):
    response = post(client, notification(Origin={"Account": "someoneelse", "Key": APP_KEY}))

    assert response.status_code == 403
    assert not InboxEvent.objects.exists()


def test_the_same_change_twice_is_stored_once(client, hook_channel, redis_conn):
    post(client, notification())
    second = post(client, notification())

    assert second.json()["duplicate"] is True
    assert InboxEvent.objects.count() == 1


# reference/vtex.md §1.9: Origin.Key is the appKey that owns the hook; with the header, it must be checked.
@pytest.mark.parametrize(
    "origin",
    [
        {"Account": "demostore"},
        {"Account": "demostore", "Key": ""},
        {"Account": "demostore", "Key": None},
        {"Account": "demostore", "Key": "vtexappkey-demostore-OTHER"},
        {"Account": "demostore", "Key": APP_KEY + "X"},
    ],
    ids=["missing", "empty", "null", "another-key", "longer"],
)
def test_without_the_channels_app_key_in_origin_it_is_401(client, hook_channel, origin):
    response = post(client, notification(Origin=origin))

    assert response.status_code == 401
    assert "Origin.Key" in response.json()["error"]
    assert APP_KEY not in response.content.decode()
    assert not InboxEvent.objects.exists()


def test_a_channel_without_an_app_key_refuses_every_notification(client, hook_channel):
    hook_channel.vtex_app_key = ""
    hook_channel.save()

    assert post(client, notification(Origin={"Account": "demostore", "Key": ""})).status_code == 401


def test_unknown_channel_is_404_and_bad_body_400(client, hook_channel):
    unknown = post(client, notification(), code="nope")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "Not found."}  # the code is not echoed, as for any unrouted path
    assert post(client, {"OrderId": 5, "Origin": {"Account": "demostore", "Key": APP_KEY}}).status_code == 400


def test_an_order_without_status_is_answered_200_and_stored_as_ignored(client, hook_channel, redis_conn):
    # A refusal would make VTEX send it again and again; there is nothing to import until it has a status.
    response = post(client, notification(State=None))

    assert response.status_code == 200
    event = InboxEvent.objects.get()
    assert (event.status, event.last_error) == (InboxEvent.Status.IGNORED, "hook notification without a status")


def test_an_order_id_too_long_to_store_is_a_400_not_a_database_outage(client, hook_channel, redis_conn):
    response = post(client, notification(OrderId="1" * 101))

    assert response.status_code == 400
    assert response.json()["error"] == "The entity id is longer than 100 characters."
    assert not InboxEvent.objects.exists()


def test_a_notification_without_a_state_key_is_refused(client, hook_channel):
    body = notification()
    del body["State"]

    response = post(client, body)

    assert response.status_code == 400 and "'State' are required" in response.json()["error"]
    assert not InboxEvent.objects.exists()


# --- authentication before parsing, hostile input (issue #13 §3) -------------------------------------

DEEP = b"[" * 40_000


def test_the_ping_with_the_right_secret_is_answered(client, hook_channel):
    assert post(client, {"hookConfig": "ping"}).json() == {"pong": True}


@pytest.mark.parametrize("secret", ["", "wrong"], ids=["empty", "wrong"])
def test_the_ping_with_a_wrong_secret_header_is_refused_so_vtex_saves_no_hook_that_would_refuse_all(
    client, hook_channel, secret
):
    assert post(client, {"hookConfig": "ping"}, secret=secret).status_code == 401


def test_the_ping_of_a_channel_without_a_secret_is_refused(client, db):
    SalesChannelFactory(code="open", vtex_account_name="demostore", vtex_hook_secret="")

    assert post(client, {"hookConfig": "ping"}, secret=None, code="open").status_code == 401


def test_without_the_header_only_a_small_ping_is_parsed(client, hook_channel):
    padded = {"hookConfig": "ping", "padding": "x" * 300}

    assert post(client, padded, secret=None).status_code == 401
    assert post(client, DEEP, secret=None).status_code == 401
    assert post(client, b"[" * 200, secret=None).status_code == 401
    assert post(client, b"\xef\xbb\xbf" + b'{"hookConfig": "ping"}', secret=None).status_code == 401


def test_a_wrong_secret_with_a_hostile_body_is_401_not_parsed(client, hook_channel):
    assert post(client, DEEP, secret="wrong").status_code == 401


HOSTILE = {
    "nested 40,000 deep": (DEEP, "nests deeper than 32 levels"),
    "a lone surrogate in the order id": (
        json.dumps(notification(OrderId="\ud800")).encode(),
        "lone UTF-16 surrogate",
    ),
    "a lone surrogate in Origin.Key": (
        json.dumps(notification(Origin={"Account": "demostore", "Key": "\udfff"})).encode(),
        "lone UTF-16 surrogate",
    ),
    "UTF-16": (json.dumps(notification()).encode("utf-16"), "not UTF-8"),
    "a byte order mark": (b"\xef\xbb\xbf" + json.dumps(notification()).encode(), "byte order mark"),
    "a NUL in a nested value": (json.dumps(notification(Origin={"Account": "a\x00"})).encode(), "NUL character"),
}


@pytest.mark.parametrize(("body", "message"), HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_notification_is_a_400_naming_the_problem(client, hook_channel, body, message):
    response = post(client, body)

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not InboxEvent.objects.exists()


def test_a_database_outage_while_reading_the_channel_is_a_503(client, hook_channel):
    def database_down(execute, sql, params, many, context):
        raise OperationalError("database is locked")

    with connection.execute_wrapper(database_down):
        response = post(client, notification())

    assert response.status_code == 503
