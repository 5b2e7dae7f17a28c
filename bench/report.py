"""The results section of docs/benchmarks.md, rewritten by every run between two markers."""

from __future__ import annotations

import os
from pathlib import Path

START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _ingest(r: dict) -> list[str]:
    bare, hook = r["bare"], r["webhook"]
    rounds = r.get("rounds", 1)
    per_round = ", ".join(
        f"{ratio:.2f}× / {p99:.0f} ms" for ratio, p99 in zip(r["round_ratios"], r["round_p99_ms"], strict=True)
    )
    return [
        f"### 1. Webhook ingest ({r['connections']} connections, {r['duration']:.0f} s each in {rounds} "
        f"alternating rounds, {r['generator']})",
        "",
        f"gunicorn `deploy/gunicorn.conf.py`, gthread, {r['web_workers']} workers × {r['web_threads']} threads; "
        f"{r['database']}; private Redis. Per round (webhook ÷ bare, webhook p99): {per_round}. The figures "
        "are the medians of the rounds; requests and req/s below are totals over all rounds.",
        "",
        "| endpoint | requests | req/s | p50 | p99 | max | errors |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| bare JSON view `/_bench/bare/<event>` | {bare.requests} | {bare.rps:.0f} | {bare.p50_ms:.1f} ms "
        f"| {bare.p99_ms:.1f} ms | {bare.max_ms:.0f} ms | {bare.errors} |",
        f"| `POST /webhooks/vario/<event>` | {hook.requests} | {hook.rps:.0f} | {hook.p50_ms:.1f} ms "
        f"| {hook.p99_ms:.1f} ms | {hook.max_ms:.0f} ms | {hook.errors} |",
        "",
        "| figure | measured | target | |",
        "| --- | --- | --- | --- |",
        f"| webhook req/s ÷ bare req/s | **{r['ratio']:.2f}×** | ≥ 0.5× | {_mark(r['ratio'] >= 0.5)} |",
        f"| webhook p99 | **{hook.p99_ms:.1f} ms** | ≤ 50 ms | {_mark(hook.p99_ms <= 50)} |",
        "",
        f"Inbox rows stored during the measured webhook load: {r['stored']} (wrk counted {hook.requests} answers); "
        f"jobs waiting in Redis afterwards (no worker ran): {r['queued']}.",
    ]


def _throughput(r: dict) -> list[str]:
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(r["vtex_statuses"].items()))
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["sync_outcomes"].items()))
    per_order = r["invoiced"] or 1
    return [
        f"### 2. Sync throughput ({r['orders']} full orders, {r['workers']} workers)",
        "",
        "`manage.py rqworker --with-scheduler default bulk` (the Procfile's worker: django-rq's default, forking "
        f"`rq.Worker`) × {r['workers']}; web: gunicorn {r['web_workers']}×{r['web_threads']}. The sandbox's seeded "
        f"VARIO rule ({', '.join(map(str, r['removed_rules'])) or 'none found'}) was removed with "
        "`DELETE /_sim/rate-limits` (the seeded VTEX rules were put back), and the workers ran with "
        "`VARIO_RATE=1000000/1` so that the portal's own VARIO limiter (40/6 s) does not pace the run either.",
        "",
        "| figure | measured | target | |",
        "| --- | --- | --- | --- |",
        f"| synced orders/s | {r['orders_per_s']:.2f} ({r['invoiced']} invoiced in {r['seconds']:.1f} s) | | |",
        f"| no-op jobs/s | {r['noop_per_s']:.1f} ({r['noop_jobs']} jobs) | | |",
        f"| orders/s ÷ no-op jobs/s | **{r['ratio']:.3f}×** | ≥ 0.35× | {_mark(r['ratio'] >= 0.35)} |",
        "",
        f"All synced in time: {'yes' if r['completed'] else 'no'}. VTEX order statuses at the end: {statuses}. "
        f"Order syncs: {outcomes}. Webhooks stored: {r['webhooks']}. Remote calls per invoiced order: "
        f"{r['vario_calls'] / per_order:.1f} VARIO, {r['vtex_calls'] / per_order:.1f} VTEX "
        f"({r['vtex_429']} VTEX 429s).",
        *_cpu_lines(r),
    ]


ROLES = (
    ("sandbox", "sandbox (both remotes)"),
    ("workers", "RQ workers and their job runs"),
    ("web", "gunicorn"),
    ("redis", "Redis"),
    ("bench", "the benchmark's own driver"),
)


def _cpu_lines(r: dict) -> list[str]:
    """Where the CPU went: per synced order and per no-op job, by process, from /proc (Linux only)."""
    sync, noop = r.get("sync_cpu"), r.get("noop_cpu")
    if not sync or not noop or not sync.get("machine"):
        return []
    orders, jobs = r["invoiced"] or 1, r["noop_jobs"] or 1
    cores = os.cpu_count() or 1

    def share(used: dict) -> str:
        return f"{used['machine'] / (used['wall'] * cores):.0%}" if used["wall"] else "?"

    rows = [
        f"| {label} | {sync[role] * 1000 / orders:.0f} ms | {noop[role] * 1000 / jobs:.1f} ms |"
        for role, label in ROLES
    ]
    return [
        "",
        "CPU time by process (from `/proc`, from the first webhook dispatched until every order settled, and "
        "over the no-op run), divided by invoiced orders and by no-op jobs. The machine was busy "
        f"{share(sync)} of its {cores} cores during the sync and {share(noop)} during the no-op jobs.",
        "",
        "| process | CPU per synced order | CPU per no-op job |",
        "| --- | --- | --- |",
        *rows,
        f"| whole machine | {sync['machine'] * 1000 / orders:.0f} ms | {noop['machine'] * 1000 / jobs:.1f} ms |",
    ]


def _budget(r: dict) -> list[str]:
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(r["vtex_statuses"].items()))
    rows = [
        f"| {route} | {x['calls']} | {x['accepted']} | {x['refused_429']} | {x['seconds']:.1f} s "
        f"| {x['accepted_per_s']:.2f} | {x['peak_1s']} |"
        for route, x in r["per_route"].items()
    ]
    return [
        f"### 3. VTEX budget (R = {r['rate']} requests/s per route, {r['workers']} workers, {r['orders']} orders)",
        "",
        "Sandbox: one `/_sim/rate-limits` rule per VTEX route the sync calls (GET order, start-handling, invoice), "
        f"{r['rate']} per 1 s sliding window; VARIO rule removed. Portal: `VTEX_DEFAULT_RATE={r['rate']}/1`, "
        "`VARIO_RATE=1000000/1`.",
        "",
        "| route | calls | accepted | 429 | first→last call | accepted/s | most in any 1 s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
        "| figure | measured | target | |",
        "| --- | --- | --- | --- |",
        f"| achieved ÷ R on the busiest route ({r['busiest']}) | **{r['ratio']:.2f}×** ({r['achieved']:.2f} req/s) "
        f"| ≥ 0.9× | {_mark(r['ratio'] >= 0.9)} |",
        f"| 429s among all VTEX calls | **{r['share_429'] * 100:.2f} %** ({r['refused_429']} of {r['calls']}) "
        f"| ≤ 1 % | {_mark(r['share_429'] <= 0.01)} |",
        f"| calls inside an announced Retry-After window | **{r['retry_after_violations']}** "
        f"(after {r['retry_after_announced']} 429s with Retry-After) | 0 | {_mark(r['retry_after_violations'] == 0)} |",
        "",
        f"All synced in time: {'yes' if r['completed'] else 'no'}. VTEX order statuses at the end: {statuses}. "
        f"Order syncs: {', '.join(f'{k} {v}' for k, v in sorted(r['sync_outcomes'].items()))}.",
        "",
        "Calls inside a Retry-After window, milliseconds after the 429 was answered: "
        + (", ".join(map(str, r["violation_delays_ms"])) or "none")
        + ".",
    ]


def _feed(r: dict) -> list[str]:
    bare, poll = r["bare"], r["poller"]
    removed = ", ".join(map(str, r["removed_rules"])) or "none matched, none removed"

    def row(name: str, x: dict) -> str:
        return (
            f"| {name} | {x['queued']} | {x['events']} | {x['retrieves']} / {x['commits']} | {x['errors']} "
            f"| {x['seconds']:.2f} s | {x['events_per_s']:.0f} |"
        )

    rounds = ", ".join(f"{ratio:.2f}×" for ratio in r["round_ratios"])
    return [
        f"### 4. Feed poller ({r['events']} feed events per side in {r['rounds']} alternating rounds)",
        "",
        "Each round of either side on a freshly reset sandbox, the feed configured by `feed_configure` (production "
        f"statuses) and filled with {r['fill_events']} orders through `POST /_sim/vtex/orders` "
        f"(≈ {r['fill_events'] / r['fill_seconds']:.0f} orders/s, not measured); per round (poller ÷ bare): {rounds}; "
        "the figure is their median, the table shows totals. Sandbox rate-limit rules on the feed routes: "
        f"{removed}; the channel's VTEX budget for the `feed` route set to `1000000/1`. Timed from the sandbox's "
        "request log, from the answer to the first batch's commit to the last feed call's answer (the first batch "
        "warms either client up; its items are not counted).",
        "",
        "| loop | items queued | events read | retrieves / commits | errors | time | events/s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        row("bare `retrieve_feed(maxlot=10)` + `commit_feed`", bare),
        row("`manage.py poll_feed --once` (stored as `InboxEvent`)", poll),
        "",
        "| figure | measured | target | |",
        "| --- | --- | --- | --- |",
        f"| poller events/s ÷ bare events/s | **{r['ratio']:.2f}×** | ≥ 0.8× | {_mark(r['ratio'] >= 0.8)} |",
        "",
        f"`poll_feed --once` took {poll['wall_seconds']:.1f} s from spawn to exit (Django start-up included). "
        f"Items left in the feed afterwards: {poll['left']}. Jobs waiting in Redis afterwards (no worker ran): "
        f"{r['jobs_queued']}.",
    ]


def render(meta: dict, results: dict, failures: dict) -> str:
    lines = [
        START,
        "## Results",
        "",
        f"Run of {meta['date']} on a machine with `nproc` = {meta['nproc']}, Python {meta['python']}, "
        f"{meta['database']}; `{meta['command']}` took {meta['seconds']:.0f} s. Written by `python -m bench`.",
        "",
    ]
    for name, section in (("ingest", _ingest), ("throughput", _throughput), ("budget", _budget), ("feed", _feed)):
        if name in results:
            lines += [*section(results[name]), ""]
        elif name in failures:
            lines += [f"### {name}: did not complete", "", f"`{failures[name]}`", ""]
    lines.append(END)
    return "\n".join(lines)


def write_results(path: Path, meta: dict, results: dict, failures: dict, *, write: bool = True) -> str:
    text = render(meta, results, failures)
    if write:
        current = path.read_text() if path.exists() else "# Benchmarks\n"
        if START in current and END in current:
            before, rest = current.split(START, 1)
            after = rest.split(END, 1)[1]
            current = before + text + after
        else:
            current = current.rstrip("\n") + "\n\n" + text + "\n"
        path.write_text(current)
    return text
