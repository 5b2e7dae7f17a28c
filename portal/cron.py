"""RQ cron for the portal's periodic work (design §5: one `periodic` process).

RQ's CronJob enqueues through a Queue with the default (pickle) serializer, while the portal's
workers read JSON only; ``PortalCronScheduler`` enqueues through django-rq's configured queues.
"""

from __future__ import annotations

import django_rq
from django_rq.cron import DjangoCronScheduler
from rq.utils import now


class PortalCronScheduler(DjangoCronScheduler):
    def enqueue_jobs(self):
        enqueue_time = now()
        enqueued = []
        for cron_job in self._cron_jobs:
            if cron_job.should_run():
                queue = django_rq.get_queue(cron_job.queue_name)
                queue.enqueue(cron_job.func, args=cron_job.args, kwargs=cron_job.kwargs, **cron_job.job_options)
                cron_job.set_enqueue_time(enqueue_time)
                enqueued.append(cron_job)
        return enqueued
