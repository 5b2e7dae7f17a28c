"""The VARIO webhook edge: authenticate, validate, store, answer, enqueue after commit (issue 4 §1)."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

import django_rq
import jwt
import pytest
from django.db import OperationalError, connection
from django.urls import reverse

from sync import jobs
from sync.inbox import inbox_sweep
from sync.models import InboxEvent, OrderSync
from sync.runner import order_sync_request
from tests.factories import SalesChannelFactory
from tests.plugins.redis_server import free_port

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
    return django_rq.get_queue(jobs.QUEUE)


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
    jobs.inbox_handoff_wait()  # and what the web process's hand-off thread does after the answer
    return response


def queued_jobs(queue) -> list[tuple[str, list]]:
    return [(job.func_name, list(job.args)) for job in queue.jobs]


def handed_over(redis_conn) -> list[int]:
    """Event ids in the ready set, oldest first (what the next drain job takes), once the web
    process's hand-off thread has sent what it was given."""
    jobs.inbox_handoff_wait()
    return [int(member) for member in redis_conn.zrange(jobs.INBOX_READY_KEY, 0, -1)]


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
        (json.dumps({"entityId": "9" * 101}), "entity id is longer than 100 characters"),
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
    caplog.set_level(logging.WARNING, logger="sync.jobs")

    response = post(client, vario_url(DELIVERY_NOTE), {"id": 2044})

    assert response.status_code == 200
    assert InboxEvent.objects.get().status == InboxEvent.Status.PENDING
    jobs.inbox_handoff_wait()
    assert "could not hand inbox events" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_a_hand_over_while_redis_is_down_answers_false(redis_down):
    assert jobs.inbox_events_signal(event_ids=[4711]) is False


@pytest.mark.django_db(transaction=True)
def test_a_delayed_retry_leaves_a_marker_that_its_job_is_queued(queue):
    jobs.inbox_event_process_enqueue(event_id=4711, delay=30)

    assert jobs.is_queued(jobs.event_marker(4711))


@pytest.mark.django_db(transaction=True)
def test_a_job_removes_its_marker_when_it_starts(queue):
    jobs.inbox_event_process_enqueue(event_id=4711, delay=30)

    jobs.inbox_event_process_job(4711)  # no such pending event: the job only clears its marker

    assert not jobs.is_queued(jobs.event_marker(4711))


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
    jobs.inbox_events_take(count=10)  # a live drain took it a moment ago

    counts = inbox_sweep()

    assert counts["events"] == 0
    assert handed_over(redis_conn) == []


@pytest.mark.django_db(transaction=True)
def test_the_sweep_hands_over_again_an_event_whose_drain_died(client, settings, queue, redis_conn):
    settings.SYNC_SWEEP_AFTER_SECONDS = 0
    settings.SYNC_LOCK_SECONDS = 0.2
    event_id = post(client, vario_url(DELIVERY_NOTE), {"id": 2044}).json()["eventId"]
    jobs.inbox_events_take(count=10)  # taken by a drain that was killed before it processed the event
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
    enqueue = threading.Thread(target=lambda: outcome.append(jobs.inbox_events_signal(event_ids=[4711])), daemon=True)

    enqueue.start()
    enqueue.join(timeout=3)

    assert outcome == [False]
