"""The fault matrix's process faults (issue #13 item 4), end to end.

Real processes: the sandbox, the portal's web (the live server; gunicorn where the web process itself
is killed), RQ workers, the periodic process (`run_periodic`: the sweep) and Redis, against the test
database. A kill is SIGKILL to a process and everything it started (a worker's scheduler and job), as
when its host dies. Each test ends with ``assert_nothing_lost_nothing_doubled``: every accepted event
applied or visibly failed, and VTEX and VARIO showing nothing twice.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from rq.registry import FailedJobRegistry
from rq.scheduler import RQScheduler

from mappings.models import OrderLink
from sandbox.harness import ROOT, RedisServer, order_pair
from sync.models import InboxEvent, OrderSync
from sync.queue import INBOX_READY_KEY, QUEUE
from sync.registration import vario_webhooks_register
from tests.support.invariants import assert_nothing_lost_nothing_doubled
from tests.support.stack import Periodic, Web, Worker, portal_env, wait_until

TWO_ITEMS = [("SKU-RED-M", 2, 1999), ("SKU-BLUE-L", 1, 2499)]
INVOICE = r"/api/oms/pvt/orders/[^/]+/invoice$"
SCHEDULER_LOCK = RQScheduler.get_locking_key(QUEUE)


@pytest.fixture
def env(live_sandbox, stack_settings, redis_conn):
    """What every portal process of a test gets: test database, sandbox, the run's Redis, fast delays."""
    return portal_env(sandbox_url=live_sandbox.url, redis_url=stack_settings.REDIS_URL, SYNC_SWEEP_INTERVAL_SECONDS="1")


@pytest.fixture
def processes():
    """Processes a test starts; every one still running is stopped at the end."""
    started = []

    def start(process):
        started.append(process.start())
        return process

    yield start
    for process in reversed(started):
        process.kill()


def settled(erp_order_id: str) -> OrderSync | None:
    sync = OrderSync.objects.filter(key=erp_order_id).first()
    done = sync and sync.status == OrderSync.Status.DONE and sync.done_generation == sync.generation
    return sync if done else None


def invoiced_and_settled(sim, vtex: dict, erp: dict, *, timeout: float = 60) -> None:
    wait_until(
        lambda: sim.vtex_order(vtex["orderId"])["order"]["status"] == "invoiced" and settled(erp["id"]),
        timeout=timeout,
        message=f"{vtex['orderId']} invoiced and its sync done",
    )


def held(sim, method: str, path_pattern: str, *, latency_ms: int) -> None:
    """The next matching request is held ``latency_ms`` by the sandbox before it is answered."""
    sim.post(
        "faults",
        {
            "remote": "any",
            "method": method,
            "pathPattern": path_pattern,
            "kind": "latency",
            "latencyMs": latency_ms,
            "remaining": 1,
        },
    )


def wait_in_flight(sim, what: str) -> None:
    """A counted fault rule is used up when its request arrives, before the sandbox holds it."""
    wait_until(lambda: sim.get("faults") == [], message=f"{what} reached the sandbox and is held")


def accepted_invoice_posts(sim) -> list[dict]:
    return [r for r in sim.requests_to("POST", "/invoice") if 200 <= r["status"] < 300]


# --- (a) a worker SIGKILLed before, during and after the VTEX call -------------------------------------


@pytest.mark.parametrize("point", ["before the VTEX call", "during the VTEX call", "after VTEX answered"])
def test_a_worker_killed_at_any_point_of_a_push_loses_and_doubles_nothing(
    point, sim, channel, env, processes, tmp_path
):
    processes(Periodic(env=env, log_path=tmp_path / "periodic.log"))
    if point == "after VTEX answered":
        # The worker kills itself once VTEX answered the invoice, before the portal wrote anything of it.
        worker = processes(
            Worker(env={**env, "PORTAL_FAULT_KILL_AFTER": f"^POST {INVOICE}"}, log_path=tmp_path / "w1.log")
        )
    else:
        worker = processes(Worker(env=env, log_path=tmp_path / "w1.log"))
        if point == "before the VTEX call":
            held(sim, "GET", r"^/api/oms/pvt/orders/[^/]+$", latency_ms=1500)  # reading VTEX, nothing sent yet
        else:
            # Shorter than the order lock's lease (SYNC_LOCK_SECONDS=4): VTEX has applied the invoice
            # before another worker may take the order over, as it has in production (lease 30 s).
            held(sim, "POST", INVOICE, latency_ms=1500)
    vtex, erp = order_pair(sim, TWO_ITEMS)

    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-K1"})
    if point == "after VTEX answered":
        worker.wait_dead()
        assert len(accepted_invoice_posts(sim)) == 1, worker.log_tail()
    else:
        wait_in_flight(sim, "the VTEX read" if point == "before the VTEX call" else "the invoice")
        worker.kill()
    if point == "before the VTEX call":
        assert accepted_invoice_posts(sim) == []
    sync = OrderSync.objects.get(key=erp["id"])
    assert sync.status == OrderSync.Status.RUNNING, "the run was cut short, not finished"

    processes(Worker(env=env, log_path=tmp_path / "w2.log"))

    invoiced_and_settled(sim, vtex, erp)
    [invoice] = sim.vtex_order(vtex["orderId"])["invoices"]
    assert invoice["trackingNumber"] == "DHL-K1"
    assert OrderLink.objects.get(vtex_order_id=vtex["orderId"]).vtex_status == "invoiced"
    assert_nothing_lost_nothing_doubled(sim)


# --- (b) a worker SIGKILLed and replaced at once: scheduled work runs on time ---------------------------


def test_work_scheduled_by_a_killed_worker_runs_on_time_although_its_scheduler_lock_remains(
    sim, channel, env, processes, tmp_path, redis_conn
):
    processes(Periodic(env=env, log_path=tmp_path / "periodic.log"))
    # VTEX fails the invoice once with a 503: the order's next try is a scheduled RQ job, 1.5 to 3 s on.
    backoff = {"SYNC_RETRY_BASE_SECONDS": "3", "SYNC_RETRY_MAX_SECONDS": "3"}
    worker = processes(Worker(env={**env, **backoff}, log_path=tmp_path / "w1.log"))
    sim.post(
        "faults",
        {
            "remote": "vtex",
            "method": "POST",
            "pathPattern": INVOICE,
            "kind": "status",
            "statusCode": 503,
            "remaining": 1,
        },
    )
    vtex, erp = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-K2"})
    wait_until(
        lambda: OrderSync.objects.filter(key=erp["id"], status=OrderSync.Status.WAITING).exists(),
        message="the order waits for its retry",
    )
    dead_scheduler = wait_until(lambda: redis_conn.get(SCHEDULER_LOCK), message="the worker's scheduler lock")

    worker.kill()
    processes(Worker(env=env, log_path=tmp_path / "w2.log"))

    invoiced_and_settled(sim, vtex, erp)
    # RQ keeps a dead scheduler's lock for a minute (interval + 60 s), and the replacement could not
    # start its own scheduler: the retry ran because the sweep enqueued it once it was overdue.
    assert redis_conn.get(SCHEDULER_LOCK) == dead_scheduler
    assert [r["status"] for r in sim.requests_to("POST", "/invoice")] == [503, 200]
    assert_nothing_lost_nothing_doubled(sim)


# --- (c) workers stopped with SIGTERM under load --------------------------------------------------------


def test_workers_stopped_with_sigterm_under_load_lose_and_double_nothing(
    sim, channel, env, processes, tmp_path, redis_conn
):
    # No periodic process: a graceful stop must lose nothing by itself, with no sweep to make up for it.
    first = [processes(Worker(env=env, log_path=tmp_path / f"w{n}.log")) for n in (1, 2)]
    sim.post(
        "faults", {"remote": "vtex", "method": "POST", "pathPattern": INVOICE, "kind": "latency", "latencyMs": 300}
    )
    pairs = [order_pair(sim, TWO_ITEMS) for _ in range(6)]
    for n, (_, erp) in enumerate(pairs):
        sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": f"DHL-T{n}"})
    wait_until(lambda: accepted_invoice_posts(sim), message="the first invoice")

    statuses = [worker.stop(timeout=60) for worker in first]

    assert statuses == [0, 0], "\n".join(worker.log_tail() for worker in first)
    assert FailedJobRegistry(QUEUE, connection=redis_conn).get_job_ids() == []
    assert len(accepted_invoice_posts(sim)) < len(pairs), "the stop came under load, with work left"
    processes(Worker(env=env, log_path=tmp_path / "w3.log"))
    for vtex, erp in pairs:
        invoiced_and_settled(sim, vtex, erp)
    assert_nothing_lost_nothing_doubled(sim)


# --- (d) Redis stopped and started again under the running workers --------------------------------------


def procfile_command(name: str) -> str:
    """The command `make run` gives a process (Procfile.dev), which honcho runs with /bin/sh -c."""
    [line] = [line for line in (ROOT / "Procfile.dev").read_text().splitlines() if line.startswith(f"{name}:")]
    return line.split(":", 1)[1].strip()


def test_redis_restarted_under_a_busy_worker_loses_and_doubles_nothing(
    sim, channel, env, processes, tmp_path, stack_settings
):
    redis = RedisServer().start()
    try:
        stack_settings.REDIS_URL = redis.url  # the live server's hand-off too
        # Procfile.dev says `python`, as scripts/run.sh puts the virtualenv first on PATH.
        env = {**env, "REDIS_URL": redis.url, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"}
        # The worker and the periodic process as `make run` starts them: each under scripts/respawn.sh,
        # which starts it again when it ends (systemd: Restart=always). Both end with Redis gone.
        env["RESPAWN_DELAY_SECONDS"] = "0.5"
        processes(
            Periodic(
                env=env, log_path=tmp_path / "periodic.log", command=["/bin/sh", "-c", procfile_command("periodic")]
            )
        )
        worker = processes(
            Worker(env=env, log_path=tmp_path / "worker.log", command=["/bin/sh", "-c", procfile_command("worker")])
        )
        held(sim, "POST", INVOICE, latency_ms=1500)
        first = order_pair(sim, TWO_ITEMS)
        sim.post(f"vario/orders/{first[1]['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-R1"})
        wait_in_flight(sim, "the invoice")

        redis.stop()  # no persistence: queues, scheduled jobs, locks and markers are gone with it
        second = order_pair(sim, TWO_ITEMS)
        sim.post(f"vario/orders/{second[1]['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-R2"})
        wait_until(
            lambda: InboxEvent.objects.filter(entity_id__in=_delivery_ids(sim, second[1])).exists(),
            message="the second order's webhook stored while Redis is down",
        )
        wait_until(lambda: "starting it again" in worker.log_tail(), message="the worker ended and was started again")
        restarted = RedisServer()
        restarted.port = redis.port
        redis = restarted.start()

        for vtex, erp in (first, second):
            invoiced_and_settled(sim, vtex, erp)
        assert worker.process.poll() is None, "the supervisor itself kept running"
        assert_nothing_lost_nothing_doubled(sim)
    finally:
        redis.stop()


def _delivery_ids(sim, erp: dict) -> list[str]:
    return [d["id"] for d in sim.get(f"vario/orders/{erp['id']}")["deliveries"]]


# --- (e) the web process killed between the row's commit and the hand-off ------------------------------


def test_events_stored_by_a_web_process_killed_before_its_hand_off_are_swept_and_applied(
    sim, channel, env, processes, tmp_path, live_server, redis_conn
):
    # The hand-off thread lets ids gather this long: the webhook is answered, its id only in memory.
    web = processes(Web(env={**env, "INBOX_HANDOFF_LINGER_SECONDS": "60"}, log_path=tmp_path / "web.log"))
    vario_webhooks_register(base_url=web.url, replace_base_url=live_server.url)
    processes(Worker(env=env, log_path=tmp_path / "worker.log"))
    vtex, erp = order_pair(sim, TWO_ITEMS)

    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-W1"})
    wait_until(
        lambda: [
            e
            for e in sim.get("vario/webhook-log")
            if re.match(r"document\.customer_delivery", e["event"]) and (e.get("response") or {}).get("status") == 200
        ],
        message="the delivery note's webhook answered 200 by the web process",
    )
    stored = list(InboxEvent.objects.values_list("pk", flat=True))
    assert stored and InboxEvent.objects.filter(status=InboxEvent.Status.PENDING).count() == len(stored)
    web.kill()

    assert redis_conn.zcard(INBOX_READY_KEY) == 0, "nothing was handed over before the kill"
    processes(Periodic(env=env, log_path=tmp_path / "periodic.log"))
    invoiced_and_settled(sim, vtex, erp)
    assert set(stored) <= set(
        InboxEvent.objects.filter(status=InboxEvent.Status.PROCESSED).values_list("pk", flat=True)
    )
    assert_nothing_lost_nothing_doubled(sim)


# --- (f) a bulk run: its worker killed mid-run, then Redis restarted (issue #15 item 4) --------------------


@pytest.mark.once
def test_a_bulk_run_resumes_after_a_killed_worker_and_a_redis_restart_and_does_each_order_once(
    sim, quiet_channel, env, processes, tmp_path, stack_settings
):
    from sync.bulk.models import BulkRun
    from sync.bulk.services import bulk_run_start

    redis = RedisServer().start()
    try:
        stack_settings.REDIS_URL = redis.url
        env = {**env, "REDIS_URL": redis.url}
        pairs = [order_pair(sim, TWO_ITEMS) for _ in range(6)]
        for _vtex, erp in pairs:  # shipped while no webhook reached the portal
            sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": f"DHL-{erp['id']}"})
        # The worker dies once VTEX accepted the first invoice, before the portal recorded it.
        worker = processes(
            Worker(env={**env, "PORTAL_FAULT_KILL_AFTER": f"^POST {INVOICE}"}, log_path=tmp_path / "w1.log")
        )
        run = bulk_run_start(
            channel=quiet_channel,
            kind=BulkRun.Kind.ORDER_STATUS_INITIAL,
            scope={"since": "2000-01-01"},
            dry_run=False,
            started_by="test",
        )
        worker.wait_dead()
        assert len(accepted_invoice_posts(sim)) == 1, worker.log_tail()

        redis.stop()  # queues, scheduled steps, locks and markers are gone with it
        restarted = RedisServer()
        restarted.port = redis.port
        redis = restarted.start()
        processes(Periodic(env=env, log_path=tmp_path / "periodic.log"))  # its sweep finds the stalled run
        processes(Worker(env=env, log_path=tmp_path / "w2.log"))

        def ended():
            run.refresh_from_db()
            return run if run.state == BulkRun.State.FINISHED else None

        wait_until(ended, message="the bulk run resumed and finished", timeout=90)
        assert (run.total, run.done, run.failed) == (6, 6, 0), run.message
        for vtex, erp in pairs:
            [invoice] = sim.vtex_order(vtex["orderId"])["invoices"]
            assert invoice["trackingNumber"] == f"DHL-{erp['id']}"
        assert len(accepted_invoice_posts(sim)) == 6
        assert_nothing_lost_nothing_doubled(sim)
    finally:
        redis.stop()
