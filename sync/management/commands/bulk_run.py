"""Start a bulk run from the terminal: the same service as the admin's "Start a bulk run…" (sync.bulk).

    python manage.py bulk_run shop order_backfill --since 2026-11-01 --until 2026-11-08 --dry-run --wait

The workers run it (the ``bulk`` queue); ``--wait`` follows it to its end with a progress bar and exits
non-zero when it failed or was cancelled.
"""

from __future__ import annotations

import argparse
import getpass
import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from mappings import selectors
from sync.bulk.kinds import ScopeInvalid
from sync.bulk.models import BulkRun
from sync.bulk.registry import KINDS
from sync.bulk.services import BulkRunRefused, bulk_run_preview, bulk_run_start
from sync.clients.errors import RemoteError
from sync.remotes import NotConfigured

ENDED = (BulkRun.State.FINISHED, BulkRun.State.FAILED, BulkRun.State.CANCELLED)


class Command(BaseCommand):
    help = "Start a bulk run (initial sync, backfill, reconciliation) on one sales channel."

    def add_arguments(self, parser):
        parser.add_argument("channel", help="the sales channel's code")
        parser.add_argument("kind", choices=sorted(KINDS), help="what to run")
        parser.add_argument("--since", help="start of the range (a date or ISO date-time)")
        parser.add_argument("--until", help="end of the range, excluded (default: now)")
        parser.add_argument("--erp-states", default="", help="ERP states, comma-separated")
        parser.add_argument("--vtex-statuses", default="", help="VTEX statuses, comma-separated")
        parser.add_argument("--ids", default="", help="order ids, comma-separated, instead of a range")
        parser.add_argument(
            "--force", action="store_true", help="stock/price initial sync: send even what VTEX was last told"
        )
        parser.add_argument("--dry-run", action="store_true", help="read both sides, record what would be sent")
        parser.add_argument("--wait", action="store_true", help="follow the run to its end with a progress bar")
        parser.add_argument("--poll-seconds", type=float, default=1.0, help=argparse.SUPPRESS)

    def handle(self, *args, **options):
        channel = selectors.sales_channel_get(code=options["channel"])
        if channel is None:
            raise CommandError(f"No sales channel {options['channel']!r}.")
        kind = options["kind"]
        scope = {
            name: options[option]
            for name, option in (
                ("since", "since"),
                ("until", "until"),
                ("erp_states", "erp_states"),
                ("vtex_statuses", "vtex_statuses"),
                ("ids", "ids"),
            )
            if options[option] and name in KINDS[kind].scope_fields
        }
        if options["force"]:
            scope["force"] = True  # the kind refuses it when it does not read it
        ignored = [o for o in ("erp_states", "vtex_statuses") if options[o] and o not in KINDS[kind].scope_fields]
        if ignored:
            raise CommandError(f"{kind} does not read --{ignored[0].replace('_', '-')}.")
        try:
            preview = bulk_run_preview(channel=channel, kind=kind, scope=scope)
            self.stdout.write(
                f"{BulkRun.Kind(kind).label} on {channel.code}: about {preview.count} item(s)"
                + (f" ({preview.note})" if preview.note else "")
            )
        except ScopeInvalid as exc:
            raise CommandError(str(exc)) from None
        except (RemoteError, NotConfigured) as exc:
            self.stderr.write(f"Could not count the scope ({exc}); starting anyway.")
        try:
            run = bulk_run_start(
                channel=channel,
                kind=kind,
                scope=scope,
                dry_run=options["dry_run"],
                started_by=f"cli:{getpass.getuser()}",
            )
        except (ScopeInvalid, BulkRunRefused) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Started bulk run #{run.pk}{' (dry run)' if run.dry_run else ''}.")
        if options["wait"]:
            self._follow(run, poll=options["poll_seconds"])

    def _follow(self, run: BulkRun, *, poll: float) -> None:
        bar = tqdm(total=run.total, unit="order", desc=f"run #{run.pk}", file=self.stdout._out, dynamic_ncols=True)
        try:
            while True:
                run.refresh_from_db()
                if run.total is not None and bar.total != run.total:
                    bar.total = run.total
                bar.update(run.done - bar.n)
                bar.set_postfix(changed=run.changed, failed=run.failed, state=run.state, refresh=False)
                if run.state in ENDED:
                    break
                time.sleep(poll)
        except KeyboardInterrupt:
            bar.close()
            self.stdout.write(f"Stopped watching; run #{run.pk} goes on ({run.state}).")
            return
        bar.close()
        self.stdout.write(
            f"Run #{run.pk} {run.state}: {run.done} done, {run.changed} changed, {run.unchanged} unchanged, "
            f"{run.failed} failed, {run.skipped} skipped, {run.deferred} deferred."
        )
        if run.message:
            self.stdout.write(run.message)
        if run.state != BulkRun.State.FINISHED:
            raise CommandError(f"Run #{run.pk} {run.state}.")
