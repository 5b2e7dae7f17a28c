from django.core.management.base import BaseCommand, CommandError

from sync.clients.errors import RemoteError
from sync.registration import vario_webhooks_register
from sync.remotes import NotConfigured


class Command(BaseCommand):
    help = "Register the portal's webhooks with VARIO ERP (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", help="the portal's public base URL (default: PORTAL_WEBHOOK_BASE_URL)")

    def handle(self, *args, **options):
        try:
            registered = vario_webhooks_register(base_url=options.get("base_url"))
        except (NotConfigured, RemoteError) as exc:
            raise CommandError(str(exc)) from None
        for event, url in registered:
            self.stdout.write(f"registered {event} → {url}")
