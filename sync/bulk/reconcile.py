"""Reconciliation of one linked order: read both sides as the sync reads them, compare, and repair.

The read is the sync's own (``sync.outbound.order_status_read``, steps 1 and 2 of a run), so a
reconciliation sees the order exactly as a run would; the comparison is ``sync.bulk.compare``; a
repair is the normal sync for the order (``sync.runner.order_sync_request``), never a copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db import transaction

from mappings import selectors
from mappings.models import OrderLink, SalesChannel, SyncType
from sync.bulk.compare import Difference, order_differences
from sync.clients.errors import AuthError, RemoteError, RetryableError
from sync.clients.vario import VarioClient
from sync.clients.vtex import VtexClient
from sync.dry_run import order_sync_unsaved_copy
from sync.models import OrderSync, TimelineEntry
from sync.outbound import OrderStatusRead, order_status_read
from sync.runner import order_sync_request
from sync.timeline import timeline_add


@dataclass(frozen=True)
class Reconciled:
    """One order's reconciliation: its differences, or why it could not be compared (``problem``)."""

    differences: tuple[Difference, ...]
    problem: str = ""


def order_link_reconcile(*, order_link: OrderLink, vario: VarioClient, vtex: VtexClient) -> Reconciled:
    """Compare one linked order's ERP and VTEX sides; write nothing to either remote.

    1. The order's status sync as it stands (the ERP ids its events named, a dissolve seen, the requests
       VTEX has not applied yet), or an unsaved one for an order no event reached. Never saved.
    2. Read both sides through the channel's mappings (``order_status_read``). Parked (a mapping
       missing), failed, or a remote's 4xx for this order: that is the problem, nothing is compared.
       A temporary error (``RetryableError``) and refused credentials (``AuthError``: every order of the
       channel would fail alike) are raised for the caller's run to handle.
    3. Compare the ERP facts with the VTEX order as read (``order_differences``).
    4. A channel that does not sync order statuses (inactive, or its toggle off) gets no repair: no
       difference is repairable then.
    """
    if not order_link.erp_order_id:
        return Reconciled((), f"Order link {order_link.vtex_order_id} has no ERP order yet: nothing to compare.")
    channel = order_link.channel
    enabled = selectors.transfers_enabled(channel=channel)
    sync = _status_sync_of(order_link)  # 1.
    try:
        read = order_status_read(sync, vario=vario, vtex=vtex, enabled=enabled)  # 2.
    except (RetryableError, AuthError):
        raise
    except RemoteError as exc:  # a 4xx for this order (NotFound, Rejected), or a body the client cannot read
        return Reconciled((), f"Could not read the order: {exc}")
    if not isinstance(read, OrderStatusRead):
        return Reconciled((), read.message)
    if read.vtex_order.order_id != order_link.vtex_order_id:
        return Reconciled(
            (),
            f"ERP order {sync.erp_order_number or order_link.erp_order_id} names VTEX order "
            f"{read.vtex_order.order_id}, the order link {order_link.vtex_order_id}: check which is right.",
        )
    facts = replace(read.erp.facts, vtex_order=read.vtex_order)
    differences = order_differences(facts, platform_status=read.erp.platform_status)  # 3.
    if off := _no_repair(channel, enabled=enabled):  # 4.
        differences = [
            replace(d, repairable=False, title=f"{d.title}. {off}") if d.repairable else d for d in differences
        ]
    return Reconciled(tuple(differences))


def order_differences_repair(*, order_link: OrderLink, actor: str) -> OrderSync:
    """Run the normal sync for one reconciled order, noted on its timeline.

    1. Request the order's status sync, as an event would (``order_sync_request``).
    2. Note on the order's timeline who asked for the repair. Both in one transaction: the work is
       enqueued once they are committed, so the note comes before the run's own entries.
    """
    if not order_link.erp_order_id:
        raise ValueError(f"Order link {order_link.vtex_order_id} has no ERP order: there is nothing to repair from")
    with transaction.atomic():
        sync = order_sync_request(  # 1.
            kind=OrderSync.Kind.STATUS,
            channel=order_link.channel,
            key=order_link.erp_order_id,
            erp_order_id=order_link.erp_order_id,
            vtex_order_id=order_link.vtex_order_id,
        )
        timeline_add(  # 2.
            order_sync=sync,
            kind=TimelineEntry.Kind.OPERATOR,
            title=f"Repair requested by {actor} after reconciliation",
        )
    return sync


def _status_sync_of(order_link: OrderLink) -> OrderSync:
    """An unsaved copy of the order's status sync (the key is the ERP order id, as ``order_sync_request``
    files it), or a new unsaved one: with no primary key, the read records nothing, not even on the order
    link (``sync.outbound``), so a report never changes what a later run or backfill finds."""
    sync = order_sync_unsaved_copy(kind=OrderSync.Kind.STATUS, channel=order_link.channel, key=order_link.erp_order_id)
    sync.erp_order_id = sync.erp_order_id or order_link.erp_order_id
    sync.erp_order_number = sync.erp_order_number or order_link.erp_order_number
    sync.vtex_order_id = sync.vtex_order_id or order_link.vtex_order_id
    return sync


def _no_repair(channel: SalesChannel, *, enabled: frozenset[str]) -> str:
    """Why a repair would change nothing for the channel: the guard ``sync.outbound.order_status_work``
    runs first (an inactive channel, order status upload off), as the reason a person reads."""
    if not channel.active:
        return f"Sales channel {channel.code} is inactive: a repair would change nothing."
    if SyncType.ORDER_STATUS_UPLOAD not in enabled:
        return f"Order status upload is switched off for {channel.code}: a repair would change nothing."
    return ""
