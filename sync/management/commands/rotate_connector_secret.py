"""Replace a sales channel's connector secret, the path segment that authenticates VTEX's Channel Order
API notifications (reference/vtex.md §7; docs/operations.md "Rotating secrets"). Prints no secret."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mappings import selectors
from mappings.services import sales_channel_connector_secret_rotate


class Command(BaseCommand):
    help = (
        "Give a sales channel a new connector secret (the notification URL's secret path segment). The previous "
        "one stays valid for --grace-seconds (default VTEX_CONNECTOR_SECRET_GRACE_SECONDS), so results VTEX "
        "queued for the old URL still land; --revoke-previous ends it at once (a secret that leaked)."
    )

    def add_arguments(self, parser):
        parser.add_argument("channel", help="the sales channel's code")
        previous = parser.add_mutually_exclusive_group()
        previous.add_argument(
            "--grace-seconds",
            type=int,
            metavar="N",
            help="seconds the previous secret stays valid (default: VTEX_CONNECTOR_SECRET_GRACE_SECONDS)",
        )
        previous.add_argument(
            "--revoke-previous",
            action="store_true",
            help="the previous secret stops working at once; VTEX's results for the old URL are refused (404)",
        )

    def handle(self, *args, channel: str, grace_seconds: int | None, revoke_previous: bool, **options):
        found = selectors.sales_channel_get(code=channel)
        if found is None:
            raise CommandError(f"no sales channel with code '{channel}'")
        if grace_seconds is not None and grace_seconds < 0:
            raise CommandError("--grace-seconds must be 0 or more (0: the same as --revoke-previous)")
        if revoke_previous:
            grace_seconds = 0
        elif grace_seconds is None:
            grace_seconds = settings.VTEX_CONNECTOR_SECRET_GRACE_SECONDS
        rotated = sales_channel_connector_secret_rotate(channel=found, grace_seconds=grace_seconds)
        until = rotated.connector_secret_previous_valid_until
        previous = (
            f"the previous one is accepted until {until.isoformat()}"
            if until is not None
            else "the previous one no longer works"
        )
        self.stdout.write(
            f"connector secret of {rotated.code} rotated; {previous}. "
            "VTEX is given the new endpoint with the next Channel Order API status update."
        )
