"""sandbox_traffic against a real run_sandbox process: only the control API, as in a demo."""

import io
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import requests
from django.core.management import call_command

from sandbox.harness import ROOT
from sandbox.traffic import CATALOGUE, DEMO_ACCOUNT, traffic_run
from sandbox.vario.seed import demo_articles
from sandbox.vtex.seed import DEMO_ACCOUNT as SEEDED_ACCOUNT
from sandbox.vtex.seed import DEMO_APP_KEY

pytestmark = pytest.mark.slow

# Follow-ups planned minutes apart run milliseconds apart; orders arrive every ~50 ms.
FAST = {"rate_per_minute": 1200, "speed": 20000}
# Seed 175 gives each fate once in its first five orders (checked by the first test).
ALL_FATES_SEED = 175
ERP_STATE = {
    "ship": "DELIVERED",
    "split": "DELIVERED",
    "return": "DELIVERED",
    "cancel": "CANCELLED",
    "close-rest": "CLOSED",
}


def _get(url: str, path: str, **params):
    response = requests.get(f"{url}/_sim/{path}", params=params, timeout=10)
    response.raise_for_status()
    return response.json()


def _actions(report) -> list[tuple]:
    return [(a.at, a.order, a.kind, a.detail, a.ok) for a in report.actions]


def test_the_catalogue_is_the_seeded_active_erp_articles():
    seeded = {a["article_number"]: a for a in demo_articles() if a.get("active", True)}
    assert {p.article_number for p in CATALOGUE} == set(seeded)
    for product in CATALOGUE:
        article = seeded[product.article_number]
        assert (product.name, product.ean) == (article["name"], article["ean"])
        assert Decimal(product.price) / 100 == article["price"]
    assert DEMO_ACCOUNT == SEEDED_ACCOUNT


def test_orders_reach_vtex_and_the_erp_and_follow_the_seed(sandbox_url):
    printed: list[str] = []
    report = traffic_run(url=sandbox_url, count=5, seed=ALL_FATES_SEED, emit=printed.append, **FAST)

    assert [o.fate for o in report.orders] == ["split", "ship", "return", "cancel", "close-rest"]
    assert "late-tracking" in [s.kind for s in report.orders[1].steps]
    assert (report.stopped_by, report.skipped, report.dropped) == ("count", 0, 0)
    assert len(printed) == len(report.actions) + 2  # a header, one line per action, a summary
    assert {o["orderId"] for o in _get(sandbox_url, "vtex/orders")} == {o.vtex_order_id for o in report.orders}
    for order in report.orders:
        vtex = _get(sandbox_url, f"vtex/orders/{order.vtex_order_id}")["order"]
        assert vtex["status"] == "ready-for-handling"  # invoicing is the portal's job, not the traffic's
        [erp] = _get(sandbox_url, "vario/orders", externalIdentifier=order.vtex_order_id)
        assert erp["custom"]["vtexportal"]["externalOrderId"] == order.vtex_order_id
        assert erp["salesChannelRef"]["id"] == "7"
        assert [(line["number"], line["custom"]["vtexportal"]["externalItemId"]) for line in erp["lines"]] == [
            (item["refId"], item["uniqueId"]) for item in vtex["items"]
        ]
        raw = _get(sandbox_url, f"vario/orders/{erp['id']}")
        assert raw["order"]["documentState"]["key"] == ERP_STATE[order.fate]
        assert len(raw["deliveries"]) == order.parcels
        assert len(raw["goodsReturns"]) == (order.fate == "return")
        planned = {(s.carrier, s.tracking) for s in order.steps if s.tracking}
        shipped = {(s["carrier"]["key"], p["trackingNumber"]) for s in raw["shipments"] for p in s["parcels"]}
        assert shipped == planned


def test_the_same_seed_gives_the_same_actions(sandbox_url):
    first = traffic_run(url=sandbox_url, count=3, seed="same", emit=lambda line: None, **FAST)
    requests.post(f"{sandbox_url}/_sim/reset", timeout=10).raise_for_status()
    second = traffic_run(url=sandbox_url, count=3, seed="same", emit=lambda line: None, **FAST)
    requests.post(f"{sandbox_url}/_sim/reset", timeout=10).raise_for_status()
    other = traffic_run(url=sandbox_url, count=3, seed="other", emit=lambda line: None, **FAST)

    assert _actions(first) == _actions(second)
    assert _actions(first) != _actions(other)


def test_count_bounds_the_orders_and_waits_for_their_follow_ups(sandbox_url):
    report = traffic_run(url=sandbox_url, count=3, seed=7, account=DEMO_APP_KEY, emit=lambda line: None, **FAST)

    assert len(report.orders) == 3
    assert len(_get(sandbox_url, "vtex/orders")) == 3
    assert (report.stopped_by, report.dropped, report.account) == ("count", 0, "demostore")
    assert sum(len(o.steps) for o in report.orders) + 6 == len(report.actions)  # + order and erp-import each


def test_duration_stops_the_run_and_drops_what_is_not_due_yet(sandbox_url):
    started = time.monotonic()
    report = traffic_run(url=sandbox_url, rate_per_minute=600, duration=0.6, speed=1, seed=3, emit=lambda line: None)

    assert time.monotonic() - started < 3
    assert report.stopped_by == "duration"
    assert report.orders and report.dropped > 0


def test_without_the_mirror_follow_ups_wait_for_the_portals_import(sandbox_url):
    imported: set[str] = set()

    def portal_import(line: str) -> None:
        """Stands in for the portal's poller: every new VTEX order becomes an ERP order."""
        for row in _get(sandbox_url, "vtex/orders"):
            if row["orderId"] in imported:
                continue
            vtex = _get(sandbox_url, f"vtex/orders/{row['orderId']}")["order"]
            lines = [
                {"articleNumber": i["refId"], "quantity": i["quantity"], "externalItemId": i["uniqueId"]}
                for i in reversed(vtex["items"])  # another line order than VTEX's: matched by externalItemId
            ]
            body = {"externalIdentifier": row["orderId"], "externalOrderId": row["orderId"], "lines": lines}
            requests.post(f"{sandbox_url}/_sim/vario/orders", json=body, timeout=10).raise_for_status()
            imported.add(row["orderId"])

    report = traffic_run(url=sandbox_url, count=5, seed=ALL_FATES_SEED, erp_mirror=False, emit=portal_import, **FAST)

    assert "erp-import" not in {a.kind for a in report.actions}
    assert report.skipped == 0
    for order in report.orders:
        [erp] = _get(sandbox_url, "vario/orders", externalIdentifier=order.vtex_order_id)
        raw = _get(sandbox_url, f"vario/orders/{erp['id']}")
        assert raw["order"]["documentState"]["key"] == ERP_STATE[order.fate]


def test_follow_ups_of_an_order_never_imported_are_given_up(sandbox_url):
    report = traffic_run(url=sandbox_url, count=1, seed=1, erp_mirror=False, emit=lambda line: None, **FAST)

    assert _get(sandbox_url, "vario/orders") == []
    [given_up] = [a for a in report.actions if not a.ok]
    assert "never reached the ERP" in given_up.detail
    assert report.dropped == 0


def test_a_refusal_of_the_sandbox_is_printed_and_skipped(sandbox_url):
    # The warehouse delivers the order by hand before the traffic's own delivery comes due.
    printed: list[str] = []

    def deliver_by_hand(line: str) -> None:
        printed.append(line)
        if " erp-import " in line:
            erp_id = line.split("(id ")[1].split(")")[0]
            requests.post(f"{sandbox_url}/_sim/vario/orders/{erp_id}/deliver", json={}, timeout=10)

    report = traffic_run(url=sandbox_url, count=1, seed=ALL_FATES_SEED, emit=deliver_by_hand, **FAST)

    assert report.orders[0].fate == "split"
    skipped = [a for a in report.actions if not a.ok]
    assert [a.kind for a in skipped] == ["picking", "deliver", "deliver"]
    assert all(a.detail.startswith("409 ") for a in skipped)
    assert any("SKIPPED 409" in line for line in printed)
    assert report.stopped_by == "count"


def test_the_command_stops_cleanly_on_sigint(sandbox_url):
    class InterruptAfterFirstOrder(io.StringIO):
        def write(self, text):
            if " order " in text and " order " not in self.getvalue():
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the run is under way
            return super().write(text)

    out = InterruptAfterFirstOrder()
    call_command("sandbox_traffic", url=sandbox_url, rate=600, duration=60, seed="1", stdout=out)

    assert "(signal)" in out.getvalue()
    assert len(_get(sandbox_url, "vtex/orders")) < 5


def test_the_command_exits_0_on_sigterm(sandbox_url):
    command = [sys.executable, "manage.py", "sandbox_traffic", "--url", sandbox_url, "--rate", "600"]
    process = subprocess.Popen(
        [*command, "--duration", "60", "--seed", "1"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        lines = [process.stdout.readline(), process.stdout.readline()]
        assert " order " in lines[1]
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "(signal)" in output
