"""The RQ worker class of the portal's workers (``settings.RQ["WORKER_CLASS"]``, read by django-rq's
``rqworker`` and ``rqworker-pool``).

RQ's own worker with one setting of ours: how often an idle or busy worker runs RQ's maintenance, which
is also when a worker whose scheduler is not running tries to take the scheduler lock and start one
(rq/worker/base.py ``run_maintenance_tasks``). RQ's default is ten minutes: a worker started while a
SIGKILLed worker's scheduler lock was still in Redis (RQ gives it a minute), or whose scheduler process
died with a Redis outage, left scheduled work (back-offs, "not yet" waits) to nobody for that long. The
periodic sweep rescues such work in the meantime (``sync.queue.scheduled_jobs_rescue``).
"""

from __future__ import annotations

from django.conf import settings
from rq.worker import Worker


class PortalWorker(Worker):
    def __init__(self, *args, maintenance_interval: int | None = None, **kwargs) -> None:
        super().__init__(
            *args, maintenance_interval=maintenance_interval or settings.RQ_MAINTENANCE_INTERVAL_SECONDS, **kwargs
        )
