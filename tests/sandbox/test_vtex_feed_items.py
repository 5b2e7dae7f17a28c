"""Feed items: retrieve (GET /api/orders/feed), commit (POST), visibility, handles, expiry, faults."""

import re
from datetime import timedelta

import jwt
import pytest

from sandbox import clock
from sandbox.vtex.events import order_status_changed
from sandbox.vtex.models import Account
from tests.support.sandbox_vtex_feed import (
    ALL_CHANGES_CONFIG,
    AUTH,
    StandInOrder,
    advance,
    call,
    commit,
    configure_feed,
    demo_account,
    raw_queue,
    retrieve,
    status_change,
)

FEED = "/api/orders/feed"
VTEX_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")
VISIBILITY = 300
RETENTION = 345600


def test_retrieving_without_a_feed_configuration_is_404(sim):
    response = call(sim, "GET", FEED, query={"maxlot": "10"})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "There is no feed configuration for this appKey."


def test_an_empty_feed_answers_an_empty_list(sim):
    configure_feed(sim)
    assert retrieve(sim) == []


def test_a_status_change_becomes_an_item_with_exactly_the_documented_fields(sim):
    configure_feed(sim)
    status_change("1001-01", "window-to-cancel", "ready-for-handling")
    [item] = retrieve(sim)
    assert set(item) == {"eventId", "handle", "domain", "state", "lastState", "orderId", "lastChange", "currentChange"}
    assert item["domain"] == "Fulfillment"
    assert (item["orderId"], item["lastState"], item["state"]) == ("1001-01", "window-to-cancel", "ready-for-handling")
    assert re.fullmatch(r"[0-9A-F]{32}", item["eventId"])
    assert VTEX_TIMESTAMP.match(item["lastChange"]) and VTEX_TIMESTAMP.match(item["currentChange"])
    assert item["lastChange"] < item["currentChange"]


def test_the_handle_looks_like_vtex_s_jwt_describing_the_event(sim):
    configure_feed(sim)
    status_change("1001-01", "window-to-cancel", "ready-for-handling")
    [item] = retrieve(sim)
    claims = jwt.decode(item["handle"], options={"verify_signature": False})
    assert claims["OrderId"] == "1001-01"
    assert claims["AppKey"] == AUTH["HTTP_X_VTEX_API_APPKEY"]
    assert claims["Handle"].startswith("AQEB")


def test_only_statuses_in_the_filter_enter_the_feed(sim):
    configure_feed(sim)  # ready-for-handling, cancel, invoiced
    status_change("1-01", "ready-for-handling", "start-handling")
    status_change("1-01", "start-handling", "handling")
    status_change("1-01", "handling", "invoiced")
    assert [item["state"] for item in retrieve(sim)] == ["invoiced"]


def test_a_workflow_filter_without_statuses_takes_every_status_change(sim):
    configure_feed(sim, ALL_CHANGES_CONFIG)
    status_change("1-01", "ready-for-handling", "start-handling")
    status_change("1-01", "start-handling", "handling")
    assert [item["state"] for item in retrieve(sim)] == ["start-handling", "handling"]


def test_changes_before_the_feed_was_configured_never_enter_it(sim):
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    configure_feed(sim)
    assert retrieve(sim) == []


def test_a_from_orders_feed_lets_each_order_in_only_once_without_disable_single_fire(sim):
    queue = {"visibilityTimeoutInSeconds": VISIBILITY, "MessageRetentionPeriodInSeconds": RETENTION}
    configure_feed(sim, {"filter": {"type": "FromOrders", "expression": "value > 0"}, "queue": queue})
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    status_change("1-01", "ready-for-handling", "handling")
    status_change("2-01", "window-to-cancel", "ready-for-handling")
    assert [(item["orderId"], item["state"]) for item in retrieve(sim)] == [
        ("1-01", "ready-for-handling"),
        ("2-01", "ready-for-handling"),
    ]


def test_a_from_orders_feed_with_disable_single_fire_takes_every_change(sim):
    queue = {"visibilityTimeoutInSeconds": VISIBILITY, "MessageRetentionPeriodInSeconds": RETENTION}
    body = {"filter": {"type": "FromOrders", "expression": "value > 0", "disableSingleFire": True}, "queue": queue}
    configure_feed(sim, body)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    status_change("1-01", "ready-for-handling", "handling")
    assert [item["state"] for item in retrieve(sim)] == ["ready-for-handling", "handling"]


def test_items_come_oldest_first_and_maxlot_limits_the_batch(sim):
    configure_feed(sim)
    for n in range(12):
        status_change(f"{n}-01", "window-to-cancel", "ready-for-handling")
    first = retrieve(sim, maxlot=10)
    second = retrieve(sim, maxlot=10)
    assert [item["orderId"] for item in first] == [f"{n}-01" for n in range(10)]
    assert [item["orderId"] for item in second] == ["10-01", "11-01"]


@pytest.mark.parametrize("maxlot", [None, "11", "0", "-1", "ten", "2.5", ""])
def test_maxlot_missing_or_outside_one_to_ten_is_400(sim, maxlot):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    response = call(sim, "GET", FEED, query={} if maxlot is None else {"maxlot": maxlot})
    assert response.status_code == 400
    assert "maxlot" in response.json()["error"]["message"]
    assert raw_queue(sim)["items"][0]["visible"] is True


def test_a_retrieved_item_is_invisible_until_the_visibility_timeout_passes(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    retrieve(sim)
    advance(sim, VISIBILITY - 1)
    assert retrieve(sim) == []


def test_an_uncommitted_item_reappears_after_the_visibility_timeout_with_a_new_handle(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    [first] = retrieve(sim)
    advance(sim, VISIBILITY)
    [again] = retrieve(sim)
    assert again["eventId"] == first["eventId"]
    assert again["handle"] != first["handle"]


def test_committing_the_handle_removes_the_item_for_good(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    [item] = retrieve(sim)
    response = commit(sim, [item["handle"]])
    assert response.content == b""
    advance(sim, VISIBILITY)
    assert retrieve(sim) == []
    assert raw_queue(sim)["items"] == []


def test_several_handles_are_committed_in_one_call(sim):
    configure_feed(sim)
    for n in range(3):
        status_change(f"{n}-01", "window-to-cancel", "ready-for-handling")
    items = retrieve(sim)
    commit(sim, [item["handle"] for item in items[:2]])
    assert [item["orderId"] for item in raw_queue(sim)["items"]] == ["2-01"]


def test_a_handle_still_commits_after_the_timeout_while_the_item_was_not_read_again(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    [item] = retrieve(sim)
    advance(sim, VISIBILITY + 10)
    commit(sim, [item["handle"]])
    assert retrieve(sim) == []


def test_a_stale_handle_is_answered_200_but_removes_nothing(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    [first] = retrieve(sim)
    advance(sim, VISIBILITY)
    [again] = retrieve(sim)
    commit(sim, [first["handle"]])
    assert [item["handle"] for item in raw_queue(sim)["items"]] == [again["handle"]]


def test_an_unknown_handle_is_answered_200_and_changes_nothing(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    commit(sim, ["AQEBnot-a-real-handle", ""])
    assert len(raw_queue(sim)["items"]) == 1


@pytest.mark.parametrize("body", [{}, {"handles": "abc"}, {"handles": [1]}, ["abc"]], ids=str)
def test_a_commit_without_a_handles_list_of_strings_is_400(sim, body):
    configure_feed(sim)
    response = call(sim, "POST", FEED, body)
    assert response.status_code == 400


def test_committing_without_a_feed_configuration_is_404(sim):
    assert call(sim, "POST", FEED, {"handles": ["x"]}).status_code == 404


def test_a_handle_of_another_app_key_does_not_commit_its_item(sim):
    other = Account.objects.create(account_name="demostore", app_key="vtexappkey-other", app_token="tok")
    other_auth = {"HTTP_X_VTEX_API_APPKEY": "vtexappkey-other", "HTTP_X_VTEX_API_APPTOKEN": "tok"}
    configure_feed(sim)
    call(sim, "POST", "/api/orders/feed/config", ALL_CHANGES_CONFIG, auth=other_auth)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    [item] = retrieve(sim)
    call(sim, "POST", FEED, {"handles": [item["handle"]]}, auth=other_auth)
    assert len(raw_queue(sim)["items"]) == 1
    assert raw_queue(sim, other.app_key)["items"] == []


def test_items_expire_after_the_retention_period_even_when_never_read(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    advance(sim, RETENTION - 60)
    status_change("2-01", "window-to-cancel", "ready-for-handling")  # keeps the feed itself alive
    advance(sim, 60)
    assert [item["orderId"] for item in retrieve(sim)] == ["2-01"]


def test_items_in_flight_expire_after_the_retention_period_too(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    retrieve(sim)
    advance(sim, RETENTION - 60)
    status_change("2-01", "window-to-cancel", "ready-for-handling")
    advance(sim, 60)
    assert [item["orderId"] for item in raw_queue(sim)["items"]] == ["2-01"]


def test_a_feed_without_new_events_for_the_retention_period_is_deleted(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    advance(sim, RETENTION)
    assert call(sim, "GET", FEED, query={"maxlot": "10"}).status_code == 404
    assert call(sim, "GET", "/api/orders/feed/config").status_code == 404


def test_a_feed_with_a_recent_event_is_kept(sim):
    configure_feed(sim)
    advance(sim, RETENTION - 1)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    advance(sim, RETENTION - 1)
    assert call(sim, "GET", "/api/orders/feed/config").status_code == 200


def test_a_deleted_idle_feed_does_not_come_back_when_an_order_changes(sim):
    configure_feed(sim)
    advance(sim, RETENTION)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    assert raw_queue(sim)["feed"] is None


def test_duplicate_fault_stores_an_event_twice_with_the_same_event_id(sim):
    sim.post("/_sim/vtex/feed-faults", {"duplicateRate": 1.0, "seed": 7}, content_type="application/json")
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    first, second = retrieve(sim)
    assert first["eventId"] == second["eventId"]
    assert first["handle"] != second["handle"]


def test_duplicate_rate_is_applied_reproducibly_for_a_seed(sim):
    def duplicated_orders() -> list[str]:
        sim.post("/_sim/vtex/feed-faults", {"duplicateRate": 0.5, "seed": 42}, content_type="application/json")
        call(sim, "DELETE", "/api/orders/feed/config")
        configure_feed(sim)
        for n in range(20):
            status_change(f"{n}-01", "window-to-cancel", "ready-for-handling")
        ids = [item["orderId"] for item in raw_queue(sim)["items"]]
        return sorted({i for i in ids if ids.count(i) == 2})

    configure_feed(sim)
    first = duplicated_orders()
    assert 0 < len(first) < 20
    assert duplicated_orders() == first


def test_shuffle_fault_returns_visible_items_out_of_order(sim):
    sim.post("/_sim/vtex/feed-faults", {"shuffle": True, "seed": 3}, content_type="application/json")
    configure_feed(sim)
    for n in range(10):
        status_change(f"{n}-01", "window-to-cancel", "ready-for-handling")
    order_ids = [item["orderId"] for item in retrieve(sim)]
    assert sorted(order_ids) == sorted(f"{n}-01" for n in range(10))
    assert order_ids != [f"{n}-01" for n in range(10)]


def test_switching_the_feed_faults_off_restores_oldest_first(sim):
    sim.post("/_sim/vtex/feed-faults", {"shuffle": True, "duplicateRate": 1}, content_type="application/json")
    sim.delete("/_sim/vtex/feed-faults")
    configure_feed(sim)
    for n in range(5):
        status_change(f"{n}-01", "window-to-cancel", "ready-for-handling")
    assert [item["orderId"] for item in retrieve(sim)] == [f"{n}-01" for n in range(5)]


@pytest.mark.parametrize(
    "body", [{"duplicateRate": 2}, {"duplicateRate": "0.1"}, {"shuffle": "yes"}, {"seed": 1.5}, {"shufle": True}]
)
def test_bad_feed_fault_switches_are_refused(sim, body):
    response = sim.post("/_sim/vtex/feed-faults", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]


def test_the_raw_queue_shows_visibility_handles_and_expiry(sim):
    configure_feed(sim)
    status_change("1-01", "window-to-cancel", "ready-for-handling")
    status_change("2-01", "window-to-cancel", "ready-for-handling")
    [read] = retrieve(sim, maxlot=1)
    queue = raw_queue(sim)
    assert queue["feed"]["quantity"] == 2
    in_flight, waiting = queue["items"]
    assert (in_flight["handle"], in_flight["visible"], in_flight["receiveCount"]) == (read["handle"], False, 1)
    assert (waiting["handle"], waiting["visible"], waiting["receiveCount"]) == ("", True, 0)
    assert in_flight["expiresAt"] > in_flight["visibleAt"] > in_flight["enqueuedAt"]


def test_the_raw_queue_needs_a_known_app_key(sim):
    assert sim.get("/_sim/vtex/feed").status_code == 400
    assert sim.get("/_sim/vtex/feed", {"appKey": "nobody"}).status_code == 404


def test_retrieving_without_credentials_is_401_and_with_a_wrong_token_403(sim):
    configure_feed(sim)
    assert call(sim, "GET", FEED, query={"maxlot": "1"}, auth={}).status_code == 401
    wrong = {"HTTP_X_VTEX_API_APPKEY": AUTH["HTTP_X_VTEX_API_APPKEY"], "HTTP_X_VTEX_API_APPTOKEN": "nope"}
    assert call(sim, "GET", FEED, query={"maxlot": "1"}, auth=wrong).status_code == 403
    assert call(sim, "POST", FEED, {"handles": []}, auth=wrong).status_code == 403


def test_the_order_simulator_seam_reaches_the_feed(sim):
    configure_feed(sim)
    now = clock.now()
    order_status_changed(
        order=StandInOrder(order_id="77-01", account=demo_account()),
        last_state="window-to-cancel",
        state="ready-for-handling",
        last_change=now - timedelta(minutes=1),
        current_change=now,
    )
    assert [item["orderId"] for item in retrieve(sim)] == ["77-01"]
