"""bench.report: a run of some benchmarks (--only) rewrites their parts of docs/benchmarks.md and keeps the others."""

from __future__ import annotations

from bench.report import END, START, sections_of, write_results

LEGACY = f"""# Benchmarks

Intro that stays.

{START}
## Results

Run of 2026-11-23 21:03 UTC on a machine with `nproc` = 2, Python 3.11.7, SQLite; `make bench` took 239 s.

### 1. Webhook ingest (16 connections)

ingest text | 0.49×

### 2. Sync throughput (100 full orders, 4 workers)

throughput text

### budget: did not complete

`RuntimeError: boom`

### 4. Feed poller (999 feed events)

feed text
{END}

Trailer that stays.
"""

META = {
    "date": "2026-12-05 10:00 UTC",
    "nproc": 2,
    "python": "3.11.7",
    "seconds": 300.0,
    "database": "SQLite",
    "command": "make bench",
}


def memory(main: float, child: float) -> dict:
    return {
        "worker 1, main process": {"start_mb": main, "peak_mb": main, "count": 1},
        "worker 1, forked during the run": {"start_mb": None, "peak_mb": child, "count": 3},
    }


def size(orders: int, seconds: float, highest: float) -> dict:
    return {
        "orders": orders,
        "seed_seconds": 1.0,
        "state": "finished",
        "message": "",
        "counts": {"total": orders, "done": orders, "changed": orders},
        "seconds": seconds,
        "items_per_s": orders / seconds,
        "calls": {"vario": 2 * orders, "vtex": orders},
        "memory": memory(80.0, highest),
        "highest_mb": highest,
        "highest_of": "worker 1, a process it forked (pid 7)",
        "portal_mb": highest,
        "processes": 5,
        "resets_failed": 0,
        "cpu": {"sandbox": 1.0, "workers": 1.0},
    }


SCALE = {
    "orders": 10000,
    "base": 1000,
    "workers": 2,
    "small": size(1000, 25.0, 100.0),
    "large": size(10000, 260.0, 104.0),
    "time_ratio": 10.4,
    "size_ratio": 10.0,
    "memory_ratio": 1.04,
    "portal_ratio": 1.04,
    "highest_mb": 104.0,
}


def test_legacy_parts_are_found_with_the_run_that_wrote_them():
    found = sections_of(LEGACY.split(START)[1].split(END)[0])

    assert set(found) == {"ingest", "throughput", "budget", "feed"}
    ingest = "### 1. Webhook ingest (16 connections)\n\ningest text | 0.49×"
    assert found["ingest"] == ("run of 2026-11-23 21:03 UTC", ingest)
    assert found["budget"][1] == "### budget: did not complete\n\n`RuntimeError: boom`"
    assert found["feed"][1].endswith("feed text")


def test_a_partial_run_rewrites_its_part_and_keeps_the_others(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text(LEGACY)

    write_results(path, META, {"scale": SCALE}, {})

    text = path.read_text()
    assert text.startswith("# Benchmarks\n\nIntro that stays.\n") and text.endswith(f"{END}\n\nTrailer that stays.\n")
    assert "<!-- bench:section ingest | run of 2026-11-23 21:03 UTC -->\n### 1. Webhook ingest" in text
    assert "ingest text | 0.49×" in text and "throughput text" in text and "`RuntimeError: boom`" in text
    assert "<!-- bench:section scale | run of 2026-12-05 10:00 UTC -->\n### 6. Bulk scale" in text
    assert "| time(10000) ÷ time(1000) | **10.40×** (260.0 s ÷ 25.0 s) | ≤ 11× | met |" in text
    assert "| worker 1, forked during the run | 100.0 MB, 3 processes | 104.0 MB, 3 processes |" in text
    assert "| worker 1, main process | 80.0 MB (from 80.0) | 80.0 MB (from 80.0) |" in text
    kept = "Kept from earlier runs, as they wrote them (not run this time): ingest (run of 2026-11-23 21:03 UTC),"
    assert kept in text
    parts = [line.split(" | ")[0] for line in text.splitlines() if line.startswith("<!-- bench:section")]
    assert parts == [f"<!-- bench:section {n}" for n in ("ingest", "throughput", "budget", "feed", "scale")]


def test_a_second_partial_run_keeps_the_first_ones_part_and_replaces_its_own(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text(LEGACY)
    write_results(path, META, {"scale": SCALE}, {})

    later = {**META, "date": "2026-12-06 08:00 UTC"}
    write_results(path, later, {}, {"scale": "RuntimeError: no sandbox"})

    text = path.read_text()
    assert "### 6. Bulk scale" not in text
    assert "<!-- bench:section scale | run of 2026-12-06 08:00 UTC -->\n### scale: did not complete" in text
    assert "<!-- bench:section feed | run of 2026-11-23 21:03 UTC -->" in text and "feed text" in text
    assert text.count(START) == 1 and text.count(END) == 1


def test_no_write_leaves_the_page_alone(tmp_path):
    path = tmp_path / "benchmarks.md"
    path.write_text(LEGACY)

    shown = write_results(path, META, {"scale": SCALE}, {}, write=False)

    assert path.read_text() == LEGACY
    assert "### 6. Bulk scale" in shown and "ingest text" in shown
