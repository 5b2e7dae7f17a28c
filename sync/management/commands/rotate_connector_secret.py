"""Replace a sales channel's connector secret, the path segment that authenticates VTEX's Channel Order
API notifications (reference/vtex.md §7; docs/operations.md "Rotating secrets"). Prints no secret."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mappings import selectors
from mappings.services import sales_channel_connector_secret_rotate


class Command(BaseCommand):
    help = (
        "Give a sales channel a new connector secret (the notification URL's secret path segment); the "
        "previous one stays valid for VTEX_CONNECTOR_SECRET_GRACE_SECONDS."
    )

    def add_arguments(self, parser):
        parser.add_argument("channel", help="the sales channel's code")

    def handle(self, *args, channel: str, **options):
        found = selectors.sales_channel_get(code=channel)
        if found is None:
            raise CommandError(f"no sales channel with code '{channel}'")
        rotated = sales_channel_connector_secret_rotate(channel=found)
        until = rotated.connector_secret_rotated_at + timedelta(seconds=settings.VTEX_CONNECTOR_SECRET_GRACE_SECONDS)
        self.stdout.write(
            f"connector secret of {rotated.code} rotated; the previous one is accepted until {until.isoformat()}. "
            "VTEX is given the new endpoint with the next Channel Order API status update."
        )
