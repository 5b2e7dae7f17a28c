from django.core.management.base import BaseCommand, CommandError

from sync.monitoring import feed_poll_staleness


class Command(BaseCommand):
    help = (
        "Print the feed poll state of every polling channel; exit 1 when any last successful poll is older "
        "than FEED_STALE_AFTER_SECONDS (for cron or Nagios-style monitoring)."
    )

    def handle(self, *args, **options):
        polls = feed_poll_staleness()
        if not polls:
            self.stdout.write("no channel polls the feed (none is active with order download on)")
            return
        for poll in polls:
            self.stdout.write(poll.describe())
        stale = [poll.channel_code for poll in polls if poll.stale]
        if stale:
            # CommandError: the message on stderr and exit status 1.
            raise CommandError(f"feed poll stale for {len(stale)} of {len(polls)} channel(s): {', '.join(stale)}")
