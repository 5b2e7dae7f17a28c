"""django-rq's rqworker, with the portal's serializer as the default and the job modules preloaded,
refusing to start on a Redis that may evict keys.

Jobs are enqueued with ``settings.RQ_SERIALIZER`` (JSON); a worker started without
``--serializer`` would otherwise try to unpickle them. The job modules (``sync.jobs``,
``sync.bulk.jobs``, ``sync.catalog.jobs``), and through them every service a job calls, are imported
before the worker starts, so that the process RQ forks for each job inherits
it: imported inside that process, it would be imported again by the next job (docs/architecture.md).
"""

import gc

from django.conf import settings
from django.core.management.base import CommandError
from django_rq.management.commands.rqworker import Command as RqWorkerCommand
from redis.exceptions import RedisError

# Preloaded for the forked job processes (see above).
import sync.bulk.jobs
import sync.catalog.jobs
import sync.jobs  # noqa: F401
from portal.health import RedisEvicts, redis_noeviction_require


def worker_start_check() -> None:
    """Refuse to start on an evicting Redis: the work it took would vanish without a trace. An unreachable
    Redis is left to RQ, which says so itself (and the supervisor starts the worker again)."""
    try:
        redis_noeviction_require()
    except RedisEvicts as exc:
        raise CommandError(f"The worker does not start: {exc}") from None
    except RedisError:
        pass


def heap_freeze() -> None:
    """Move what the worker has loaded so far (Django, the apps, ``sync.jobs`` and the services) out of the
    garbage collector's reach, before RQ starts forking a process per job.

    A forked job whose allocations set off a full collection walks every object it inherited, writing
    to each, and so copies most of the parent's heap page by page: measured with ``make bench`` (the
    throughput benchmark, 100 orders), worker CPU per synced order went from ≈ 160 to ≈ 92 ms with the
    heap frozen (docs/benchmarks.md). Whether a job set off that collection depended on where the
    parent's counters happened to stand, so an unrelated import could double a job's cost. What the
    worker allocates later is collected as usual; the frozen objects live as long as the worker anyway.
    """
    gc.collect()
    gc.freeze()


class Command(RqWorkerCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(serializer=settings.RQ_SERIALIZER)

    def handle(self, *args, **options):
        worker_start_check()
        heap_freeze()
        return super().handle(*args, **options)
