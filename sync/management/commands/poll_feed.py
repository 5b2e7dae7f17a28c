import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from sync.feed import feed_channels, feed_poll


class Command(BaseCommand):
    help = "Read the VTEX orders feed of every active channel with order download on, into the inbox."

    def add_arguments(self, parser):
        parser.add_argument("--channel", help="only this sales channel code")
        parser.add_argument("--once", action="store_true", help="read until no batch is full, then exit")

    def handle(self, *args, **options):
        code = options.get("channel")
        if code and code not in {channel.code for channel in feed_channels(channel_code=code)}:
            raise CommandError(
                f"Sales channel '{code}' does not exist, is inactive or has order download switched off: "
                "nothing to poll."
            )
        stop = threading.Event()

        def _stop(signum, frame):
            # Finish the batch under way (store + commit), then leave with status 0.
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        report = feed_poll(channel_code=options.get("channel"), once=options["once"], stop=stop)
        self.stdout.write(
            f"poll_feed stopped: {report.batches} batch(es), {report.retrieved} item(s), {report.new} new"
        )
