"""Order backfill: the VTEX orders of a range that the portal has no order link for, through ``order_import``.

For recovering after an outage longer than the feed keeps its events (reference/vtex.md §1.6: four
days), or for connecting a shop: VTEX's List orders is read in creation order, sliced so that no slice
needs more than the 30 pages VTEX serves (``sync.bulk.vtex_scan``); a slice that still overflows is
read as far as VTEX allows and the run says which range was cut off. Orders already linked are
skipped without a call; the others go through the normal import, which imports each order exactly
once and leaves alone what it must not import (not yet paid, already invoiced, cancelled).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from mappings import selectors
from mappings.models import SalesChannel
from sync.bulk.kinds import (
    BulkKind,
    Item,
    ItemResult,
    Page,
    Preview,
    Scope,
    StepContext,
    dry_run_result,
    order_run_inline,
)
from sync.bulk.models import BulkRun, BulkRunItem
from sync.bulk.vtex_scan import vtex_orders_scan
from sync.clients.dtos import VtexOrderSummary
from sync.clients.vtex import MAX_LIST_PER_PAGE
from sync.dry_run import order_import_dry_run
from sync.inbound import order_import_work
from sync.models import OrderSync
from sync.remotes import vtex_client_for

INDEX_DELAY = timedelta(minutes=5)  # List orders depends on indexing, about 4 minutes behind (reference/vtex.md §1.6)


class OrderBackfill(BulkKind):
    kind = BulkRun.Kind.ORDER_BACKFILL
    scope_fields = ("since", "until", "vtex_statuses", "ids")
    needs_range = True

    def preview(self, *, channel: SalesChannel, scope: Scope) -> Preview:
        if scope.ids:
            known = selectors.order_links_known(channel=channel, vtex_order_ids=list(scope.ids))
            return Preview(len(scope.ids), f"{len(known)} of them already linked: they are skipped")
        vtex = vtex_client_for(channel)
        try:
            listed = vtex.list_orders(creation_from=scope.since, creation_to=scope.until, per_page=1)
        finally:
            vtex.close()
        note = "VTEX orders in the range; those already linked (or of other statuses) are skipped without a call"
        if scope.until and scope.until > timezone.now() - INDEX_DELAY:
            note += "; VTEX lists an order about 4 minutes after it is created: the feed brings the newest ones"
        return Preview(listed.total, note)

    def pages(self, run: BulkRun, *, start: Mapping[str, Any]) -> Iterator[Page]:
        scope, channel = Scope.of(run.scope), run.channel
        if scope.ids:
            yield from self._id_pages(channel, scope.ids, start=int(start.get("offset") or 0))
            return
        vtex = vtex_client_for(channel)
        try:
            # Listed by creation date only, the statuses filtered here: with f_status, every import (its
            # start-handling moves the order out of ready-for-handling) would shift the later pages of the
            # same query, and orders would be skipped. A closed range of creation dates stays put.
            for page in vtex_orders_scan(
                vtex,
                since=scope.since,
                until=scope.until,
                checkpoint=start or None,
                per_page=min(settings.BULK_PAGE_SIZE, MAX_LIST_PER_PAGE),
            ):
                ids = [order.order_id for order in page.orders]
                linked = selectors.order_links_known(channel=channel, vtex_order_ids=ids)
                wanted = set(scope.vtex_statuses)
                items = tuple(
                    Item(order.order_id, order.order_id, _why_skipped(order, linked=linked, wanted=wanted))
                    for order in page.orders
                )
                yield Page(items, page.checkpoint, note=page.overflow)
        finally:
            vtex.close()

    def _id_pages(self, channel: SalesChannel, ids: tuple[str, ...], *, start: int) -> Iterator[Page]:
        size = settings.BULK_PAGE_SIZE
        for offset in range(start, len(ids), size):
            chunk = list(ids[offset : offset + size])
            linked = selectors.order_links_known(channel=channel, vtex_order_ids=chunk)
            items = tuple(Item(i, i, "already linked to an ERP order" if i in linked else None) for i in chunk)
            yield Page(items, {"offset": offset + size})

    def process(self, run: BulkRun, item: Item, context: StepContext) -> ItemResult:
        if item.data:  # why it is left alone, found while listing: no call
            return ItemResult(BulkRunItem.Outcome.SKIPPED, item.data)
        if run.dry_run:
            return dry_run_result(order_import_dry_run(channel=run.channel, vtex_order_id=item.key, raise_waits=True))
        return order_run_inline(
            kind=OrderSync.Kind.IMPORT,
            channel=run.channel,
            key=item.key,
            work=order_import_work,
            vtex_order_id=item.key,
        )


def _why_skipped(order: VtexOrderSummary, *, linked: set[str], wanted: set[str]) -> str | None:
    if order.order_id in linked:
        return "already linked to an ERP order"
    if wanted and order.status not in wanted:
        return f"VTEX status {order.status} is not in the run's statuses"
    return None
