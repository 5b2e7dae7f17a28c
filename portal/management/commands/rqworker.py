"""django-rq's rqworker, with the portal's serializer as the default and the job modules preloaded.

Jobs are enqueued with ``settings.RQ_SERIALIZER`` (JSON); a worker started without
``--serializer`` would otherwise try to unpickle them. ``settings.RQ_PRELOAD_MODULES`` are imported
before the worker starts, so that the process RQ forks for each job inherits them.
"""

from importlib import import_module

from django.conf import settings
from django_rq.management.commands.rqworker import Command as RqWorkerCommand


def job_modules_preload() -> None:
    for name in settings.RQ_PRELOAD_MODULES:
        import_module(name)


class Command(RqWorkerCommand):
    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(serializer=settings.RQ_SERIALIZER)

    def handle(self, *args, **options):
        job_modules_preload()
        return super().handle(*args, **options)
