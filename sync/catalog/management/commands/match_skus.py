"""``manage.py match_skus <channel>``: match every listed VARIO article of a channel with its VTEX SKU (RefId,
then EAN) now, and say what matched; the first step of connecting a channel's catalog (docs/catalog.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from mappings import selectors
from sync.catalog.skus import sku_mappings_match
from sync.clients.errors import RemoteError
from sync.remotes import NotConfigured


class Command(BaseCommand):
    help = "Match every article a VARIO sales channel lists with its VTEX SKU (RefId = article number, then EAN)."

    def add_arguments(self, parser):
        parser.add_argument("channel", help="the portal channel's code")

    def handle(self, *args, channel: str, **options):
        found = selectors.sales_channel_get(code=channel)
        if found is None:
            raise CommandError(f"No sales channel with code {channel!r}.")
        try:
            report = sku_mappings_match(channel=found)
        except (RemoteError, NotConfigured) as exc:
            raise CommandError(f"Matching stopped: {exc}") from None
        counts = ", ".join(f"{status} {n}" for status, n in sorted(report.counts.items())) or "nothing"
        self.stdout.write(f"{report.listed} listed article(s) of {found.code}: {counts}.")
        if report.released:
            self.stdout.write(f"{report.released} parked stock or price item(s) released.")
