"""Benchmark 6: a reconciliation dry run over N linked orders against one over N/10 (issue #15, item 7).

For each size, the small one first, on an emptied portal database and a freshly started sandbox:

1. The sandbox's rate-limit rules are removed (``DELETE /_sim/rate-limits``): the budgets are lifted.
2. N order pairs are seeded in chunks through the control APIs, no event emitted: VTEX orders in
   ready-for-handling (``POST /_sim/vtex/orders/bulk``) and their ERP orders (``POST
   /_sim/vario/orders/bulk``, externalOrderId = the VTEX id, lines by article number = refId), and
   their order links in the portal's database with one ``bulk_create`` per chunk.
3. Fresh workers (the Procfile's command) with ``VARIO_RATE`` and ``VTEX_DEFAULT_RATE`` lifted.
4. The peak resident memory of every process the run started (sandbox, workers and every process
   they fork, Redis) is reset (``/proc/<pid>/clear_refs``, "5") and then sampled as ``VmHWM`` every
   ``SAMPLE_SECONDS`` while a dry reconciliation of the channel, started through ``bulk_run_start``,
   runs to its end. A forked job's own ``VmHWM`` counts from its fork, so a sample taken while it
   lives is its peak up to then.
5. Time = the run's ``started_at`` → ``finished_at``, as the run page shows it.

No web process runs: nothing in a reconciliation reaches it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from bench import orders as o
from bench.bulk_backfill import bulk_post, bulk_run_wait, erp_body, run_counts, vtex_body
from bench.stack import NO_LIMIT, Stack, _descendants
from sandbox.harness import Sim

SAMPLE_SECONDS = 0.1
# Order pairs per seeding request, the same for both sizes: what a request leaves in the sandbox's heap (Python
# keeps freed memory) is its resident set when the run starts, and so part of its peak.
CHUNK = 1000
BASKET = [("SKU-RED-M", 2, 1999), ("HOODIE-GREY-M", 1, 4900)]


# --- memory of a process tree --------------------------------------------------------------------------------


def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


class PeakMemory:
    """The highest resident set (VmHWM) of every process under ``roots`` (role → root pid), sampled in a
    thread from /proc; each process's high-water mark is reset when sampling starts."""

    def __init__(self, roots: dict[str, int], *, interval: float = SAMPLE_SECONDS) -> None:
        self.roots = roots
        self.interval = interval
        self.peaks: dict[int, dict] = {}  # pid → {"role", "kb", "child", "command", "start_kb"}
        self.resets_failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="peak-memory", daemon=True)

    def __enter__(self) -> PeakMemory:
        for root in self.roots.values():
            for pid in _descendants(root):
                try:
                    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current VmRSS
                except OSError:
                    self.resets_failed += 1
        self.sample()
        for peak in self.peaks.values():
            peak["start_kb"] = peak["kb"]  # the resident set when the run starts
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        for role, root in self.roots.items():
            for pid in _descendants(root):
                kb = _status_kb(pid, "VmHWM")
                if kb is None:
                    continue  # ended meanwhile
                known = self.peaks.get(pid)
                if known is None:
                    self.peaks[pid] = {"role": role, "kb": kb, "child": pid != root, "command": _cmdline(pid)[:80]}
                elif kb > known["kb"]:
                    known["kb"] = kb

    def by_process(self) -> dict[str, dict]:
        """Peaks by kind of process, in MB: label → {"start_mb", "peak_mb", "count"} (the highest of its kind).

        Each role's main process, the processes it had forked before the run (the sandbox's gunicorn
        worker, RQ's scheduler) and those it forked during the run (RQ's job runs)."""
        rows: dict[str, dict] = {}
        for peak in self.peaks.values():
            if not peak["child"]:
                kind = "gunicorn master" if peak["role"] == "sandbox" else "main process"
            elif "start_kb" in peak:
                kind = "gunicorn worker" if peak["role"] == "sandbox" else "forked before the run"
            else:
                kind = "forked during the run"
            row = rows.setdefault(f"{peak['role']}, {kind}", {"start_mb": None, "peak_mb": 0.0, "count": 0})
            row["count"] += 1
            if peak["kb"] / 1024 >= row["peak_mb"]:
                row["peak_mb"] = peak["kb"] / 1024
                row["start_mb"] = peak["start_kb"] / 1024 if "start_kb" in peak else None
        return dict(sorted(rows.items()))

    def highest(self, *, roles: tuple[str, ...] = ()) -> tuple[float, str]:
        """(MB, which process) of the highest peak seen (among the processes of ``roles`` when given)."""
        peaks = {pid: p for pid, p in self.peaks.items() if not roles or p["role"].startswith(roles)}
        if not peaks:
            return 0.0, ""
        pid, peak = max(peaks.items(), key=lambda item: item[1]["kb"])
        kind = "a process it forked" if peak["child"] else "its main process"
        return peak["kb"] / 1024, f"{peak['role']}, {kind} (pid {pid})"


# --- seeding -----------------------------------------------------------------------------------------------------


def pairs_seed(sim: Sim, channel, count: int) -> int:
    """``count`` VTEX orders, their ERP orders and their order links, ``CHUNK`` at a time. Returns the links made."""
    from mappings.models import OrderLink

    made = 0
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        vtex_ids = bulk_post(sim, "vtex/orders/bulk", {"count": size, "template": vtex_body(BASKET)})["orderIds"]
        bodies = [erp_body(vtex_id, BASKET) for vtex_id in vtex_ids]
        erp = bulk_post(sim, "vario/orders/bulk", {"orders": bodies})["orders"]
        OrderLink.objects.bulk_create(
            [
                OrderLink(
                    channel=channel, vtex_order_id=vtex_id, erp_order_id=order["id"], erp_order_number=order["number"]
                )
                for vtex_id, order in zip(vtex_ids, erp, strict=True)
            ],
            batch_size=500,
        )
        made += len(erp)
    return made


def sandbox_calls(stack: Stack) -> dict[str, int]:
    """Requests the sandbox logged, by remote, and its 429s: counted in its database, read-only (tens of
    thousands of entries with their bodies are too many to page through ``/_sim/requests``)."""
    path = stack.directory / "sandbox.sqlite3"
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        rows = connection.execute(
            "SELECT remote, status = 429, COUNT(*) FROM sandbox_requestlogentry GROUP BY remote, status = 429"
        ).fetchall()
    finally:
        connection.close()
    counts: dict[str, int] = {}
    for remote, refused, count in rows:
        key = f"{remote}_429" if refused else remote
        counts[key] = counts.get(key, 0) + count
    return counts


# --- one size ------------------------------------------------------------------------------------------------------


def one_size(stack: Stack, *, orders: int, workers: int, timeout: float) -> dict:
    from django.db.models import Count

    from bench.throughput import cpu_sample, cpu_used
    from sync.bulk.models import BulkRun
    from sync.bulk.services import bulk_run_start

    stack.reset_state()
    if stack.sandbox is not None:  # a fresh process: what earlier benchmarks left in its heap is not this run's
        stack.sandbox.stop()
        stack.sandbox = None
    sandbox = stack.start_sandbox()
    sim = Sim(sandbox.url)
    sim.session.delete(f"{sim.url}/_sim/rate-limits", timeout=10).raise_for_status()  # 1.
    channel = o.channel_create(sandbox.url, web_url=None)
    began = time.monotonic()
    linked = pairs_seed(sim, channel, orders)  # 2.
    seed_seconds = time.monotonic() - began
    sim.session.delete(f"{sim.url}/_sim/requests", timeout=60).raise_for_status()
    pool = stack.start_workers(workers, VARIO_RATE=NO_LIMIT, VTEX_DEFAULT_RATE=NO_LIMIT)  # 3.
    try:
        roots = {f"worker {n + 1}": process.pid for n, process in enumerate(pool)}
        roots["sandbox"] = sandbox.process.pid
        roots["redis"] = stack.redis.process.pid
        before = cpu_sample(stack)
        with PeakMemory(roots) as memory:  # 4.
            run = bulk_run_start(
                channel=channel, kind=BulkRun.Kind.RECONCILIATION, scope={}, dry_run=True, started_by="bench"
            )
            run = bulk_run_wait(run, timeout=timeout)
        cpu = cpu_used(before, cpu_sample(stack))
    finally:
        for process in pool:
            stack.stop(process)
    seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else 0.0  # 5.
    kinds = run.items.values("difference_kinds").annotate(n=Count("id")).order_by("-n")
    highest_mb, highest_of = memory.highest()
    return {
        "orders": linked,
        "seed_seconds": seed_seconds,
        "state": run.state,
        "message": run.message,
        "counts": run_counts(run),
        "differences": {" ".join(row["difference_kinds"].split()) or "none": row["n"] for row in kinds},
        "seconds": seconds,
        "items_per_s": run.done / seconds if seconds else 0.0,
        "calls": sandbox_calls(stack),
        "memory": memory.by_process(),
        "highest_mb": highest_mb,
        "highest_of": highest_of,
        "portal_mb": memory.highest(roles=("worker",))[0],  # the portal's own: the workers and their forks
        "processes": len(memory.peaks),
        "resets_failed": memory.resets_failed,
        "cpu": cpu,
    }


def run(stack: Stack, *, orders: int, base: int, workers: int, timeout: float) -> dict:
    small = one_size(stack, orders=base, workers=workers, timeout=timeout)
    large = one_size(stack, orders=orders, workers=workers, timeout=timeout)
    return {
        "orders": orders,
        "base": base,
        "workers": workers,
        "small": small,
        "large": large,
        "time_ratio": large["seconds"] / small["seconds"] if small["seconds"] else 0.0,
        "size_ratio": large["orders"] / small["orders"] if small["orders"] else 0.0,
        "memory_ratio": large["highest_mb"] / small["highest_mb"] if small["highest_mb"] else 0.0,
        "portal_ratio": large["portal_mb"] / small["portal_mb"] if small["portal_mb"] else 0.0,
        "highest_mb": max(small["highest_mb"], large["highest_mb"]),
    }
