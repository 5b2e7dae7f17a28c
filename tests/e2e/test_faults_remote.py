"""The fault matrix, remote side (issue #13, item 4): the database away at ingest, a VTEX socket that
accepts and never answers, a VTEX that refuses. Real processes: the sandbox, the portal's web (gunicorn
or the live server), an RQ worker, Redis and the test database.

Each test ends with ``assert_nothing_lost_nothing_doubled``: every accepted event is applied or
visibly failed, and VTEX and VARIO show nothing twice.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import requests
from django.db import connection
from django.urls import reverse
from django.utils.html import escape

from sandbox.harness import order_pair
from sync.models import InboxEvent, OrderSync, TimelineEntry
from sync.queue import is_queued, order_sync_marker
from sync.registration import vario_webhooks_register
from sync.runner import order_sync_retry
from tests.e2e.test_outbound import TWO_ITEMS, accepted, settled, sync_of, vtex_status_is, wait_invoiced
from tests.support.invariants import assert_nothing_lost_nothing_doubled
from tests.support.stack import Web, Worker, portal_env, signed_post, wait_until

DELIVERY_EVENT = "document.customer_delivery_document.order_to_delivery"
INVOICE_POST = "/invoice"
# Short enough to test, long enough that a loaded machine does not time out a healthy call.
LOCK_WAIT_SECONDS = "1"


def work_settled() -> bool:
    """Nothing left to do: no event waits to be processed, no order to be run (the final check's moment)."""
    return (
        not InboxEvent.objects.filter(status=InboxEvent.Status.PENDING).exists()
        and not OrderSync.objects.filter(status__in=OrderSync.OPEN).exists()
    )


@contextmanager
def inbox_write_lock():
    """Another connection holds the lock every webhook's INSERT needs, as a long migration or a stuck
    transaction would, while readers go on (this test reads the table meanwhile). SQLite: the database's
    write lock (``BEGIN EXCLUSIVE``; in WAL mode readers are not blocked). PostgreSQL: ``LOCK TABLE …
    IN EXCLUSIVE MODE`` in an open transaction, which conflicts with INSERT's ROW EXCLUSIVE lock but not
    with SELECT's ACCESS SHARE (ACCESS EXCLUSIVE would block this test's own reads, with no timeout)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        holder = sqlite3.connect(settings["NAME"], isolation_level=None, timeout=30)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    import psycopg

    holder = psycopg.connect(
        host=settings.get("HOST") or "127.0.0.1",
        port=settings.get("PORT") or 5432,
        dbname=settings["NAME"],
        user=settings.get("USER") or None,
        password=settings.get("PASSWORD") or None,
    )
    holder.execute(f"LOCK TABLE {InboxEvent._meta.db_table} IN EXCLUSIVE MODE")  # opens the transaction
    try:
        yield
    finally:
        holder.rollback()
        holder.close()


def lock_waiting_web(*, live_sandbox, stack_settings, tmp_path) -> Web:
    """gunicorn whose database calls give up on a held lock after LOCK_WAIT_SECONDS instead of 20 s.

    SQLite: ``SQLITE_BUSY_TIMEOUT_SECONDS`` (the portal's own setting). PostgreSQL: libpq reads
    ``PGOPTIONS`` at connect, so the server's ``lock_timeout`` applies to this process's connection only.
    """
    env = portal_env(
        sandbox_url=live_sandbox.url,
        redis_url=stack_settings.REDIS_URL,
        SQLITE_BUSY_TIMEOUT_SECONDS=LOCK_WAIT_SECONDS,
        PGOPTIONS=f"-c lock_timeout={int(LOCK_WAIT_SECONDS) * 1000}",
    )
    return Web(env=env, log_path=tmp_path / "web.log").start()


def test_a_locked_database_at_ingest_answers_503_stores_nothing_and_the_retried_delivery_is_stored_once(
    sim, channel, worker, live_sandbox, live_server, stack_settings, tmp_path
):
    web = lock_waiting_web(live_sandbox=live_sandbox, stack_settings=stack_settings, tmp_path=tmp_path)
    try:
        # VARIO now calls the gunicorn process, not the live server the channel fixture registered.
        vario_webhooks_register(base_url=web.url, replace_base_url=live_server.url)
        vtex, erp = order_pair(sim, TWO_ITEMS)
        wait_until(lambda: requests.get(f"{web.url}/healthz", timeout=5).ok, message="web healthy")

        with inbox_write_lock():
            refused = signed_post(web.url, f"/webhooks/vario/{DELIVERY_EVENT}", {"id": int(erp["id"])})
            assert refused.status_code == 503
            assert refused.headers["Content-Type"] == "application/json"
            assert refused.json() == {"error": "Database unavailable; please retry."}
            # VARIO delivers the shipment's webhooks while the database is still locked: 503, retried.
            sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "00340434160000000503"})
            wait_until(
                lambda: any(
                    (entry.get("response") or {}).get("status") == 503 for entry in sim.get("vario/webhook-log")
                ),
                message="a VARIO webhook answered 503",
            )
            assert not InboxEvent.objects.exists()

        # After the outage VARIO's retries are stored, each once; every refused attempt stored nothing.
        log = wait_until(
            lambda: (
                (entries := sim.get("vario/webhook-log")) and all(e["state"] == "SENT" for e in entries) and entries
            ),
            message="every VARIO webhook delivered",
        )
        assert any(entry["sentAttempts"] > 1 for entry in log), "no delivery was refused and retried"
        stored = list(InboxEvent.objects.order_by("event").values_list("event", flat=True))
        assert stored == sorted(entry["event"] for entry in log)

        wait_invoiced(sim, vtex["orderId"])
        wait_until(lambda: settled(erp["id"]), message="order sync done")
        assert len(accepted(sim, "POST", INVOICE_POST)) == 1
        wait_until(work_settled, message="every stored event and order settled")
        assert_nothing_lost_nothing_doubled(sim)
    finally:
        web.stop()


def impatient_worker(*, live_sandbox, stack_settings, tmp_path, max_retries: int) -> Worker:
    """A worker that gives up on a VTEX answer after 0.5 s and retries ``max_retries`` times."""
    env = portal_env(
        sandbox_url=live_sandbox.url,
        redis_url=stack_settings.REDIS_URL,
        REMOTE_READ_TIMEOUT="0.5",
        SYNC_MAX_RETRIES=str(max_retries),
    )
    return Worker(env=env, log_path=tmp_path / "worker.log").start()


def hung_invoice_posts(sim) -> list[dict]:
    return [call for call in sim.requests_to("POST", INVOICE_POST) if call["fault"] == "fault:hang"]


def test_a_vtex_that_accepts_and_never_answers_is_retried_with_backoff_then_fails_visibly_and_sends_nothing_twice(
    sim, channel, live_sandbox, stack_settings, tmp_path, admin_client
):
    max_retries = 2
    sim.post("faults", {"remote": "vtex", "method": "POST", "pathPattern": "/invoice$", "kind": "hang"})
    worker = impatient_worker(
        live_sandbox=live_sandbox, stack_settings=stack_settings, tmp_path=tmp_path, max_retries=max_retries
    )
    try:
        vtex, erp = order_pair(sim, TWO_ITEMS)
        # No tracking number: one webhook the portal acts on, so one run does all the calls counted below.
        sim.post(f"vario/orders/{erp['id']}/deliver", {})

        failed = wait_until(lambda: settled(erp["id"], OrderSync.Status.FAILED), message="order sync failed")
        assert failed.message.startswith(f"Gave up after {max_retries} retries: vtex POST")
        assert "timed out (ReadTimeout)" in failed.message
        retries = TimelineEntry.objects.filter(order_sync=failed, title__startswith="Temporary error, retry")
        assert [t.title.split(" in ")[0] for t in retries.order_by("pk")] == [
            f"Temporary error, retry {n}/{max_retries}" for n in range(1, max_retries + 1)
        ]
        # Bounded: the first try and each retry, one call each; VTEX acted on none of them.
        assert len(hung_invoice_posts(sim)) == 1 + max_retries
        assert accepted(sim, "POST", INVOICE_POST) == []
        assert vtex_status_is(sim, vtex["orderId"], "handling")
        page = admin_client.get(reverse("admin:sync_ordersync_change", args=[failed.pk]))
        assert escape(failed.message) in page.content.decode()

        # The socket answers again; the operator's retry applies the invoice once.
        assert sim.session.delete(f"{sim.url}/_sim/faults", timeout=10).status_code == 200
        order_sync_retry(order_sync=failed, actor="test")
        [invoice] = wait_invoiced(sim, vtex["orderId"])["invoices"]
        assert int(invoice["invoiceValue"]) == vtex["value"]
        wait_until(lambda: settled(erp["id"]), message="order sync done after the retry")
        assert len(accepted(sim, "POST", INVOICE_POST)) == 1
        wait_until(work_settled, message="every stored event and order settled")
        assert_nothing_lost_nothing_doubled(sim)
    finally:
        worker.stop()


VTEX_REFUSAL = {
    "error": {
        "code": "1",
        "message": "Invoice refused: the fiscal document number 7 was already registered for another order",
        "exception": None,
    }
}


def test_a_vtex_business_400_fails_the_order_at_once_with_vtexs_message_and_no_retry(
    sim, channel, worker, admin_client
):
    sim.post(
        "faults",
        {
            "remote": "vtex",
            "method": "POST",
            "pathPattern": "/invoice$",
            "kind": "status",
            "statusCode": 400,
            "body": VTEX_REFUSAL,
        },
    )
    vtex, erp = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{erp['id']}/deliver", {})  # one webhook the portal acts on: one run

    failed = wait_until(lambda: settled(erp["id"], OrderSync.Status.FAILED), message="order sync failed")
    vtex_message = VTEX_REFUSAL["error"]["message"]
    assert vtex_message in failed.message and "→ 400" in failed.message
    assert (failed.retries, failed.next_attempt_at) == (0, None)
    assert not TimelineEntry.objects.filter(order_sync=failed, title__startswith="Temporary error").exists()
    # No retry: one call, and nothing scheduled for the order (a FAILED order is not swept either).
    assert [c["status"] for c in sim.requests_to("POST", INVOICE_POST)] == [400]
    assert not is_queued(order_sync_marker(failed.pk))
    page = admin_client.get(reverse("admin:sync_ordersync_change", args=[failed.pk])).content.decode()
    assert escape(vtex_message) in page  # the status message and the call on the timeline
    call = TimelineEntry.objects.get(order_sync=failed, kind=TimelineEntry.Kind.CALL, title__contains="/invoice")
    assert call.status_code == 400
    assert vtex_status_is(sim, vtex["orderId"], "handling")
    wait_until(work_settled, message="every stored event and order settled")
    assert sync_of(erp["id"]).status == OrderSync.Status.FAILED
    assert [c["status"] for c in sim.requests_to("POST", INVOICE_POST)] == [400]
    assert_nothing_lost_nothing_doubled(sim)
