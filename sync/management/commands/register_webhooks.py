from django.core.management.base import BaseCommand, CommandError

from sync.registration import RegistrationError, vario_webhooks_register
from sync.remotes import NotConfigured


class Command(BaseCommand):
    help = "Register the portal's webhooks with VARIO ERP (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", help="the portal's public base URL (default: PORTAL_WEBHOOK_BASE_URL)")
        parser.add_argument(
            "--replace-base-url",
            metavar="OLD_URL",
            help="the portal moved from OLD_URL: remove the registrations there once the new ones are in",
        )

    def handle(self, *args, **options):
        try:
            registered = vario_webhooks_register(
                base_url=options.get("base_url"), replace_base_url=options.get("replace_base_url")
            )
        except (NotConfigured, RegistrationError) as exc:
            raise CommandError(str(exc)) from None
        for event, url in registered:
            self.stdout.write(f"registered {event} → {url}")
        if options.get("replace_base_url"):
            self.stdout.write(f"removed the registrations at {options['replace_base_url']}")
