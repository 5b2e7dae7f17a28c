"""RQ jobs: ids in, one service call. ``sync/queue.py`` enqueues them by dotted path, so these imports
of the services form no circle; a worker that imports this module before it forks has every service
loaded for the jobs it runs (portal/management/commands/rqworker.py)."""

from __future__ import annotations

from sync.inbound import order_import
from sync.inbox import inbox_event_process, inbox_events_drain, inbox_sweep
from sync.outbound import order_status_sync
from sync.queue import event_marker, order_sync_marker, queued_marker_clear


def inbox_event_process_job(event_id: int) -> None:
    """One event's delayed retry (the ERP was unavailable when it was first processed)."""
    queued_marker_clear(event_marker(event_id))
    inbox_event_process(event_id=event_id)


def inbox_drain_job() -> None:
    inbox_events_drain()


def order_status_sync_job(order_sync_id: int) -> None:
    queued_marker_clear(order_sync_marker(order_sync_id))
    order_status_sync(order_sync_id=order_sync_id)


def order_import_job(order_sync_id: int) -> None:
    queued_marker_clear(order_sync_marker(order_sync_id))
    order_import(order_sync_id=order_sync_id)


def inbox_sweep_job() -> None:
    inbox_sweep()
