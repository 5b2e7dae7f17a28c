"""sync.bulk.vtex_scan: every order of a date range once, although VTEX's List orders serves 30 pages."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.bulk.vtex_scan import vtex_orders_scan
from sync.clients.dtos import VtexOrderList, VtexOrderSummary
from sync.clients.vtex import MAX_LIST_PAGES, list_orders_timestamp

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


class FakeVtex:
    """List orders over a fixed set of orders, as VTEX serves it: the range as the real client sends it
    (both ends kept, widened to whole milliseconds), the status filter, oldest first, paging that counts
    every match, and no page beyond the 30th (a scan asking for one fails the test)."""

    def __init__(self, orders: list[tuple[str, datetime, str]]) -> None:
        self.orders = sorted(orders, key=lambda o: (o[1], o[0]))
        self.calls: list[dict] = []

    def list_orders(self, *, creation_from, creation_to, statuses=(), page=1, per_page=100) -> VtexOrderList:
        assert 1 <= page <= MAX_LIST_PAGES, f"page {page}: VTEX serves no page beyond {MAX_LIST_PAGES}"
        assert 1 <= per_page <= 100
        self.calls.append(
            {"start": creation_from, "end": creation_to, "statuses": tuple(statuses), "page": page, "size": per_page}
        )
        start = datetime.fromisoformat(list_orders_timestamp(creation_from))
        end = datetime.fromisoformat(list_orders_timestamp(creation_to, round_up=True))
        matching = [o for o in self.orders if start <= o[1] <= end and (not statuses or o[2] in statuses)]
        rows = matching[(page - 1) * per_page : page * per_page]
        return VtexOrderList(
            orders=tuple(VtexOrderSummary(order_id=i, status=s, creation_date=c) for i, c, s in rows),
            total=len(matching),
            pages=math.ceil(len(matching) / per_page),
            page=page,
            per_page=per_page,
        )


def orders_at(moments: list[datetime], status: str = "ready-for-handling") -> list[tuple[str, datetime, str]]:
    return [(f"{1510580500000 + n}-01", moment, status) for n, moment in enumerate(moments)]


def ids(pages) -> list[str]:
    return [o.order_id for page in pages for o in page.orders]


def expected(orders, since=SINCE, until=SINCE + DAY, statuses=()) -> list[str]:
    return [
        i
        for i, c, s in sorted(orders, key=lambda o: (o[1], o[0]))
        if since <= c < until and (not statuses or s in statuses)
    ]


def scan(vtex, **kwargs):
    arguments = {"since": SINCE, "until": SINCE + DAY, "min_slice_seconds": 60, **kwargs}
    return list(vtex_orders_scan(vtex, **arguments))


def test_a_range_that_fits_is_read_page_by_page_oldest_first():
    orders = orders_at([SINCE + timedelta(minutes=n * 37) for n in range(25)])
    vtex = FakeVtex(orders)

    pages = scan(vtex, per_page=10)

    assert ids(pages) == expected(orders)
    assert [len(p.orders) for p in pages] == [10, 10, 5]
    assert [(c["start"], c["end"], c["page"]) for c in vtex.calls] == [(SINCE, SINCE + DAY, n) for n in (1, 2, 3)]
    assert not any(p.overflow for p in pages)
    assert pages[-1].checkpoint["bounds"] == []


def test_a_range_over_thirty_pages_is_cut_in_halves_until_each_slice_fits():
    # 1000 orders, 5 a page: 200 pages in one query, at most 150 orders a slice.
    orders = orders_at([SINCE + timedelta(seconds=n * 86.4) for n in range(1000)])
    vtex = FakeVtex(orders)

    until = SINCE + DAY + timedelta(microseconds=3)  # halves of it are no whole milliseconds

    pages = scan(vtex, per_page=5, until=until)

    assert ids(pages) == expected(orders, until=until)  # each once, oldest first
    assert not any(p.overflow for p in pages)
    read = [c for c in vtex.calls if c["page"] > 1]
    assert read and all(c["page"] <= MAX_LIST_PAGES for c in read)
    # A slice is cut at a whole millisecond, so VTEX is asked exactly for the boundaries of a cut.
    assert all(c["start"].microsecond == 0 for c in vtex.calls)
    assert {c["end"].microsecond for c in vtex.calls} == {0, 3}


def test_orders_at_since_until_and_a_cut_are_read_once_and_the_one_at_until_not_at_all():
    since, until = SINCE, SINCE + timedelta(minutes=10)
    middle = since + timedelta(minutes=5)  # the first cut
    moments = [since, middle, middle, until] + [since + timedelta(seconds=7 * n + 1) for n in range(80)]
    orders = orders_at(moments)
    vtex = FakeVtex(orders)

    pages = scan(vtex, since=since, until=until, per_page=1, min_slice_seconds=1)

    assert ids(pages) == expected(orders, since, until)
    assert orders[3][0] not in ids(pages)  # created at until: outside [since, until)
    assert any(c["end"] == middle for c in vtex.calls)


def test_a_slice_too_short_to_cut_is_read_as_far_as_vtex_allows_and_says_what_was_cut_off():
    burst = SINCE + timedelta(hours=5)
    moments = (
        [SINCE + timedelta(hours=1)]
        + [burst + timedelta(milliseconds=n) for n in range(80)]  # 80 orders within one second
        + [SINCE + timedelta(hours=9)]
    )
    orders = orders_at(moments)
    vtex = FakeVtex(orders)

    pages = scan(vtex, per_page=2)

    overflowing = [p for p in pages if p.overflow]
    assert len(overflowing) == 1
    text = overflowing[0].overflow
    start, end = (datetime.fromisoformat(t) for t in re.search(r"\[(\S+), (\S+)\)", text).groups())
    assert start <= burst and burst + timedelta(milliseconds=79) < end and end - start < timedelta(seconds=120)
    assert "80 orders" in text and "60 oldest were read, 20 newer ones were not reached" in text
    want = expected(orders)
    assert ids(pages) == want[:61] + want[-1:]  # the hour-1 order, the burst's first 60, the hour-9 order


def test_the_overflow_names_the_statuses_asked_for():
    orders = orders_at([SINCE + timedelta(milliseconds=n) for n in range(70)], status="handling")
    pages = scan(FakeVtex(orders), per_page=2, statuses=["handling"])
    assert "orders in status handling were created" in next(p.overflow for p in pages if p.overflow)


def test_statuses_go_to_vtex_and_only_their_orders_come_back():
    orders = [
        *orders_at([SINCE + timedelta(hours=n) for n in range(10)]),
        ("999-01", SINCE + timedelta(minutes=30), "canceled"),
        ("998-01", SINCE + timedelta(minutes=31), "invoiced"),
    ]
    vtex = FakeVtex(orders)

    pages = scan(vtex, statuses=["canceled", "invoiced"])

    assert ids(pages) == ["999-01", "998-01"]
    assert {c["statuses"] for c in vtex.calls} == {("canceled", "invoiced")}


def test_resuming_from_any_checkpoint_yields_exactly_the_rest():
    burst = SINCE + timedelta(hours=20)
    moments = [SINCE + timedelta(seconds=n * 300) for n in range(200)] + [
        burst + timedelta(milliseconds=n) for n in range(70)
    ]
    orders = orders_at(moments)
    pages = scan(FakeVtex(orders), per_page=2)
    assert any(p.overflow for p in pages)

    for n, page in enumerate(pages):
        checkpoint = json.loads(json.dumps(page.checkpoint))  # as the run stores it
        vtex = FakeVtex(orders)
        rest = scan(vtex, per_page=2, checkpoint=checkpoint)
        assert [(p.orders, p.overflow) for p in rest] == [(p.orders, p.overflow) for p in pages[n + 1 :]], n


def test_a_checkpoint_taken_mid_slice_finishes_that_slice_in_its_page_size():
    orders = orders_at([SINCE + timedelta(minutes=n * 10) for n in range(50)])
    pages = scan(FakeVtex(orders), per_page=5)
    vtex = FakeVtex(orders)

    rest = scan(vtex, per_page=20, checkpoint=pages[2].checkpoint)

    assert ids(rest) == expected(orders)[15:]
    assert vtex.calls[0]["size"] == 5 and vtex.calls[0]["page"] == 4


def test_after_the_slice_a_checkpoint_was_taken_in_the_scan_reads_in_the_page_size_asked_for():
    orders = orders_at([SINCE + timedelta(seconds=n * 86.4) for n in range(1000)])
    pages = scan(FakeVtex(orders), per_page=5)
    middle = next(p for p in pages if p.checkpoint["page"] > 1)
    vtex = FakeVtex(orders)

    rest = scan(vtex, per_page=7, checkpoint=middle.checkpoint)

    assert ids(rest) == expected(orders)[len(ids(pages[: pages.index(middle) + 1])) :]
    assert vtex.calls[0]["size"] == 5 and {c["size"] for c in vtex.calls[1:]} == {5, 7}
    assert vtex.calls[-1]["size"] == 7


def test_the_first_page_tells_the_whole_scopes_count():
    orders = orders_at([SINCE + timedelta(seconds=n * 86.4) for n in range(1000)])
    pages = scan(FakeVtex(orders), per_page=5)
    assert {p.scope_total for p in pages} == {1000}


def test_a_finished_scan_or_an_empty_range_calls_nothing():
    orders = orders_at([SINCE + timedelta(hours=1)])
    pages = scan(FakeVtex(orders))
    vtex = FakeVtex(orders)

    assert scan(vtex, checkpoint=pages[-1].checkpoint) == []
    assert scan(vtex, until=SINCE) == []
    assert vtex.calls == []


@pytest.mark.parametrize(
    "change",
    [
        {"since": SINCE - DAY},
        {"until": SINCE + 2 * DAY},
        {"statuses": ["handling"]},
    ],
)
def test_a_checkpoint_of_another_scope_is_refused(change):
    orders = orders_at([SINCE + timedelta(hours=n) for n in range(5)])
    checkpoint = scan(FakeVtex(orders), per_page=2)[0].checkpoint
    with pytest.raises(ValueError, match="another scan"):
        scan(FakeVtex(orders), per_page=2, checkpoint=checkpoint, **change)


@pytest.mark.parametrize(
    "breakage",
    [
        {"version": 99},
        {"page": 31},
        {"page": "x"},
        {"page_size": 0},
        {"bounds": ["yesterday"]},
        {"bounds": [(SINCE + DAY).isoformat()]},
        {"bounds": [(SINCE + DAY).isoformat(), SINCE.isoformat(), (SINCE + DAY).isoformat()]},
        {"bounds": [SINCE.isoformat(), (SINCE + DAY / 2).isoformat()]},  # does not end at until
    ],
)
def test_a_broken_checkpoint_is_refused(breakage):
    orders = orders_at([SINCE + timedelta(hours=n) for n in range(5)])
    checkpoint = {**scan(FakeVtex(orders), per_page=2)[0].checkpoint, **breakage}
    with pytest.raises(ValueError):
        scan(FakeVtex(orders), per_page=2, checkpoint=checkpoint)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"since": SINCE + 2 * DAY},
        {"since": datetime(2026, 3, 1)},  # naive
        {"per_page": 101},
        {"min_slice_seconds": 0},
    ],
)
def test_a_scope_vtex_cannot_serve_is_refused(kwargs):
    with pytest.raises(ValueError):
        scan(FakeVtex([]), **kwargs)


def test_the_minimum_slice_comes_from_the_setting(settings):
    # 40 orders, 1 a page, in 100 seconds: cut down to 25 s slices they fit, at a 60 s minimum not.
    orders = orders_at([SINCE + timedelta(seconds=n * 2.5) for n in range(40)])
    arguments = {"since": SINCE, "until": SINCE + timedelta(seconds=100), "per_page": 1}

    settings.BULK_VTEX_MIN_SLICE_SECONDS = 60
    assert any(p.overflow for p in vtex_orders_scan(FakeVtex(orders), **arguments))
    settings.BULK_VTEX_MIN_SLICE_SECONDS = 10
    pages = list(vtex_orders_scan(FakeVtex(orders), **arguments))
    assert not any(p.overflow for p in pages) and ids(pages) == expected(orders, SINCE, SINCE + timedelta(seconds=100))


# Clustered creation times (bursts around a few centres), including exact duplicates and boundaries.
moments = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 2_000)),
    max_size=150,
).map(lambda pairs: [SINCE + timedelta(hours=6 * c, milliseconds=o * 7) for c, o in pairs])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    moments=moments,
    per_page=st.integers(1, 3),
    min_slice=st.sampled_from([0.001, 1, 60]),
    resume_at=st.floats(0, 1),
)
def test_property_every_order_once_or_reported_cut_off_and_resume_gives_the_rest(
    moments, per_page, min_slice, resume_at
):
    orders = orders_at(moments)
    until = SINCE + DAY
    pages = list(
        vtex_orders_scan(FakeVtex(orders), since=SINCE, until=until, per_page=per_page, min_slice_seconds=min_slice)
    )
    seen = ids(pages)
    want = expected(orders, SINCE, until)

    assert len(seen) == len(set(seen)) and set(seen) <= set(want)
    assert seen == [i for i in want if i in set(seen)]  # oldest first
    by_id = {i: c for i, c, _ in orders}
    for missing in set(want) - set(seen):  # only ever inside a range a page reported cut off
        ranges = [re.search(r"\[(\S+), (\S+)\)", p.overflow).groups() for p in pages if p.overflow]
        assert any(datetime.fromisoformat(a) <= by_id[missing] < datetime.fromisoformat(b) for a, b in ranges)
    if min_slice == 0.001 and len(set(moments)) == len(moments):
        assert not any(p.overflow for p in pages)  # distinct milliseconds: every slice can be cut to fit

    if pages:
        n = min(int(resume_at * len(pages)), len(pages) - 1)
        rest = list(
            vtex_orders_scan(
                FakeVtex(orders),
                since=SINCE,
                until=until,
                per_page=per_page,
                min_slice_seconds=min_slice,
                checkpoint=json.loads(json.dumps(pages[n].checkpoint)),
            )
        )
        assert [(p.orders, p.overflow) for p in rest] == [(p.orders, p.overflow) for p in pages[n + 1 :]]
