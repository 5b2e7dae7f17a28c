"""Reconciliation: for each order link in the scope, compare ERP and VTEX and record each difference.

The comparison is ``sync.bulk.reconcile.order_link_reconcile`` (what a difference of each kind means:
docs/operations.md, "What a reconciliation report means"). A real run asks the normal sync to repair
every order with a repairable difference (``order_differences_repair``: the sync's own queue and
lane); a dry run only reports, and a person repairs from the run's page, one order or every
difference of a kind. The links are read from the portal's database a page at a time by id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict
from typing import Any

from django.conf import settings

from mappings import selectors
from mappings.models import OrderLink, SalesChannel
from sync.bulk.kinds import BulkKind, Item, ItemResult, Page, Preview, Scope, StepContext
from sync.bulk.models import BulkRun, BulkRunItem
from sync.bulk.reconcile import order_differences_repair, order_link_reconcile
from sync.remotes import vario_client, vtex_client_for


class Reconciliation(BulkKind):
    kind = BulkRun.Kind.RECONCILIATION
    scope_fields = ("since", "until", "ids")

    def preview(self, *, channel: SalesChannel, scope: Scope) -> Preview:
        count = selectors.order_links_count(channel=channel, since=scope.since, until=scope.until, ids=list(scope.ids))
        return Preview(count, "linked orders, by when the link was made")

    def pages(self, run: BulkRun, *, start: Mapping[str, Any]) -> Iterator[Page]:
        scope, after = Scope.of(run.scope), int(start.get("after_id") or 0)
        while True:
            links = selectors.order_links_page(
                channel=run.channel,
                after_id=after,
                limit=settings.BULK_PAGE_SIZE,
                since=scope.since,
                until=scope.until,
                ids=list(scope.ids),
            )
            if not links:
                return
            after = links[-1].pk
            yield Page(tuple(Item(str(link.pk), _label(link), link) for link in links), {"after_id": after})

    def process(self, run: BulkRun, item: Item, context: StepContext) -> ItemResult:
        link: OrderLink = item.data
        clients = context.clients
        if "vario" not in clients:
            clients["vario"] = vario_client()
        if "vtex" not in clients:
            clients["vtex"] = vtex_client_for(run.channel)
        found = order_link_reconcile(order_link=link, vario=clients["vario"], vtex=clients["vtex"])
        if found.problem:
            return ItemResult(BulkRunItem.Outcome.FAILED, found.problem, order_link_id=link.pk)
        if not found.differences:
            return ItemResult(BulkRunItem.Outcome.UNCHANGED, order_link_id=link.pk)
        differences = tuple(asdict(d) for d in found.differences)
        repair = not run.dry_run and any(d.repairable for d in found.differences)
        if repair:
            order_differences_repair(order_link=link, actor=f"bulk run #{run.pk}")
        titles = "; ".join(d.title for d in found.differences)
        detail = f"{titles} (repair requested)" if repair else titles
        return ItemResult(
            BulkRunItem.Outcome.CHANGED, detail, differences=differences, order_link_id=link.pk, repaired=repair
        )


def _label(link: OrderLink) -> str:
    return f"{link.vtex_order_id} ⇄ {link.erp_order_number or link.erp_order_id}"
