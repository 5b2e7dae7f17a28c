"""Every sandbox list endpoint: a paging or offset-like query parameter out of range is a 400, never a 500.

A page of 10**20 on ``GET /api/do/notes`` once overflowed SQLite's 64-bit OFFSET into a 500 (issue #13 §7).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.utils import timezone

from sandbox.models import RequestLogEntry
from tests.support import sandbox_vtex_feed as feed
from tests.support.sandbox_vtex import AUTH, create_order

# Not whole numbers the way a query string means them, or far outside any range.
HOSTILE = ["10" * 10, str(2**63), "9" * 5000, "-1", "0", "1e3", "2.5", " 5", "1_0", "\u00b2", "\u0663", "ten", ""]


def get(sim, path: str, **query):
    return sim.get(f"{path}?{urlencode(query)}", **AUTH)


def assert_refused(response, name: str) -> None:
    assert response.status_code == 400, response.content
    assert name in str(response.json())  # the JSON error names the parameter


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("name", ["page", "perPage"])
def test_do_notes_refuse_a_page_or_page_size_out_of_range(sim, name, value):
    order = create_order(sim)

    assert_refused(get(sim, "/api/do/notes", **{"target.id": order["orderId"], name: value}), name)


def test_do_notes_refuse_a_page_beyond_the_thirty_notes_an_order_can_have(sim):
    order = create_order(sim)

    assert get(sim, "/api/do/notes", **{"target.id": order["orderId"], "page": "30", "perPage": "1"}).status_code == 200
    assert_refused(get(sim, "/api/do/notes", **{"target.id": order["orderId"], "page": "31"}), "page")


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("name", ["page", "per_page"])
def test_list_orders_refuses_a_page_or_page_size_out_of_range(sim, name, value):
    assert_refused(get(sim, "/api/oms/pvt/orders", **{name: value}), name)


def test_list_orders_accepts_the_edges_of_its_ranges(sim):
    assert get(sim, "/api/oms/pvt/orders", page="30", per_page="100").status_code == 200
    assert get(sim, "/api/oms/pvt/orders", page="1", per_page="1").status_code == 200


# An empty sinceId or status means no filter, sinceId=0 is every entry and status=0 the requests a
# hang fault held (logged with status 0): all are valid. A status from 1 to 99 is no status at all.
REQUEST_LOG_HOSTILE = [
    (name, value)
    for name in ("sinceId", "limit", "status")
    for value in [*HOSTILE, *(["1", "99", "600"] if name == "status" else [])]
    if not (value == "" and name != "limit") and not (value == "0" and name in ("sinceId", "status"))
]


@pytest.mark.parametrize(("name", "value"), REQUEST_LOG_HOSTILE)
def test_the_request_log_refuses_a_filter_or_limit_out_of_range(sim, name, value):
    assert_refused(get(sim, "/_sim/requests", **{name: value}), name)


def test_the_request_log_accepts_the_edges_of_its_ranges(sim):
    assert get(sim, "/_sim/requests", sinceId=str(2**63 - 1), limit="10000", status="599").json() == []
    assert get(sim, "/_sim/requests", status="100").status_code == 200


def test_the_request_log_lists_the_requests_a_hang_fault_held_by_status_0(sim):
    held = {"remote": "vtex", "method": "POST", "duration_ms": 0, "fault": "fault:hang", "created_at": timezone.now()}
    RequestLogEntry.objects.create(path="/api/oms/pvt/orders/1-01/invoice", status=0, **held)
    RequestLogEntry.objects.create(path="/api/oms/pvt/orders/1-01", status=200, **held | {"fault": ""})

    entries = get(sim, "/_sim/requests", status="0").json()

    assert [(e["path"], e["status"], e["fault"]) for e in entries] == [
        ("/api/oms/pvt/orders/1-01/invoice", 0, "fault:hang")
    ]


@pytest.mark.parametrize("value", HOSTILE)
def test_the_feed_refuses_a_maxlot_out_of_range(sim, value):
    feed.configure_feed(sim)

    assert_refused(feed.call(sim, "GET", "/api/orders/feed", query={"maxlot": value}), "maxlot")
