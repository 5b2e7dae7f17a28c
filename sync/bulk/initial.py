"""Order status initial sync: every ERP order of the channel in the scope through ``order_status_sync``.

For connecting a shop whose orders VARIO already holds, or after lost VARIO webhooks. The ERP orders
are read with VQL, a page at a time by ascending id (keyset paging: a resumed run asks for the ids
after its checkpoint, so orders created meanwhile neither shift nor repeat a page). Only customer
orders of this channel's VARIO sales channel that carry a VTEX order id are in scope
(reference/vario-erp.md §1.8, §4.5). A date range reads the document date, which is a day (in the
portal's time zone): since's day is included, until's only when the range ends after its midnight.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from mappings.models import SalesChannel
from sync.bulk.kinds import (
    BulkKind,
    Item,
    ItemResult,
    Page,
    Preview,
    Scope,
    ScopeInvalid,
    StepContext,
    dry_run_result,
    order_run_inline,
)
from sync.bulk.models import BulkRun
from sync.dry_run import order_status_dry_run
from sync.models import OrderSync
from sync.outbound import order_status_work
from sync.remotes import vario_client


def _days(scope: Scope) -> tuple[date | None, date | None]:
    """The scope's range as document days in the portal's time zone: until is excluded, so its day
    counts only when the range ends after its midnight."""
    first = timezone.localtime(scope.since).date() if scope.since else None
    last = timezone.localtime(scope.until - timedelta(microseconds=1)).date() if scope.until else None
    return first, last


def _vario_channel(channel: SalesChannel) -> str:
    if not channel.vario_sales_channel_id:
        raise ScopeInvalid(f"sales channel {channel.code} has no VARIO sales channel id to find its ERP orders by")
    return channel.vario_sales_channel_id


class OrderStatusInitialSync(BulkKind):
    kind = BulkRun.Kind.ORDER_STATUS_INITIAL
    scope_fields = ("since", "until", "erp_states", "ids")
    needs_range = True

    def preview(self, *, channel: SalesChannel, scope: Scope) -> Preview:
        vario_channel = _vario_channel(channel)
        if scope.ids:
            return Preview(len(scope.ids), "each id is looked up in VARIO; ids VARIO does not know are left out")
        first, last = _days(scope)
        vario = vario_client()
        try:
            count = vario.count_customer_orders(
                sales_channel_id=vario_channel, first_day=first, last_day=last, states=scope.erp_states
            )
        finally:
            vario.close()
        return Preview(count)

    def pages(self, run: BulkRun, *, start: Mapping[str, Any]) -> Iterator[Page]:
        scope, vario_channel, size = Scope.of(run.scope), _vario_channel(run.channel), settings.BULK_PAGE_SIZE
        vario = vario_client()
        try:
            if scope.ids:
                for offset in range(int(start.get("offset") or 0), len(scope.ids), size):
                    chunk = scope.ids[offset : offset + size]
                    refs = vario.find_customer_order_refs(sales_channel_id=vario_channel, ids=chunk)
                    yield Page(tuple(Item(erp_id, number) for erp_id, number in refs), {"offset": offset + size})
                return
            first, last = _days(scope)
            after = int(start.get("after_id") or 0)
            while refs := vario.customer_order_refs(
                sales_channel_id=vario_channel,
                first_day=first,
                last_day=last,
                states=scope.erp_states,
                after_id=after,
                limit=size,
            ):
                items = tuple(Item(erp_id, number, after={"after_id": int(erp_id)}) for erp_id, number in refs)
                after = max(int(erp_id) for erp_id, _ in refs)
                yield Page(items, {"after_id": after})
        finally:
            vario.close()

    def process(self, run: BulkRun, item: Item, context: StepContext) -> ItemResult:
        if run.dry_run:
            return dry_run_result(order_status_dry_run(channel=run.channel, erp_order_id=item.key, raise_waits=True))
        return order_run_inline(
            kind=OrderSync.Kind.STATUS,
            channel=run.channel,
            key=item.key,
            work=order_status_work,
            erp_order_id=item.key,
            erp_order_number=item.label,
        )
