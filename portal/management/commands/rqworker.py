"""django-rq's rqworker, with the portal's serializer as the default and the job modules preloaded,
refusing to start on a Redis that may evict keys.

Jobs are enqueued with ``settings.RQ_SERIALIZER`` (JSON); a worker started without
``--serializer`` would otherwise try to unpickle them. ``sync.jobs``, and through it every service a
job calls, is imported before the worker starts, so that the process RQ forks for each job inherits
it: imported inside that process, it would be imported again by the next job (docs/architecture.md).
"""

from django.conf import settings
from django.core.management.base import CommandError
from django_rq.management.commands.rqworker import Command as RqWorkerCommand
from redis.exceptions import RedisError

import sync.jobs  # noqa: F401 - preloaded for the forked job processes (see above)
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


class Command(RqWorkerCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(serializer=settings.RQ_SERIALIZER)

    def handle(self, *args, **options):
        worker_start_check()
        return super().handle(*args, **options)
