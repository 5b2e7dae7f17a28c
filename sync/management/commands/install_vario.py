from django.core.management.base import BaseCommand, CommandError

from sync.registration import RegistrationError, vario_custom_fields_install, vario_webhooks_register
from sync.remotes import NotConfigured


class Command(BaseCommand):
    help = (
        "Install the portal in the VARIO tenant (idempotent): its custom-field group 'vtexportal', which the "
        "order import writes and its lookups read, then its webhooks (as register_webhooks)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", help="the portal's public base URL (default: PORTAL_WEBHOOK_BASE_URL)")

    def handle(self, *args, **options):
        try:
            fields = vario_custom_fields_install()
            self.stdout.write(f"custom-field group vtexportal: {fields}")
            for event, url in vario_webhooks_register(base_url=options.get("base_url")):
                self.stdout.write(f"registered {event} → {url}")
        except (NotConfigured, RegistrationError) as exc:
            raise CommandError(str(exc)) from None
