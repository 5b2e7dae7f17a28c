"""django-rq's rqworker-pool, with the portal's serializer as the default, the job modules preloaded
and no start on an evicting Redis (see rqworker)."""

import importlib

from django.conf import settings

from portal.management.commands.rqworker import heap_freeze, worker_start_check  # and, through it, sync.jobs

_base = importlib.import_module("django_rq.management.commands.rqworker-pool")


class Command(_base.Command):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(serializer=settings.RQ_SERIALIZER)

    def handle(self, *args, **options):
        worker_start_check()
        heap_freeze()
        return super().handle(*args, **options)
