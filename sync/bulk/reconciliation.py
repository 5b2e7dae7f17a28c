"""Reconciliation: for each order link in the scope, compare ERP and VTEX and record each difference.

The comparison is ``sync.bulk.reconcile.order_link_reconcile`` (what a difference of each kind means:
docs/operations.md, "What a reconciliation report means"). A real run repairs every order with a
repairable difference by running the normal sync for it, here, in the bulk lane; a dry run reports,
with the calls that repair would send, and a person repairs from the run's page, one order or every
difference of a kind. The links are read from the portal's database a page at a time by id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, replace
from typing import Any

from django.conf import settings

from mappings import selectors
from mappings.models import OrderLink, SalesChannel
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
from sync.bulk.reconcile import order_link_reconcile
from sync.clients.http import reads_cached
from sync.dry_run import order_status_dry_run
from sync.models import OrderSync
from sync.outbound import order_status_work
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
            items = tuple(Item(str(link.pk), _label(link), link, after={"after_id": link.pk}) for link in links)
            yield Page(items, {"after_id": after})

    def process(self, run: BulkRun, item: Item, context: StepContext) -> ItemResult:
        # The comparison, and then the repair or its dry run, read the same documents: each once.
        with reads_cached():
            return self._reconciled(run, item.data, context)

    def _reconciled(self, run: BulkRun, link: OrderLink, context: StepContext) -> ItemResult:
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
        titles = "; ".join(d.title for d in found.differences)
        if not any(d.repairable for d in found.differences):
            return ItemResult(BulkRunItem.Outcome.CHANGED, titles, differences=differences, order_link_id=link.pk)
        if run.dry_run:  # what the repair would send, exactly (sync.dry_run)
            dry = order_status_dry_run(channel=run.channel, erp_order_id=link.erp_order_id, raise_waits=True)
            return replace(dry_run_result(dry), detail=titles, differences=differences, order_link_id=link.pk)
        # The repair is the normal sync, run here in the bulk lane (not queued: a report with thousands
        # of differences would otherwise go ahead of the webhooks at the full budget).
        repaired = order_run_inline(
            kind=OrderSync.Kind.STATUS,
            channel=run.channel,
            key=link.erp_order_id,
            work=order_status_work,
            erp_order_id=link.erp_order_id,
            vtex_order_id=link.vtex_order_id,
            note=f"Repair requested by bulk run #{run.pk} after reconciliation",
        )
        detail = f"{titles}. Repair: {repaired.detail or repaired.outcome}"
        return replace(repaired, detail=detail, differences=differences, order_link_id=link.pk, repaired=True)


def _label(link: OrderLink) -> str:
    return f"{link.vtex_order_id} ⇄ {link.erp_order_number or link.erp_order_id}"
