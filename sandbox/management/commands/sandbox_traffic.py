"""Drive a running sandbox with a realistic stream of orders and ERP follow-ups (demo, benchmarks)."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox.traffic import DEMO_ACCOUNT, TrafficError, traffic_run

DEFAULT_DURATION = 3600.0


class Command(BaseCommand):
    help = (
        "Customers order in the VTEX simulator; each order is mirrored into the VARIO simulator and then "
        "picked, shipped in one or several parcels, tracked (sometimes late), cancelled, closed or returned. "
        "Talks to a running sandbox (run_sandbox) over its /_sim/ control API only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--url", default=None, help="sandbox base URL (default: settings.SANDBOX_URL)")
        parser.add_argument("--rate", type=float, default=6.0, help="orders per minute, on average (default 6)")
        parser.add_argument("--count", type=int, default=None, help="stop after this many orders and their follow-ups")
        parser.add_argument(
            "--duration",
            type=float,
            default=None,
            help=f"stop after this many seconds (default {DEFAULT_DURATION:g} when --count is not given either)",
        )
        parser.add_argument("--seed", default=None, help="same seed, same orders and actions (default: random)")
        parser.add_argument(
            "--speed", type=float, default=1.0, help="divide the delays between an order and its follow-ups by this"
        )
        parser.add_argument("--account", default=DEMO_ACCOUNT, help="VTEX accountName or appKey (default: demo)")
        parser.add_argument(
            "--no-erp-mirror",
            action="store_true",
            help="do not create the ERP orders (the portal's import does); follow-ups wait for them",
        )

    def handle(self, *args, **options):
        duration = options["duration"]
        if duration is None and options["count"] is None:
            duration = DEFAULT_DURATION
        stop = threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, lambda *_: stop.set())
        try:
            traffic_run(
                url=options["url"] or settings.SANDBOX_URL,
                rate_per_minute=options["rate"],
                count=options["count"],
                duration=duration,
                seed=options["seed"],
                speed=options["speed"],
                account=options["account"],
                erp_mirror=not options["no_erp_mirror"],
                emit=self._emit,
                stop=stop,
            )
        except TrafficError as exc:
            raise CommandError(str(exc)) from exc
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _emit(self, line: str) -> None:
        self.stdout.write(line)
        # Piped into a log or `make run`, lines should appear as they happen, not in blocks.
        self.stdout.flush()
