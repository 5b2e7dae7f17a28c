from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mappings import selectors
from sync.clients.errors import AuthError, RemoteError
from sync.feed import feed_configure, hook_configure
from sync.remotes import NotConfigured


class Command(BaseCommand):
    help = "Set a sales channel's VTEX orders feed (or, with --hook, its hook) configuration; idempotent."

    def add_arguments(self, parser):
        parser.add_argument("channel", help="sales channel code")
        parser.add_argument("--hook", metavar="URL", help="configure the VTEX hook to call URL instead of the feed")

    def handle(self, *args, **options):
        channel = selectors.sales_channel_get(code=options["channel"])
        if channel is None:
            raise CommandError(f"No sales channel with code '{options['channel']}'.")
        try:
            if options.get("hook"):
                config = hook_configure(channel=channel, url=options["hook"])
                hook = config.get("hook") or {}
                statuses = ", ".join((config.get("filter") or {}).get("status") or [])
                self.stdout.write(f"hook of {channel.code} ({channel.vtex_account_name}): {hook.get('url')}")
                self.stdout.write(f"  statuses: {statuses}")
                self.stdout.write(f"  headers: {', '.join(sorted(hook.get('headers') or {}))} (values not shown)")
                self.stdout.write(
                    f"  recorded on the channel: the periodic check recreates it when VTEX deletes it "
                    f"(every {settings.VTEX_HOOK_CHECK_INTERVAL_SECONDS}s)"
                )
                return
            config = feed_configure(channel=channel)
        except AuthError as exc:
            raise CommandError(
                f"VTEX refused the credentials of channel {channel.code} ({exc.status}): check the app key and "
                "token, and that the key's role has 'Feed v3 and Hook Admin'."
            ) from None
        except (NotConfigured, RemoteError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"feed of {channel.code} ({channel.vtex_account_name}): {config.filter_type}")
        self.stdout.write(f"  statuses: {', '.join(config.statuses)}")
        self.stdout.write(f"  visibility timeout: {config.visibility_timeout}s, retention: {config.retention}s")
        self.stdout.write(f"  queued: {config.quantity}, oldest: {config.oldest_age_seconds:.0f}s")
