"""RQ jobs: ids in, one service call. ``sync/queue.py`` enqueues them by dotted path, so these imports
of the services form no circle; a worker that imports this module before it forks has every service
loaded for the jobs it runs (portal/management/commands/rqworker.py)."""

from __future__ import annotations

from sync.inbound import order_import
from sync.inbox import inbox_event_process, inbox_events_drain, inbox_sweep
from sync.outbound import order_status_sync


def inbox_event_process_job(event_id: int) -> None:
    """One event's delayed retry (the ERP was unavailable when it was first processed)."""
    inbox_event_process(event_id=event_id)


def inbox_drain_job() -> None:
    inbox_events_drain()


def order_status_sync_job(order_sync_id: int) -> None:
    order_status_sync(order_sync_id=order_sync_id)


def order_import_job(order_sync_id: int) -> None:
    order_import(order_sync_id=order_sync_id)


def inbox_sweep_job() -> None:
    inbox_sweep()
