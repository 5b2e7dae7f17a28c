"""Every kind of bulk run, by its key: the step dispatches through this table."""

from __future__ import annotations

from sync.bulk.backfill import OrderBackfill
from sync.bulk.catalog import CatalogReconciliation, PriceInitialSync, StockInitialSync
from sync.bulk.initial import OrderStatusInitialSync
from sync.bulk.kinds import BulkKind
from sync.bulk.reconciliation import Reconciliation

KINDS: dict[str, BulkKind] = {
    handler.kind: handler
    for handler in (
        OrderStatusInitialSync(),
        OrderBackfill(),
        Reconciliation(),
        StockInitialSync(),
        PriceInitialSync(),
        CatalogReconciliation(),
    )
}
