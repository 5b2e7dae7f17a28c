"""Periodic jobs, loaded by `manage.py run_periodic` (RQ cron's config-module format)."""

from django.conf import settings
from rq.cron import register

from sync.bulk.jobs import bulk_reconciliations_schedule_job, bulk_runs_sweep_job
from sync.catalog.jobs import catalog_sweep_job
from sync.jobs import inbox_sweep_job
from sync.monitoring import feed_stale_alert_job, hook_configs_check_job
from sync.queue import QUEUE

# Re-enqueue inbox events and order work that were left behind (Redis restarted, a worker killed).
register(inbox_sweep_job, queue_name=QUEUE, interval=settings.SYNC_SWEEP_INTERVAL_SECONDS)
# A stalled feed poller raises nothing: log an ERROR per stale channel for log-based alerting.
register(feed_stale_alert_job, queue_name=QUEUE, interval=settings.FEED_STALE_CHECK_INTERVAL_SECONDS)
# VTEX deletes a hook after 3 idle days and nobody else watches it: recreate it (WARNING when it does).
register(hook_configs_check_job, queue_name=QUEUE, interval=settings.VTEX_HOOK_CHECK_INTERVAL_SECONDS)
# Bulk runs whose steps stopped (a worker killed, Redis restarted) go on from their checkpoint.
register(bulk_runs_sweep_job, queue_name=QUEUE, interval=settings.SYNC_SWEEP_INTERVAL_SECONDS)
# Stock and price work left running by a lost worker, or queued with no job waiting, is queued again.
register(catalog_sweep_job, queue_name=QUEUE, interval=settings.SYNC_SWEEP_INTERVAL_SECONDS)
# The scheduled reconciliation report of every channel (BULK_RECONCILE_DAYS = 0 switches it off).
if settings.BULK_RECONCILE_INTERVAL_SECONDS > 0:
    register(bulk_reconciliations_schedule_job, queue_name=QUEUE, interval=settings.BULK_RECONCILE_INTERVAL_SECONDS)
