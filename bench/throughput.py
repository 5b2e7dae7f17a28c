"""Benchmark 2: synced orders/s vs no-op RQ jobs/s, same worker command and number of workers.

Orders: ``orders`` full orders are created and delivered in the ERP first, with the sandbox's
webhook loop paused; then every webhook is sent at once and the clock runs from the first webhook
the portal stored to the last invoice VTEX (the sandbox) accepted. No-op: ``noop_jobs`` jobs of
``bench.noop.noop_job`` enqueued at once on the same workers, from the first job's start to the last
job's end.
"""

from __future__ import annotations

import os
import time

from bench import orders as o
from bench.stack import NO_LIMIT, Stack
from sandbox.harness import Sim


def noop_rate(stack: Stack, jobs: int, *, timeout: float = 120.0) -> tuple[float, int]:
    """(jobs/s, jobs finished) of ``jobs`` no-op jobs on the running workers."""
    import django_rq
    from rq.job import Job
    from rq.queue import Queue

    from bench.noop import noop_job

    queue = django_rq.get_queue("default")
    enqueued = []
    for start in range(0, jobs, 500):
        batch = [Queue.prepare_data(noop_job, result_ttl=600) for _ in range(min(500, jobs - start))]
        enqueued += queue.enqueue_many(batch)
    ids = [job.id for job in enqueued]
    deadline = time.monotonic() + timeout
    while queue.count or queue.started_job_registry.count:
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    fetched = [job for job in Job.fetch_many(ids, connection=queue.connection, serializer=queue.serializer) if job]
    finished = [job for job in fetched if job.started_at and job.ended_at]
    if len(finished) < 2:
        return 0.0, len(finished)
    first = min(job.started_at for job in finished)
    last = max(job.ended_at for job in finished)
    return len(finished) / (last - first).total_seconds(), len(finished)


def cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """CPU seconds each role used between two ``cpu_sample`` calls, and the wall-clock seconds between them."""
    used = {role: after[role] - before[role] for role in before if role != "at"}
    used["wall"] = after["at"] - before["at"]
    return used


def cpu_sample(stack: Stack) -> dict[str, float]:
    """``Stack.cpu_by_role`` and this process's own CPU seconds (``bench``: the load driver, its polling)."""
    times = os.times()
    return {**stack.cpu_by_role(), "bench": times.user + times.system}


def run(stack: Stack, *, orders: int, workers: int, noop_jobs: int, web_workers: int, web_threads: int, timeout: float):
    from sync.models import InboxEvent

    stack.reset_state()
    sandbox = stack.start_sandbox()
    sim = Sim(sandbox.url)
    removed = o.sandbox_limits_without_vario(sim)
    web, web_url = stack.start_web(workers=web_workers, threads=web_threads)
    worker_env = {"VARIO_RATE": NO_LIMIT}
    pool = []
    try:
        o.channel_create(sandbox.url, web_url=web_url)
        pool = stack.start_workers(workers, **worker_env)
        pairs = o.orders_create_delivered(sandbox.url, orders)
        sim.session.delete(f"{sim.url}/_sim/requests", timeout=30)
        before = cpu_sample(stack)
        done = o.wait_synced(stack, sim, orders, timeout=timeout)
        sync_cpu = cpu_used(before, cpu_sample(stack))
        first_webhook = InboxEvent.objects.order_by("received_at").values_list("received_at", flat=True).first()
        invoices = [e for e in o.sandbox_log(sim, method="POST", path="/invoice") if 200 <= e["status"] < 300]
        vtex_calls = o.sandbox_log(sim, remote="vtex")
        vario_calls = o.sandbox_log(sim, remote="vario")
        webhooks = InboxEvent.objects.count()
        before = cpu_sample(stack)
        noop, noop_done = noop_rate(stack, noop_jobs)
        noop_cpu = cpu_used(before, cpu_sample(stack))
    finally:
        for process in pool:
            stack.stop(process)
        stack.stop(web)
    statuses = o.vtex_statuses(sandbox.url, [vtex_id for vtex_id, _ in pairs])
    invoiced = statuses.get("invoiced", 0)
    seconds = max(o.at(e) for e in invoices) - first_webhook.timestamp() if invoices and first_webhook else 0.0
    synced = invoiced / seconds if seconds > 0 else 0.0
    return {
        "orders": orders,
        "workers": workers,
        "web_workers": web_workers,
        "web_threads": web_threads,
        "completed": done,
        "invoiced": invoiced,
        "vtex_statuses": statuses,
        "sync_outcomes": o.sync_outcomes(),
        "seconds": seconds,
        "orders_per_s": synced,
        "noop_jobs": noop_done,
        "noop_per_s": noop,
        "ratio": synced / noop if noop else 0.0,
        "webhooks": webhooks,
        "vtex_calls": len(vtex_calls),
        "vario_calls": len(vario_calls),
        "vtex_429": sum(1 for e in vtex_calls if e["status"] == 429),
        "sync_cpu": sync_cpu,
        "noop_cpu": noop_cpu,
        "removed_rules": [r.get("name") or r["id"] for r in removed],
    }
