"""List orders of the VTEX OMS simulator (creation range, statuses, order, paging, the 30-page cap), the
bulk seeding control route, and the portal's client and order scan reading it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from sandbox.vtex import statuses as st
from sandbox.vtex.models import Order
from sync.bulk.vtex_scan import vtex_orders_scan
from sync.clients.vtex import VtexClient, VtexCredentials
from tests.support.sandbox_vtex import (
    AUTH,
    ITEMS,
    SHIPPING,
    TOTAL,
    call,
    checked,
    create_order,
    error_code,
    get_order,
    record_status_events,
)

LIST = "/api/oms/pvt/orders"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def status_events(monkeypatch):
    return record_status_events(monkeypatch)


def seed(sim, count: int, *, since=T0, until=None, **extra) -> dict:
    body = {"count": count, "template": {"items": ITEMS, "shippingValue": SHIPPING}, **extra}
    body["creationFrom"] = since.isoformat()
    if until is not None:
        body["creationTo"] = until.isoformat()
    response = sim.post("/_sim/vtex/orders/bulk", body, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def listed(sim, **query) -> dict:
    return checked(sim, "orders", "GET", LIST, status=200, query={k: str(v) for k, v in query.items()})


def creation_range(start: str, end: str) -> str:
    return f"creationDate:[{start} TO {end}]"


# --- List orders ---------------------------------------------------------------------------------------------


def test_the_creation_range_keeps_both_ends(sim):
    # One order a minute from T0: 10:00, 10:01, …
    ids = seed(sim, 5, until=T0 + timedelta(minutes=5))["orderIds"]

    body = listed(
        sim,
        f_creationDate=creation_range("2026-03-01T00:01:00.000Z", "2026-03-01T00:03:00.000Z"),
        orderBy="creationDate,asc",
    )

    assert [row["orderId"] for row in body["list"]] == ids[1:4]
    assert body["paging"] == {"total": 3, "pages": 1, "currentPage": 1, "perPage": 15}


def test_the_creation_range_reads_offsets_and_seven_fraction_digits(sim):
    ids = seed(sim, 3, until=T0 + timedelta(minutes=3))["orderIds"]
    query = {
        "f_creationDate": creation_range("2026-03-01T01:00:59.9999999+01:00", "2026-03-01T00:02:00Z"),
        "orderBy": "creationDate,asc",
    }
    response = call(sim, "GET", LIST, query=urlencode(query))  # "+" encoded, as a client sends it
    assert response.status_code == 200, response.content
    assert [row["orderId"] for row in response.json()["list"]] == ids[1:]


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-01T00:00:00Z",
        "creationDate:[2026-03-01 TO 2026-03-02]",
        "creationDate:[2026-03-01T00:00:00Z TO *]",
        "creationDate:[2026-03-01T00:00:00Z TO 2026-03-02T00:00:00Z",
        "invoicedDate:[2026-03-01T00:00:00Z TO 2026-03-02T00:00:00Z]",
        "creationDate:[2026-02-30T00:00:00Z TO 2026-03-02T00:00:00Z]",
        "creationDate:[9999999-03-01T00:00:00Z TO 2026-03-02T00:00:00Z]",
        "creationDate:[2026-03-01T00:00:00+99:00 TO 2026-03-02T00:00:00Z]",
        "creationDate:[\u0662026-03-01T00:00:00Z TO 2026-03-02T00:00:00Z]",
        "x" * 5000,
    ],
)
def test_a_creation_range_the_simulator_cannot_read_is_400_naming_the_parameter(sim, value):
    response = call(sim, "GET", LIST, query=urlencode({"f_creationDate": value}))
    assert response.status_code == 400, response.content
    assert error_code(response) == "SBX-LIST-DATE" and "f_creationDate" in response.json()["error"]["message"]


def test_statuses_are_a_comma_separated_list(sim):
    ready = create_order(sim)["orderId"]
    waiting = create_order(sim, status=st.PAYMENT_PENDING)["orderId"]
    create_order(sim, status=st.WINDOW_TO_CANCEL)

    body = listed(sim, f_status="ready-for-handling,payment-pending", orderBy="creationDate,asc")

    assert [row["orderId"] for row in body["list"]] == [ready, waiting]


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_pages_of_one_creation_instant_never_overlap(sim, direction):
    ids = seed(sim, 7)["orderIds"]  # all created at T0
    seen = [
        row["orderId"]
        for page in (1, 2, 3, 4)
        for row in listed(sim, orderBy=f"creationDate,{direction}", per_page=2, page=page)["list"]
    ]
    assert seen == (ids if direction == "asc" else ids[::-1])


def test_the_newest_come_first_unless_asked_otherwise(sim):
    ids = seed(sim, 3, until=T0 + timedelta(hours=3))["orderIds"]
    assert [row["orderId"] for row in listed(sim)["list"]] == ids[::-1]


def test_paging_counts_every_match_also_beyond_thirty_pages_and_page_thirty_one_is_refused(sim):
    ids = seed(sim, 3050, until=T0 + timedelta(days=1))["orderIds"]

    last = listed(sim, orderBy="creationDate,asc", per_page=100, page=30)

    assert last["paging"] == {"total": 3050, "pages": 31, "currentPage": 30, "perPage": 100}
    assert [row["orderId"] for row in last["list"]] == ids[2900:3000]
    assert last["stats"]["stats"]["totalValue"]["Count"] == 3050  # statistics over every match, not the page
    assert last["stats"]["stats"]["totalValue"]["Sum"] == 3050 * TOTAL
    response = call(sim, "GET", LIST, query="orderBy=creationDate,asc&per_page=100&page=31")
    assert response.status_code == 400 and error_code(response) == "SBX-LIST-PAGE"


def test_a_page_past_the_last_is_empty(sim):
    seed(sim, 3)
    body = listed(sim, page=2)
    assert body["list"] == [] and body["paging"]["total"] == 3


def test_full_text_still_finds_a_customer_beyond_ascii_case(sim):
    wanted = create_order(sim, customer={"lastName": "Dvořák"})["orderId"]
    create_order(sim)
    assert [row["orderId"] for row in listed(sim, q="DVOŘÁK")["list"]] == [wanted]


# --- bulk seeding (control API) ------------------------------------------------------------------------------


def test_bulk_seeding_spreads_creation_dates_and_emits_no_events(sim, status_events):
    status_events.clear()
    answer = seed(sim, 4, until=T0 + timedelta(hours=4))

    assert answer["created"] == 4 and answer["accountName"] == "demostore"
    orders = [get_order(sim, order_id) for order_id in answer["orderIds"]]
    assert [datetime.fromisoformat(o["creationDate"]) for o in orders] == [T0 + timedelta(hours=n) for n in range(4)]
    assert {o["status"] for o in orders} == {st.READY_FOR_HANDLING}
    assert orders[0]["authorizedDate"] is not None and orders[0]["value"] == TOTAL
    assert status_events == []  # as if their feed events had expired
    state = sim.get(f"/_sim/vtex/orders/{answer['orderIds'][0]}").json()
    assert [step["to"] for step in state["statusHistory"]] == st.PRE_HANDLING_PATH


def test_bulk_seeding_continues_the_sequence_and_ids_of_single_orders(sim):
    single = create_order(sim)
    answer = seed(sim, 2)
    assert [int(get_order(sim, i)["sequence"]) for i in answer["orderIds"]] == [
        int(single["sequence"]) + 1,
        int(single["sequence"]) + 2,
    ]
    assert create_order(sim)["sequence"] == str(int(single["sequence"]) + 3)


def test_bulk_seeding_takes_a_list_with_own_dates_statuses_and_marketplace_ids(sim):
    orders = [
        {"items": ITEMS, "status": st.PAYMENT_PENDING, "creationDate": "2026-01-05T10:00:00+00:00"},
        {
            "items": ITEMS,
            "status": st.WAITING_FOR_MANUAL_AUTHORIZATION,
            "affiliateId": "MKP",
            "marketplaceOrderId": "A1",
        },
    ]
    response = sim.post("/_sim/vtex/orders/bulk", {"orders": orders}, content_type="application/json")
    assert response.status_code == 201, response.content
    first, second = (get_order(sim, i) for i in response.json()["orderIds"])
    assert (first["status"], first["creationDate"]) == (st.PAYMENT_PENDING, "2026-01-05T10:00:00.000000+00:00")
    assert first["authorizedDate"] is None
    assert (second["status"], second["orderId"][:4], second["marketplaceOrderId"]) == (
        st.WAITING_FOR_MANUAL_AUTHORIZATION,
        "MKP-",
        "A1",
    )


def test_bulk_seeding_numbers_a_templates_marketplace_ids(sim):
    template = {"items": ITEMS, "affiliateId": "MKP", "marketplaceOrderId": "M-{n}"}
    response = sim.post("/_sim/vtex/orders/bulk", {"count": 3, "template": template}, content_type="application/json")
    assert response.status_code == 201, response.content
    assert [get_order(sim, i)["marketplaceOrderId"] for i in response.json()["orderIds"]] == ["M-1", "M-2", "M-3"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"count": 0, "template": {"items": ITEMS}},
        {"count": 100_001, "template": {"items": ITEMS}},
        {"count": "10", "template": {"items": ITEMS}},
        {"count": 2},
        {"count": 2, "template": []},
        {"count": 2, "template": {"items": []}},
        {"count": 2, "template": {"items": ITEMS, "affiliateId": "MKP", "marketplaceOrderId": "same"}},
        {"count": 2, "template": {"items": ITEMS, "status": st.HANDLING}},
        {"count": 2, "template": {"items": ITEMS}, "creationFrom": "yesterday"},
        {
            "count": 2,
            "template": {"items": ITEMS},
            "creationFrom": "2026-03-02T00:00:00Z",
            "creationTo": "2026-03-01T00:00:00Z",
        },
        {"orders": []},
        {"orders": "x"},
        {"orders": [{"items": ITEMS}, 5]},
        {"orders": [{"items": ITEMS, "creationDate": 5}]},
        {"orders": [{"items": ITEMS, "affiliateId": "MKP", "marketplaceOrderId": "B"}] * 2},
        {"accountName": "nostore", "count": 1, "template": {"items": ITEMS}},
    ],
)
def test_bulk_seeding_refuses_what_it_cannot_build_and_creates_nothing(sim, body):
    before = Order.objects.count()
    response = sim.post("/_sim/vtex/orders/bulk", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]
    assert Order.objects.count() == before


def test_bulk_seeding_refuses_a_marketplace_id_the_account_has(sim):
    create_order(sim, affiliateId="MKP", marketplaceOrderId="M-2")
    template = {"items": ITEMS, "affiliateId": "MKP", "marketplaceOrderId": "M-{n}"}
    response = sim.post("/_sim/vtex/orders/bulk", {"count": 3, "template": template}, content_type="application/json")
    assert response.status_code == 400 and "M-2" in response.json()["error"]
    assert Order.objects.count() == 1


def test_bulk_seeding_inserts_in_batches(sim, django_assert_max_num_queries):
    # Multi-row INSERTs (as many rows as the database takes parameters for), not a few queries per order.
    with django_assert_max_num_queries(100, using="sandbox"):
        seed(sim, 2000, until=T0 + timedelta(days=1))
    assert Order.objects.count() == 2000


# --- the portal's client and order scan on the simulator --------------------------------------------------


class DjangoTestClientSession:
    """A requests-like session that hands the portal's VTEX client's calls to Django's test client."""

    def __init__(self, sim) -> None:
        self.sim = sim

    def request(self, method, url, *, params=None, json=None, data=None, headers=None, timeout=None, **_):
        assert json is None and data is None
        parts = urlsplit(url)
        meta = {
            f"HTTP_{name.upper().replace('-', '_')}": value
            for name, value in (headers or {}).items()
            if name.lower() != "content-type"
        }
        answer = self.sim.generic(method, f"{parts.path}?{urlencode(params or {})}", **meta)
        response = requests.Response()
        response.status_code, response._content, response.url = answer.status_code, answer.content, url
        response.headers.update(dict(answer.items()))
        return response

    def close(self) -> None:
        pass


def test_the_portal_scans_every_order_once_and_reports_a_burst_it_cannot_reach(sim):
    day = T0 + timedelta(days=1)
    spread = seed(sim, 1200, until=day)["orderIds"]
    burst = seed(sim, 110, since=T0 + timedelta(hours=12, seconds=3), until=T0 + timedelta(hours=12, seconds=4))
    vtex = VtexClient(
        credentials=VtexCredentials(
            account_name="demostore",
            base_url="https://demostore.vtexcommercestable.com.br",
            app_key=AUTH["HTTP_X_VTEX_API_APPKEY"],
            app_token=AUTH["HTTP_X_VTEX_API_APPTOKEN"],
        ),
        timeout=(1, 1),
        session=DjangoTestClientSession(sim),
    )

    pages = list(vtex_orders_scan(vtex, since=T0, until=day, per_page=3, min_slice_seconds=60))

    seen = [o.order_id for page in pages for o in page.orders]
    assert len(seen) == len(set(seen)) and set(seen) <= set(spread) | set(burst["orderIds"])
    [overflow] = [p.overflow for p in pages if p.overflow]
    total, read, missed = map(int, re.search(r"(\d+) orders.* (\d+) oldest .* (\d+) newer", overflow).groups())
    cut_from, cut_to = (datetime.fromisoformat(t) for t in re.search(r"\[(\S+), (\S+)\)", overflow).groups())
    # The cut-off slice holds the burst and perhaps a spread order or two; exactly its newest are missed.
    in_slice = Order.objects.filter(creation_date__gte=cut_from, creation_date__lt=cut_to).order_by(
        "creation_date", "id"
    )
    assert (total, read, missed) == (in_slice.count(), 90, in_slice.count() - 90) and 110 <= total <= 112
    everything = set(spread) | set(burst["orderIds"])
    assert everything - set(seen) == set(in_slice.values_list("order_id", flat=True)[90:])
    assert {p.scope_total for p in pages} == {1310}
    assert [o.creation_date for page in pages for o in page.orders] == sorted(
        o.creation_date for page in pages for o in page.orders
    )
