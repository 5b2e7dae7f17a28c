"""Writing the order timeline: events, attempts, remote calls, pushes, problems, operator actions."""

from __future__ import annotations

from sync.clients.dtos import RemoteCall
from sync.models import OrderSync, TimelineEntry


def timeline_add(*, order_sync: OrderSync, kind: str, title: str, detail: str = "") -> TimelineEntry:
    entry = TimelineEntry(
        order_sync=order_sync,
        channel_id=order_sync.channel_id,
        vtex_order_id=order_sync.vtex_order_id,
        erp_order_id=order_sync.erp_order_id,
        kind=kind,
        title=title[:300],
        detail=detail,
    )
    if order_sync.pk is None:
        # A dry run's unsaved copy of the order (sync.dry_run) stores nothing: its entries stay on the copy.
        timeline_kept(order_sync).append(entry)
        return entry
    entry.save()
    return entry


def timeline_kept(order_sync: OrderSync) -> list[TimelineEntry]:
    """The entries ``timeline_add`` kept on an unsaved order sync instead of storing them, oldest first."""
    return order_sync.__dict__.setdefault("_timeline_kept", [])


class TimelineRecorder:
    """Given to the clients: every remote call of a run lands on the order's timeline."""

    def __init__(self, order_sync: OrderSync) -> None:
        self.order_sync = order_sync

    def __call__(self, call: RemoteCall) -> None:
        sync = self.order_sync
        TimelineEntry.objects.create(
            order_sync=sync,
            channel_id=sync.channel_id,
            vtex_order_id=sync.vtex_order_id,
            erp_order_id=sync.erp_order_id,
            kind=TimelineEntry.Kind.CALL,
            title=f"{call.remote.upper()} {call.method} {call.path[:200]} → {call.status or 'no answer'}",
            detail=call.error,
            remote=call.remote,
            method=call.method,
            path=call.path[:500],
            status_code=call.status,
            duration_ms=call.duration_ms,
            request_excerpt=call.request_excerpt,
            response_excerpt=call.response_excerpt,
        )
