"""Bulk runs end to end: the sandbox over HTTP, the run's steps in a real RQ worker (sync.bulk)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from sandbox.harness import order_pair
from sync.bulk.models import BulkRun, BulkRunItem
from sync.bulk.services import BulkRunRefused, bulk_run_cancel, bulk_run_pause, bulk_run_resume, bulk_run_start
from sync.models import OrderSync
from tests.support.stack import wait_until

ONE_ITEM = [("SKU-RED-M", 1, 1999)]
TWO_ITEMS = [("SKU-RED-M", 2, 1999), ("SKU-BLUE-L", 1, 2499)]


def ended(run: BulkRun):
    run.refresh_from_db()
    return run if run.state in (BulkRun.State.FINISHED, BulkRun.State.FAILED, BulkRun.State.CANCELLED) else None


def vtex_status(sim, order_id: str) -> str:
    return sim.vtex_order(order_id)["order"]["status"]


def vtex_writes(sim) -> list[dict]:
    return [
        r for method in ("POST", "PATCH", "PUT", "DELETE") for r in sim.get("requests", remote="vtex", method=method)
    ]


@pytest.mark.once
def test_initial_sync_brings_each_vtex_order_to_its_erp_state(sim, quiet_channel, worker):
    # The ERP moved on while no webhook reached the portal: shipped, partly shipped, cancelled, untouched.
    shipped_vtex, shipped = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{shipped['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-777"})
    partial_vtex, partial = order_pair(sim, TWO_ITEMS)
    first_line = sim.get(f"vario/orders/{partial['id']}")["order"]["lines"][0]["id"]
    sim.post(f"vario/orders/{partial['id']}/deliver", {"lines": [{"orderLineId": first_line, "quantity": 2}]})
    cancelled_vtex, cancelled = order_pair(sim, ONE_ITEM)
    sim.post(f"vario/orders/{cancelled['id']}/cancel", {})
    untouched = [order_pair(sim, ONE_ITEM) for _ in range(3)]  # more than one page (BULK_PAGE_SIZE 4)

    run = bulk_run_start(
        channel=quiet_channel,
        kind=BulkRun.Kind.ORDER_STATUS_INITIAL,
        scope={"since": "2000-01-01"},
        dry_run=False,
        started_by="test",
    )
    run = wait_until(lambda: ended(run), message="initial sync ended", timeout=90)

    assert run.state == BulkRun.State.FINISHED, run.message
    assert (run.total, run.done, run.failed, run.deferred) == (6, 6, 0, 0)
    assert vtex_status(sim, shipped_vtex["orderId"]) == "invoiced"
    assert sim.vtex_order(shipped_vtex["orderId"])["invoices"][0]["trackingNumber"] == "DHL-777"
    assert vtex_status(sim, partial_vtex["orderId"]) == "invoice"  # partly invoiced
    assert vtex_status(sim, cancelled_vtex["orderId"]) in ("canceled", "cancellation-requested", "cancel")
    for vtex, _erp in untouched:
        assert vtex_status(sim, vtex["orderId"]) == "handling"  # started, nothing shipped yet
    # Every order went through the normal sync (its OrderSync and timeline), once.
    assert OrderSync.objects.filter(channel=quiet_channel, kind=OrderSync.Kind.STATUS).count() == 6
    changed = set(BulkRunItem.objects.filter(run=run, outcome="changed").values_list("key", flat=True))
    assert {shipped["id"], partial["id"], cancelled["id"]} <= changed

    # A second run finds nothing left to do: level-triggered, nothing is sent twice.
    before = len(vtex_writes(sim))
    again = bulk_run_start(
        channel=quiet_channel,
        kind=BulkRun.Kind.ORDER_STATUS_INITIAL,
        scope={"since": "2000-01-01"},
        dry_run=False,
        started_by="test",
    )
    again = wait_until(lambda: ended(again), message="second run ended", timeout=60)
    items = list(again.items.values_list("key", "outcome", "detail"))
    assert (again.state, again.done, again.unchanged) == (BulkRun.State.FINISHED, 6, 6), items
    assert len(vtex_writes(sim)) == before


def step_idle(run: BulkRun) -> bool:
    """No step of the run works now (its lock is free); an item in hand may take a lane's window."""
    from portal.redis import redis_connection
    from sync.queue import bulk_run_marker

    return not redis_connection().exists(f"portal:lock:{bulk_run_marker(run.pk)}")


@pytest.mark.once
def test_pause_resume_cancel_and_one_run_per_kind(sim, quiet_channel, worker):
    import time

    for _ in range(8):
        order_pair(sim, ONE_ITEM)
    scope = {"since": "2000-01-01"}
    run = bulk_run_start(
        channel=quiet_channel, kind=BulkRun.Kind.ORDER_STATUS_INITIAL, scope=scope, dry_run=False, started_by="test"
    )
    with pytest.raises(BulkRunRefused):
        bulk_run_start(
            channel=quiet_channel, kind=BulkRun.Kind.ORDER_STATUS_INITIAL, scope=scope, dry_run=False, started_by="x"
        )

    def progressed(run, at_least):
        run.refresh_from_db()
        return run if run.done >= at_least else None

    wait_until(lambda: progressed(run, 1), message="the run started working")
    bulk_run_pause(run=run)
    wait_until(lambda: step_idle(run), message="the step ended with the item in hand", timeout=30)
    run.refresh_from_db()
    paused_at = run.done
    time.sleep(2.5)  # longer than a step (BULK_STEP_SECONDS=2): a paused run does nothing more
    run.refresh_from_db()
    assert (run.state, run.done) == (BulkRun.State.PAUSED, paused_at) and paused_at < 8

    run = bulk_run_resume(run=run)
    run = wait_until(lambda: ended(run), message="resumed run ended", timeout=60)
    assert (run.state, run.done, run.failed) == (BulkRun.State.FINISHED, 8, 0)

    second = bulk_run_start(
        channel=quiet_channel, kind=BulkRun.Kind.ORDER_STATUS_INITIAL, scope=scope, dry_run=False, started_by="test"
    )
    wait_until(lambda: progressed(second, 1), message="the second run started working")
    bulk_run_cancel(run=second)
    wait_until(lambda: step_idle(second), message="the step ended with the item in hand", timeout=30)
    second.refresh_from_db()
    cancelled_at = second.done
    time.sleep(2.5)
    second.refresh_from_db()
    assert (second.state, second.done) == (BulkRun.State.CANCELLED, cancelled_at) and second.finished_at


def test_the_cli_starts_a_run_and_follows_it_to_its_end(sim, quiet_channel, worker):
    vtex, erp = order_pair(sim, ONE_ITEM)
    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-1"})
    out = io.StringIO()

    call_command(
        "bulk_run", "shop", "order_status_initial", "--ids", erp["id"], "--wait", "--poll-seconds", "0.2", stdout=out
    )

    text = out.getvalue()
    assert "about 1 item(s)" in text and "finished: 1 done, 1 changed" in text, text
    assert vtex_status(sim, vtex["orderId"]) == "invoiced"


def reconcile(channel, *, dry_run: bool) -> BulkRun:
    run = bulk_run_start(
        channel=channel,
        kind=BulkRun.Kind.RECONCILIATION,
        scope={"since": "2000-01-01"},
        dry_run=dry_run,
        started_by="test",
    )
    return wait_until(lambda: ended(run), message="reconciliation ended", timeout=90)


def differences_of(run: BulkRun) -> dict[str, list[tuple[str, bool]]]:
    found = {}
    for item in run.items.all():
        found[item.label.split(" ⇄ ")[0]] = sorted((d["kind"], d["repairable"]) for d in item.differences)
    return found


@pytest.mark.once
def test_reconciliation_finds_planted_differences_and_its_repair_fixes_the_repairable_ones(sim, quiet_channel, worker):
    from mappings.services import order_link_record

    pairs = [order_pair(sim, ONE_ITEM) for _ in range(4)]
    for vtex, erp in pairs:
        order_link_record(channel=quiet_channel, vtex_order_id=vtex["orderId"], erp_order_id=erp["id"])
    first = bulk_run_start(
        channel=quiet_channel,
        kind=BulkRun.Kind.ORDER_STATUS_INITIAL,
        scope={"since": "2000-01-01"},
        dry_run=False,
        started_by="test",
    )
    assert wait_until(lambda: ended(first), message="both sides in line first", timeout=60).failed == 0
    [(shipped, shipped_erp), (vtex_cancelled, _), (agreeing, _), (erp_cancelled, erp_cancelled_erp)] = pairs
    # Planted while no webhook reaches the portal: shipped in the ERP; cancelled in VTEX only; cancelled in the ERP.
    sim.post(f"vario/orders/{shipped_erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-R"})
    sim.post(f"vtex/orders/{vtex_cancelled['orderId']}/status", {"status": "canceled"})
    sim.post(f"vario/orders/{erp_cancelled_erp['id']}/cancel", {})

    report = reconcile(quiet_channel, dry_run=True)

    assert report.state == BulkRun.State.FINISHED and (report.done, report.failed) == (4, 0), report.message
    found = differences_of(report)
    assert agreeing["orderId"] not in found
    assert ("invoice_missing", True) in found[shipped["orderId"]]
    assert found[vtex_cancelled["orderId"]] == [("cancellation", False)]
    assert ("cancellation", True) in found[erp_cancelled["orderId"]]
    assert vtex_status(sim, shipped["orderId"]) == "handling", "a dry reconciliation repairs nothing"

    repairing = reconcile(quiet_channel, dry_run=False)  # repairs what the normal sync can

    assert repairing.items.filter(repaired_at__isnull=False).count() == 2
    wait_until(lambda: vtex_status(sim, shipped["orderId"]) == "invoiced", message="shipped order invoiced")
    wait_until(
        lambda: vtex_status(sim, erp_cancelled["orderId"]) in ("canceled", "cancel"), message="ERP cancel in VTEX"
    )
    wait_until(
        lambda: not OrderSync.objects.filter(channel=quiet_channel, status__in=OrderSync.OPEN).exists(),
        message="repairs settled",
    )
    after = differences_of(reconcile(quiet_channel, dry_run=True))
    assert after == {vtex_cancelled["orderId"]: [("cancellation", False)]}, after


def test_backfill_imports_exactly_the_orders_the_feed_lost_and_no_others(sim, quiet_channel, worker):
    from datetime import timedelta

    from django.utils import timezone

    from mappings.services import order_link_record

    item = {
        "skuId": "100",
        "name": "SKU-RED-M",
        "quantity": 1,
        "price": 1999,
        "sellingPrice": 1999,
        "refId": "SKU-RED-M",
    }
    now = timezone.now()

    def seeded(count: int, days_ago: float, **extra) -> list[str]:
        start = (now - timedelta(days=days_ago)).isoformat()
        end = (now - timedelta(days=days_ago - 0.5)).isoformat()
        body = {"count": count, "template": {"items": [item], **extra}, "creationFrom": start, "creationTo": end}
        return sim.post("vtex/orders/bulk", body)["orderIds"]

    lost = seeded(5, days_ago=2)  # ready for handling; their feed events expired
    too_old = seeded(2, days_ago=10)  # outside the range
    unpaid = seeded(1, days_ago=2, status="payment-pending")  # in the range, not to import yet
    imported = lost[:2]  # these two reached the ERP before the outage
    for order_id in imported:
        lines = [{"articleNumber": "SKU-RED-M", "quantity": 1, "price": 19.99}]
        erp = sim.post("vario/orders", {"externalIdentifier": order_id, "externalOrderId": order_id, "lines": lines})
        order_link_record(channel=quiet_channel, vtex_order_id=order_id, erp_order_id=erp["id"])
    creates_before = len(sim.get("requests", remote="vario", method="POST", path="/erp/documents"))

    run = bulk_run_start(
        channel=quiet_channel,
        kind=BulkRun.Kind.ORDER_BACKFILL,
        scope={"since": (now - timedelta(days=3)).isoformat()},
        dry_run=False,
        started_by="test",
    )
    run = wait_until(lambda: ended(run), message="backfill ended", timeout=90)

    assert run.state == BulkRun.State.FINISHED, run.message
    assert (run.total, run.done, run.changed, run.failed) == (6, 6, 3, 0), list(run.items.values("key", "detail"))
    assert run.skipped == 3  # two already linked, one not paid yet
    creates = sim.get("requests", remote="vario", method="POST", path="/erp/documents")[creates_before:]
    assert len(creates) == 3 and all(200 <= c["status"] < 300 for c in creates)
    for order_id in lost[2:]:
        assert vtex_status(sim, order_id) == "handling"
        assert OrderSync.objects.get(kind=OrderSync.Kind.IMPORT, key=order_id).status == OrderSync.Status.DONE
    for order_id in too_old + imported:  # never looked at
        assert not OrderSync.objects.filter(kind=OrderSync.Kind.IMPORT, key=order_id).exists()
    # Looked at and left for the feed: the import itself says it waits for payment.
    assert OrderSync.objects.get(kind=OrderSync.Kind.IMPORT, key=unpaid[0]).status == OrderSync.Status.SKIPPED
    assert vtex_status(sim, too_old[0]) == "ready-for-handling"


def test_a_dry_initial_sync_sends_nothing_and_predicts_the_real_runs_calls_exactly(sim, quiet_channel, worker):
    from tests.e2e.test_dry_run import last_log_id, of_order, writes_since

    shipped = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{shipped[1]['id']}/deliver", {"carrier": "UPS", "trackingNumber": "1Z42"})
    partial = order_pair(sim, TWO_ITEMS)
    line = sim.get(f"vario/orders/{partial[1]['id']}")["order"]["lines"][1]["id"]
    sim.post(f"vario/orders/{partial[1]['id']}/deliver", {"lines": [{"orderLineId": line, "quantity": 1}]})
    cancelled = order_pair(sim, ONE_ITEM)
    sim.post(f"vario/orders/{cancelled[1]['id']}/cancel", {})
    untouched = order_pair(sim, ONE_ITEM)
    scope = {"since": "2000-01-01"}
    mark = last_log_id(sim)

    dry = bulk_run_start(
        channel=quiet_channel, kind=BulkRun.Kind.ORDER_STATUS_INITIAL, scope=scope, dry_run=True, started_by="test"
    )
    dry = wait_until(lambda: ended(dry), message="dry run ended", timeout=90)

    assert (dry.state, dry.done, dry.changed, dry.failed) == (BulkRun.State.FINISHED, 4, 4, 0), dry.message
    assert writes_since(sim, mark) == [], "a dry run sends no write"
    assert not OrderSync.objects.filter(channel=quiet_channel).exists(), "nor leaves work behind"
    mark = last_log_id(sim)

    real = bulk_run_start(
        channel=quiet_channel, kind=BulkRun.Kind.ORDER_STATUS_INITIAL, scope=scope, dry_run=False, started_by="test"
    )
    assert wait_until(lambda: ended(real), message="real run ended", timeout=90).state == BulkRun.State.FINISHED
    sent = writes_since(sim, mark)
    for vtex, erp in (shipped, partial, cancelled, untouched):
        item = dry.items.get(key=erp["id"])
        planned = [(c["remote"], c["method"], c["path"], c["body"]) for c in item.calls]
        assert planned and planned == of_order(sent, vtex["orderId"]), (erp["id"], item.detail)
