"""Every kind of bulk run, by its key: the step dispatches through this table."""

from __future__ import annotations

from sync.bulk.initial import OrderStatusInitialSync
from sync.bulk.kinds import BulkKind

KINDS: dict[str, BulkKind] = {handler.kind: handler for handler in (OrderStatusInitialSync(),)}
