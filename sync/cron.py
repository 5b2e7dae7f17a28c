"""Periodic jobs, loaded by `manage.py run_periodic` (RQ cron's config-module format)."""

from django.conf import settings
from rq.cron import register

from sync.jobs import QUEUE, inbox_sweep_job

# Re-enqueue inbox events and order work that were left behind (Redis restarted, a worker killed).
register(inbox_sweep_job, queue_name=QUEUE, interval=settings.SYNC_SWEEP_INTERVAL_SECONDS)
