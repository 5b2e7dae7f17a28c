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
from datetime import timedelta
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
from sync.clients.vario import vql_literal
from sync.dry_run import order_status_dry_run
from sync.models import OrderSync
from sync.outbound import order_status_work
from sync.remotes import vario_client

CUSTOMER_ORDERS = "document.querySalesDocuments"


def _where(channel: SalesChannel, scope: Scope) -> str:
    """The VQL conditions of the scope (every value a quoted literal: nothing a person typed is code)."""
    if not channel.vario_sales_channel_id:
        raise ScopeInvalid(
            f"sales channel {channel.code} has no VARIO sales channel id: its ERP orders can not be told"
        )
    conditions = [
        "documentTypeCategory = 'CUSTOMER_ORDER'",
        f"salesChannel.id = {vql_literal(channel.vario_sales_channel_id)}",
        "custom.vtexportal.externalOrderId != null",
    ]
    if scope.since:
        conditions.append(f"documentDate >= {vql_literal(timezone.localtime(scope.since).date().isoformat())}")
    if scope.until:  # until is excluded: its day counts only when the range ends after its midnight
        last_day = timezone.localtime(scope.until - timedelta(microseconds=1)).date()
        conditions.append(f"documentDate <= {vql_literal(last_day.isoformat())}")
    if scope.erp_states:
        conditions.append(f"documentState.key IN ({', '.join(vql_literal(s) for s in scope.erp_states)})")
    return " AND ".join(conditions)


def _id_groups(ids: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """A list of ids names ERP document ids or order numbers: digits may be either, so they are looked
    for as both; anything else is an order number."""
    numeric = tuple(i for i in ids if i.isascii() and i.isdigit())
    return [(field, group) for field, group in (("id", numeric), ("number", ids)) if group]


class OrderStatusInitialSync(BulkKind):
    kind = BulkRun.Kind.ORDER_STATUS_INITIAL
    scope_fields = ("since", "until", "erp_states", "ids")
    needs_range = True

    def preview(self, *, channel: SalesChannel, scope: Scope) -> Preview:
        vario = vario_client()
        try:
            if scope.ids:
                return Preview(len(scope.ids), "each id is looked up in VARIO; ids VARIO does not know are left out")
            page = vario.execute_vql(f"SELECT COUNT(id) FROM {CUSTOMER_ORDERS} WHERE {_where(channel, scope)}", limit=1)
        finally:
            vario.close()
        count = next(iter(page.rows[0].values())) if page.rows else 0
        return Preview(int(count))

    def pages(self, run: BulkRun, *, start: Mapping[str, Any]) -> Iterator[Page]:
        scope, channel = Scope.of(run.scope), run.channel
        where, size = _where(channel, scope), settings.BULK_PAGE_SIZE
        vario = vario_client()
        try:
            if scope.ids:
                yield from self._id_pages(vario, where, scope.ids, start=int(start.get("offset") or 0), size=size)
                return
            after = int(start.get("after_id") or 0)
            while True:
                statement = f"SELECT id, number FROM {CUSTOMER_ORDERS} WHERE {where} AND id > {after} ORDER BY id"
                rows = vario.execute_vql(statement, limit=size).rows
                if not rows:
                    return
                after = max(int(row["id"]) for row in rows)
                items = tuple(
                    Item(str(row["id"]), str(row.get("number") or ""), after={"after_id": int(row["id"])})
                    for row in rows
                )
                yield Page(items, {"after_id": after})
        finally:
            vario.close()

    def _id_pages(self, vario, where: str, ids: tuple[str, ...], *, start: int, size: int) -> Iterator[Page]:
        for offset in range(start, len(ids), size):
            chunk, items = ids[offset : offset + size], {}
            for field, group in _id_groups(chunk):
                statement = (
                    f"SELECT id, number FROM {CUSTOMER_ORDERS} WHERE {where} "
                    f"AND {field} IN ({', '.join(vql_literal(i) for i in group)}) ORDER BY id"
                )
                for row in vario.execute_vql(statement, limit=len(group)).rows:
                    items[str(row["id"])] = Item(str(row["id"]), str(row.get("number") or ""))
            yield Page(tuple(items.values()), {"offset": offset + size})

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
