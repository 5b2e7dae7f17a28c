"""The results section of docs/benchmarks.md, rewritten by every run between two markers.

Each benchmark's part starts with a marker naming it and the run that wrote it. A run of some of the
benchmarks (``--only``) rewrites their parts and keeps the others as an earlier run wrote them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"
SECTION = re.compile(r"^<!-- bench:section (\w+) \| (.*?) -->$", re.MULTILINE)
# The headings of the parts written before the markers existed (the run's date was in the header).
LEGACY_HEADINGS = {
    "### 1. Webhook ingest": "ingest",
    "### 2. Sync throughput": "throughput",
    "### 3. VTEX budget": "budget",
    "### 4. Feed poller": "feed",
}
LEGACY_RUN = re.compile(r"^Run of (.+?) on a machine", re.MULTILINE)


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


def _counts(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if v)


def _backfill(r: dict) -> list[str]:
    base, busy = r["baseline"], r["during"]
    refused = sum(r["refused_429"].values())
    lane = r["limit"] / r["window"] * r["share"]
    rows = []
    for who, label in (
        ("backfill", f"backfill, per VTEX order in its range ({r['orders']})"),
        ("webhooks", f"webhooks, per delivered linked order ({base['webhooks'] + busy['webhooks']})"),
    ):
        x = r["per_order"][who]
        rows.append(f"| {label} | {x['vario']:.2f} | {x['vtex']:.2f} | {x['vario_token']:.2f} |")
    other = r["calls"].get("other", {})
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(r["vtex_statuses"].items()))
    return [
        f"### 5. Bulk backfill ({r['orders']} VTEX orders, {r['workers']} workers, VARIO {r['limit']} requests per "
        f"{r['window']:g} s, lane share {r['share']:g})",
        "",
        f"Sandbox: its seeded rate limits (VARIO {r['limit']} requests per {r['window']:g} s on `/api/vario/`, VTEX's "
        f"published per-route limits). Portal: its defaults (`VARIO_RATE=40/6`, `BULK_BUDGET_SHARE={r['share']:g}`), "
        f"`rqworker --with-scheduler default bulk` × {r['workers']}, gunicorn. The backfill is started with "
        f"`bulk_run_start` over the day the orders were created in (two days ago, no feed event). Meanwhile one "
        f"linked order is delivered in the ERP every {r['interval']:g} s and its webhooks released: {base['webhooks']} "
        f"before the run, {busy['webhooks']} during it.",
        "",
        "| figure | measured | target | |",
        "| --- | --- | --- | --- |",
        f"| time ÷ lower bound | **{r['ratio']:.2f}×** ({r['seconds']:.1f} s ÷ {r['lower_bound']:.1f} s = "
        f"{r['calls'].get('backfill', {}).get('vario', 0)} VARIO calls ÷ {lane:.2f}/s) | ≤ 1.15× "
        f"| {_mark(0 < r['ratio'] <= 1.15)} |",
        f"| 429s seen | **{refused}** (VARIO {r['refused_429']['vario']}, VTEX {r['refused_429']['vtex']}) | 0 "
        f"| {_mark(refused == 0)} |",
        f"| webhooks' p95 delay, during the run ÷ without it | **{r['delay_ratio']:.2f}×** ({busy['p95_s']:.2f} s ÷ "
        f"{base['p95_s']:.2f} s) | ≤ 2× | {_mark(0 < r['delay_ratio'] <= 2)} |",
        "",
        "Remote calls per order, from the sandbox's request log, each call given to the backfill or the webhooks by "
        "the order, delivery note or shipment ids it names (List orders and article look-ups: the backfill):",
        "",
        "| calls | VARIO API | VTEX | VARIO token (SSO, outside the budget) |",
        "| --- | --- | --- | --- |",
        *rows,
        "",
        f"Calls named by neither: {_counts(other) or 'none'}. Run: {r['run_state']}, {_counts(r['counts'])}"
        f"{'; ' + r['run_message'] if r['run_message'] else ''}. VTEX statuses of the backfill's orders at the end: "
        f"{statuses}; ERP orders linked by the run: {r['imported']}. The run's VARIO calls per second over its "
        f"time: {r['vario_rate_run']:.2f} (its share: {lane:.2f}); all VARIO calls while it ran: "
        f"{r['during_run']['vario']}, of them the run's {r['during_run']['vario_backfill']}. Webhook delay (first "
        f"webhook accepted → invoice accepted by VTEX), p50 / p95 / max: without the run {base['p50_s']:.2f} / "
        f"{base['p95_s']:.2f} / {base['max_s']:.2f} s ({base['measured']} of {base['webhooks']} invoiced); during "
        f"it {busy['p50_s']:.2f} / {busy['p95_s']:.2f} / {busy['max_s']:.2f} s ({busy['measured']} of "
        f"{busy['webhooks']} invoiced).",
    ]


def _scale_rows(small: dict, large: dict) -> list[str]:
    def cell(row: dict | None) -> str:
        if not row:
            return "—"
        start = f" (from {row['start_mb']:.1f})" if row["start_mb"] is not None else ""
        count = f", {row['count']} processes" if row["count"] > 1 else ""
        return f"{row['peak_mb']:.1f} MB{start}{count}"

    return [
        f"| {label} | {cell(small['memory'].get(label))} | {cell(large['memory'].get(label))} |"
        for label in sorted(set(small["memory"]) | set(large["memory"]))
    ]


def _scale(r: dict) -> list[str]:
    small, large = r["small"], r["large"]

    def per_item(x: dict, role: str) -> str:
        return f"{x['cpu'].get(role, 0) * 1000 / max(1, x['counts']['done']):.1f} ms"

    def calls(x: dict) -> str:
        done = max(1, x["counts"]["done"])
        return f"{x['calls'].get('vario', 0) / done:.2f} VARIO, {x['calls'].get('vtex', 0) / done:.2f} VTEX"

    return [
        f"### 6. Bulk scale (reconciliation dry run over {large['orders']} linked orders against {small['orders']}, "
        f"{r['workers']} workers)",
        "",
        "Sandbox rate limits removed; workers with `VARIO_RATE` and `VTEX_DEFAULT_RATE` at `1000000/1`; no web "
        "process. Each size on an emptied database and a freshly started sandbox, seeded in chunks of 1,000 through "
        "the control APIs (`POST /_sim/vtex/orders/bulk`, `POST /_sim/vario/orders/bulk`) and `OrderLink` "
        "`bulk_create`; fresh workers. Peak RSS: `VmHWM` of every process of the sandbox, the workers (with every "
        "process they fork) and Redis, reset when the run starts and sampled every 0.1 s until it ends.",
        "",
        "| figure | measured | target | |",
        "| --- | --- | --- | --- |",
        f"| highest peak RSS of any process | **{small['highest_mb']:.1f} MB** / **{large['highest_mb']:.1f} MB** "
        f"({large['highest_of']}) | ≤ 200 MB | {_mark(r['highest_mb'] <= 200)} |",
        f"| its peak, {large['orders']} ÷ {small['orders']} orders | **{r['memory_ratio']:.3f}×** | ≤ 1.10× "
        f"| {_mark(0 < r['memory_ratio'] <= 1.10)} |",
        f"| time({large['orders']}) ÷ time({small['orders']}) | **{r['time_ratio']:.2f}×** ({large['seconds']:.1f} s "
        f"÷ {small['seconds']:.1f} s) | ≤ 11× | {_mark(0 < r['time_ratio'] <= 11)} |",
        "",
        f"| process: peak RSS (RSS when the run started) | {small['orders']} orders | {large['orders']} orders |",
        "| --- | --- | --- |",
        *_scale_rows(small, large),
        "",
        f"The portal's own processes alone (the workers and every process they fork): highest peak "
        f"{small['portal_mb']:.1f} MB and {large['portal_mb']:.1f} MB, {r['portal_ratio']:.3f}×.",
        "",
        f"Runs: {small['state']}, {_counts(small['counts'])}; {large['state']}, {_counts(large['counts'])}. Items "
        f"by the kinds of difference found: {_counts(small.get('differences', {}))}; "
        f"{_counts(large.get('differences', {}))} (VTEX still shows ready-for-handling for a confirmed ERP order; "
        f"an item with a difference is written). Items/s: {small['items_per_s']:.1f} and "
        f"{large['items_per_s']:.1f}. Calls per item: {calls(small)}; {calls(large)}. CPU per item, sandbox / "
        f"workers: {per_item(small, 'sandbox')} / "
        f"{per_item(small, 'workers')} and {per_item(large, 'sandbox')} / {per_item(large, 'workers')}. Seeding "
        f"took {small['seed_seconds']:.1f} s and {large['seed_seconds']:.1f} s (not measured).",
    ]


SECTIONS = (
    ("ingest", _ingest),
    ("throughput", _throughput),
    ("budget", _budget),
    ("feed", _feed),
    ("backfill", _backfill),
    ("scale", _scale),
)


def sections_of(results_text: str) -> dict[str, tuple[str, str]]:
    """name → (the run that wrote it, its text) of each part of a results section written earlier."""
    found: dict[str, tuple[str, str]] = {}
    marks = list(SECTION.finditer(results_text))
    if marks:
        for mark, following in zip(marks, [*marks[1:], None], strict=True):
            end = following.start() if following else len(results_text)
            found[mark.group(1)] = (mark.group(2), results_text[mark.end() : end].strip("\n"))
        return found
    legacy = LEGACY_RUN.search(results_text)
    when = f"run of {legacy.group(1)}" if legacy else "an earlier run"
    name, lines = None, []
    for line in [*results_text.splitlines(), "### end"]:
        if line.startswith("### "):
            if name:
                found[name] = (when, "\n".join(lines).strip("\n"))
            name = next((n for prefix, n in LEGACY_HEADINGS.items() if line.startswith(prefix)), None)
            if name is None and line.endswith(": did not complete"):
                name = line[4:].split(":", 1)[0]
            lines = []
        if name:
            lines.append(line)
    return found


def render(meta: dict, results: dict, failures: dict, kept: dict[str, tuple[str, str]] | None = None) -> str:
    """The results section: this run's parts, and ``kept`` parts of benchmarks it did not run."""
    kept = kept or {}
    this_run = f"run of {meta['date']}"
    lines = [
        START,
        "## Results",
        "",
        f"Run of {meta['date']} on a machine with `nproc` = {meta['nproc']}, Python {meta['python']}, "
        f"{meta['database']}; `{meta['command']}` took {meta['seconds']:.0f} s. Written by `python -m bench`.",
        "",
    ]
    olds = [name for name, _ in SECTIONS if name in kept and name not in results and name not in failures]
    if olds:
        lines += [
            "Kept from earlier runs, as they wrote them (not run this time): "
            + ", ".join(f"{name} ({kept[name][0]})" for name in olds)
            + ".",
            "",
        ]
    for name, section in SECTIONS:
        if name in results:
            lines += [f"<!-- bench:section {name} | {this_run} -->", *section(results[name]), ""]
        elif name in failures:
            lines += [f"<!-- bench:section {name} | {this_run} -->", f"### {name}: did not complete", ""]
            lines += [f"`{failures[name]}`", ""]
        elif name in olds:
            lines += [f"<!-- bench:section {name} | {kept[name][0]} -->", kept[name][1], ""]
    lines.append(END)
    return "\n".join(lines)


def write_results(path: Path, meta: dict, results: dict, failures: dict, *, write: bool = True) -> str:
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    has_section = START in current and END in current
    kept = sections_of(current.split(START, 1)[1].split(END, 1)[0]) if has_section else {}
    text = render(meta, results, failures, kept)
    if write:
        if has_section:
            before, rest = current.split(START, 1)
            after = rest.split(END, 1)[1]
            current = before + text + after
        else:
            current = current.rstrip("\n") + "\n\n" + text + "\n"
        path.write_text(current)
    return text
